#include "DatasetPage.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTimer>

#include <algorithm>

#include "ProjectDocument.hpp"

namespace mantissa::ui {

namespace {

bool sameSpec(const DatasetSpec& a, const DatasetSpec& b) {
  return a.kind == b.kind && a.images == b.images && a.labels == b.labels && a.path == b.path &&
         a.label_column == b.label_column && a.normalize == b.normalize &&
         a.samples == b.samples && a.classes == b.classes && a.noise == b.noise &&
         a.seed == b.seed && a.validation_fraction == b.validation_fraction &&
         a.validation_path == b.validation_path && a.context == b.context &&
         a.channels == b.channels && a.height == b.height && a.width == b.width &&
         a.crop_padding == b.crop_padding && a.flip == b.flip;
}

bool isImageKind(const QString& k) {
  return k == u"mnist" || k == u"fashion-mnist" || k == u"idx" || k == u"images";
}

}  // namespace

DatasetPage::DatasetPage(ProjectDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), service_(new DatasetService(this)) {
  connect(service_, &DatasetService::datasetLoaded, this,
          [this](quint64 request, const DatasetSplitPtr& split) {
            if (request == loadRequest_) showLoaded(split);
          });
  connect(service_, &DatasetService::datasetLoadFailed, this,
          [this](quint64 request, const QString& message) {
            if (request == loadRequest_) showLoadFailure(message);
          });
  connect(service_, &DatasetService::labelColumnsRead, this,
          [this](quint64, const QString& file, const QStringList& columns) {
            showLabelColumns(file, columns);
          });
  connect(service_, &DatasetService::datasetPeeked, this,
          [this](quint64, const DatasetShape& shape) {
            peek_ = Peek{peeking_, shape, {}};
            updateFit();
          });
  connect(service_, &DatasetService::datasetPeekFailed, this,
          [this](quint64, const QString& message) {
            peek_ = Peek{peeking_, std::nullopt, message};
            updateFit();
          });
  refreshTimer_ = new QTimer(this);
  refreshTimer_->setSingleShot(true);
  refreshTimer_->setInterval(150);
  connect(refreshTimer_, &QTimer::timeout, this, &DatasetPage::refresh);
  buildUi();
  syncFromDocument();
  scheduleRefresh();
  if (document_) {
    connect(document_, &ProjectDocument::projectReplaced, this, &DatasetPage::syncFromDocument);
    connect(document_, &ProjectDocument::datasetChanged, this, &DatasetPage::syncFromDocument);
    connect(document_, &ProjectDocument::modelChanged, this, &DatasetPage::updateFit);
  }
}

DatasetPage::~DatasetPage() = default;

void DatasetPage::updateKind() {
  const QString k = kind_->currentData().toString();
  params_->setCurrentIndex(k == u"mnist"           ? 0
                           : k == u"fashion-mnist" ? 4
                           : k == u"idx"           ? 2
                           : k == u"csv"           ? 3
                           : k == u"fortunes"      ? 5
                           : k == u"text"          ? 6
                           : k == u"images"        ? 7
                                                   : 1);
  // The stack takes the height of the page shown, not of its tallest page.
  for (int i = 0; i < params_->count(); ++i)
    params_->widget(i)->setSizePolicy(QSizePolicy::Preferred, i == params_->currentIndex()
                                                                  ? QSizePolicy::Maximum
                                                                  : QSizePolicy::Ignored);
  params_->adjustSize();
  // The built-in sets have a fixed split (MNIST: the first 8,000 train;
  // Fashion-MNIST: the original training and test sets).
  // A separate validation file replaces the fraction.
  const bool validationFile =
      (k == u"csv" && !csv_validation_path_->text().trimmed().isEmpty()) ||
      (k == u"text" && !text_validation_path_->text().trimmed().isEmpty()) ||
      (k == u"images" && !image_validation_folder_->text().trimmed().isEmpty());
  const bool text = k == u"text" || k == u"fortunes";
  validation_->setEnabled(k != u"mnist" && k != u"fashion-mnist" && !validationFile);
  validation_->setToolTip(
      k == u"mnist"           ? tr("MNIST's split is fixed: 8,000 train, 2,000 validation")
      : k == u"fashion-mnist" ? tr("Fashion-MNIST's split is fixed: 60,000 train, 10,000 validation")
      : validationFile        ? tr("The validation file or folder validates")
      : text                  ? tr("Share of the text, from its end, kept for validation")
                              : tr("Share of the samples kept for validation"));
  common_->setRowVisible(context_, text);
  common_->setRowVisible(normalize_, !text);
  common_->setRowVisible(cropPadding_, isImageKind(k));
  common_->setRowVisible(flip_, isImageKind(k));
}

void DatasetPage::matchModelInput() {
  if (!document_) return;
  for (const LayerInfo& info : document_->diagnosis().layers) {
    if (info.kind != LayerKind::Input) continue;
    const auto& d = info.output_shape.dims();
    if (d.size() != 3) return;
    if (d[0] == 1 || d[0] == 3) channels_->setCurrentIndex(channels_->findData(int(d[0])));
    height_->setValue(int(d[1]));
    width_->setValue(int(d[2]));
    return;
  }
}

void DatasetPage::syncFromDocument() {
  if (!document_) return;
  setSpec(document_->project().dataset);
  // A preview of another dataset than the one shown would mislead.
  if (loadedSpec_ && !sameSpec(*loadedSpec_, spec())) clearPreview();
  if (loading_ && !sameSpec(loadingSpec_, spec())) {
    loadRequest_ = 0;  // the answer of the load under way is dropped
    loading_ = false;
    loadButton_->setEnabled(true);
    summary_->clear();
  }
  updateFit();
  scheduleRefresh();
}

void DatasetPage::showProjectDataset() {
  csvColumnsFile_.clear();  // the file may have changed since: read it again
  syncFromDocument();
}

void DatasetPage::setSpec(const DatasetSpec& s) {
  const int i = kind_->findData(QString::fromStdString(s.kind));
  kind_->setCurrentIndex(i < 0 ? 0 : i);
  samples_->setValue(int(s.samples));
  classes_->setValue(s.classes);
  noise_->setValue(s.noise);
  seed_->setValue(int(s.seed));
  images_path_->setText(QString::fromStdString(s.images.string()));
  labels_path_->setText(QString::fromStdString(s.labels.string()));
  csv_path_->setText(QString::fromStdString(s.kind == "csv" ? s.path.string() : ""));
  csv_validation_path_->setText(
      QString::fromStdString(s.kind == "csv" ? s.validation_path.string() : ""));
  text_path_->setText(QString::fromStdString(s.kind == "text" ? s.path.string() : ""));
  text_validation_path_->setText(
      QString::fromStdString(s.kind == "text" ? s.validation_path.string() : ""));
  image_folder_->setText(QString::fromStdString(s.kind == "images" ? s.path.string() : ""));
  image_validation_folder_->setText(
      QString::fromStdString(s.kind == "images" ? s.validation_path.string() : ""));
  channels_->setCurrentIndex(std::max(0, channels_->findData(int(s.channels))));
  height_->setValue(int(s.height));
  width_->setValue(int(s.width));
  cropPadding_->setValue(int(s.crop_padding));
  flip_->setChecked(s.flip);
  context_->setValue(int(s.context));
  labelColumn_->setCurrentText(QString::fromStdString(s.label_column));
  normalize_->setChecked(s.normalize);
  validation_->setValue(s.validation_fraction);
  updateKind();
}

DatasetSpec DatasetPage::spec() const {
  DatasetSpec s = document_ ? document_->project().dataset : DatasetSpec{};
  s.kind = kind_->currentData().toString().toStdString();
  s.samples = samples_->value();
  s.classes = classes_->value();
  s.noise = noise_->value();
  s.seed = std::uint64_t(seed_->value());
  s.images = images_path_->text().toStdString();
  s.labels = labels_path_->text().toStdString();
  const bool text = s.kind == "text", folders = s.kind == "images";
  s.path = (text ? text_path_ : folders ? image_folder_ : csv_path_)->text().toStdString();
  s.validation_path = s.kind == "csv" || text || folders
                          ? (text      ? text_validation_path_
                             : folders ? image_validation_folder_
                                       : csv_validation_path_)
                                ->text()
                                .trimmed()
                                .toStdString()
                          : std::string();
  s.channels = channels_->currentData().toInt();
  s.height = height_->value();
  s.width = width_->value();
  const bool images = isImageKind(QString::fromStdString(s.kind));
  s.crop_padding = images ? cropPadding_->value() : 0;
  s.flip = images && flip_->isChecked();
  s.context = context_->value();
  s.label_column = labelColumn_->currentText().trimmed().toStdString();
  s.normalize = normalize_->isChecked();
  s.validation_fraction = validation_->value();
  return s;
}

void DatasetPage::pickFile(QLineEdit* edit, const QString& filter) {
  const QString file =
      QFileDialog::getOpenFileName(this, tr("Choose a file"), edit->text(), filter);
  if (file.isEmpty()) return;
  edit->setText(file);
  if (edit == csv_path_) fillLabelColumns(file);  // even when the same file is chosen again
}

std::uint64_t DatasetPage::trainingSeed() const {
  return document_ ? document_->project().training.seed : TrainingSpec{}.seed;
}

void DatasetPage::pickFolder(QLineEdit* edit) {
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Choose a folder"),
                                                           resolvedPath(edit->text()));
  if (!folder.isEmpty()) edit->setText(folder);
}

std::filesystem::path DatasetPage::baseDir() const {
  return document_ ? document_->datasetBaseDir() : std::filesystem::path{};
}

QString DatasetPage::resolvedPath(const QString& file) const {
  const QString base = QString::fromStdString(baseDir().string());
  if (file.isEmpty() || !QFileInfo(file).isRelative() || base.isEmpty()) return file;
  return QDir(base).filePath(file);
}

void DatasetPage::fillLabelColumns(const QString& csvFile) {
  service_->readLabelColumns(resolvedPath(csvFile));
}

void DatasetPage::showLabelColumns(const QString& csvFile, const QStringList& columns) {
  csvColumnsFile_ = csvFile;
  csvColumns_ = columns;
  const QString keep = labelColumn_->currentText();
  {
    const QSignalBlocker quiet(labelColumn_);  // the label column stays what it was
    labelColumn_->clear();
    labelColumn_->addItem(QString());  // the last column
    labelColumn_->addItems(columns);
    labelColumn_->setCurrentText(keep);
  }
  if (split_ && preview_->currentWidget() == table_) labelTableColumns();
  emit labelColumnsFilled();
}

void DatasetPage::scheduleRefresh() {
  updateFit();  // what was said of the fields before no longer holds
  refreshTimer_->start();
}

void DatasetPage::refresh() {
  const DatasetSpec s = spec();
  if (s.kind == "csv" && !s.path.empty()) {
    const QString file = resolvedPath(QString::fromStdString(s.path.string()));
    if (file != csvColumnsFile_) fillLabelColumns(QString::fromStdString(s.path.string()));
  }
  peeking_ = s;
  service_->peek(s, baseDir());
}

void DatasetPage::load() {
  loadingSpec_ = spec();
  loading_ = true;
  loadButton_->setEnabled(false);
  summary_->setText(tr("Loading…"));
  error_->hide();
  loadRequest_ = service_->load(loadingSpec_, baseDir());
}

void DatasetPage::showLoadFailure(const QString& message) {
  loading_ = false;
  loadButton_->setEnabled(true);
  clearPreview();
  error_->setText(message);
  error_->show();
  updateFit();
  emit loadFailed(message);
}

void DatasetPage::showLoaded(const DatasetSplitPtr& split) {
  loading_ = false;
  loadButton_->setEnabled(true);
  split_ = split;
  loadedSpec_ = loadingSpec_;
  error_->hide();
  showSplit();
  updateFit();
  emit loaded();
}

QString DatasetPage::errorText() const {
  return error_->isHidden() ? QString() : error_->text();
}

QString DatasetPage::summaryText() const {
  return summary_->text();
}

std::optional<DatasetShape> DatasetPage::knownShape(const DatasetSpec& s) const {
  // Only the fields that decide the shape matter: a changed seed or split
  // leaves a loaded dataset's shape as it was.
  const auto sameSource = [](const DatasetSpec& a, const DatasetSpec& b) {
    if (a.kind != b.kind) return false;
    if (a.kind == "csv") return a.path == b.path && a.label_column == b.label_column;
    if (a.kind == "text" || a.kind == "fortunes") return a.path == b.path && a.context == b.context;
    if (a.kind == "idx") return a.images == b.images && a.labels == b.labels;
    if (a.kind == "images")
      return a.path == b.path && a.channels == b.channels && a.height == b.height &&
             a.width == b.width;
    if (a.kind == "mnist" || a.kind == "fashion-mnist") return true;
    return a.classes == b.classes;
  };
  if (split_ && loadedSpec_ && sameSource(*loadedSpec_, s)) {
    return dataset_shape(*split_);
  }
  if (peek_ && peek_->shape && sameSource(peek_->spec, s)) {
    // A document that loaded this dataset knows its classes too.
    if (document_ && document_->datasetShape() &&
        sameSource(document_->project().dataset, s) &&
        document_->datasetShape()->sample_shape == peek_->shape->sample_shape)
      return document_->datasetShape();
    return peek_->shape;
  }
  if (document_ && document_->datasetShape() && sameSource(document_->project().dataset, s))
    return document_->datasetShape();
  return std::nullopt;
}

void DatasetPage::updateFit() {
  const auto say = [this](const QString& text, bool problem) {
    fit_->setText(text);
    fit_->setStyleSheet(problem ? QStringLiteral("color: #c62828;") : QString());
    fitProblem_ = problem;
    emit fitUpdated();
  };
  if (!document_) return say({}, false);
  const DatasetSpec s = spec();
  const std::optional<DatasetShape> shape = knownShape(s);
  if (!shape) {
    // The headers could not be read: the reason, as Load would give it.
    if (peek_ && !peek_->shape && sameSpec(peek_->spec, s)) return say(peek_->error, true);
    return say({}, false);
  }
  const Project& project = document_->project();
  const std::vector<ModelProblem> problems =
      dataset_fit_problems(*shape, project.model, document_->diagnosis());
  QStringList lines;
  for (const ModelProblem& p : problems) lines << QString::fromStdString(p.message);
  if (!lines.isEmpty()) return say(lines.join(QLatin1Char('\n')), true);
  const LayerInfo* input = nullptr;
  for (const LayerInfo& info : document_->diagnosis().layers)
    if (info.kind == LayerKind::Input) input = &info;
  if (!input) return say({}, false);
  return say(tr("Fits the model's Input (%1 values per sample)")
                  .arg(input->output_shape.numel()),
              false);
}

QString DatasetPage::fitText() const {
  return fit_->text();
}

void DatasetPage::apply() {
  if (!document_) return;
  const DatasetSpec s = spec();
  document_->editDataset(s, knownShape(s));
}

}  // namespace mantissa::ui
