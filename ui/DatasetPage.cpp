#include "DatasetPage.hpp"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTimer>
#include <QFont>
#include <QHeaderView>
#include <QVBoxLayout>
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

// The index of the label column among a CSV file's columns, as load_csv
// chooses it; -1 when it names no column.
int labelIndex(const QStringList& columns, const QString& labelColumn) {
  const QString wanted = labelColumn.trimmed();
  if (wanted.isEmpty()) return int(columns.size()) - 1;
  bool number = false;
  const int i = wanted.toInt(&number);
  if (number) return i >= 0 && i < columns.size() ? i : -1;
  return int(columns.indexOf(wanted));
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

void DatasetPage::buildUi() {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QFormLayout;
  kind_ = new QComboBox(this);
  // Built-in sets, synthetic ones, then files (CSV last).
  kind_->addItem(tr("Built-in MNIST"), QStringLiteral("mnist"));
  kind_->addItem(tr("Built-in Fashion-MNIST"), QStringLiteral("fashion-mnist"));
  kind_->addItem(tr("Built-in text (fortunes)"), QStringLiteral("fortunes"));
  kind_->addItem(tr("Spirals"), QStringLiteral("spirals"));
  kind_->addItem(tr("Moons"), QStringLiteral("moons"));
  kind_->addItem(tr("Blobs"), QStringLiteral("blobs"));
  kind_->addItem(tr("IDX files"), QStringLiteral("idx"));
  kind_->addItem(tr("Image folders"), QStringLiteral("images"));
  kind_->addItem(tr("Text file"), QStringLiteral("text"));
  kind_->addItem(tr("CSV file"), QStringLiteral("csv"));
  top->addRow(tr("Dataset"), kind_);
  layout->addLayout(top);

  params_ = new QStackedWidget(this);
  params_->addWidget(new QLabel(tr("The 10,000 digits of the built-in MNIST set."), params_));

  auto* synth = new QWidget(params_);
  auto* sf = new QFormLayout(synth);
  samples_ = new QSpinBox(synth);
  samples_->setRange(10, 10000000);
  classes_ = new QSpinBox(synth);
  classes_->setRange(2, 100);
  noise_ = new QDoubleSpinBox(synth);
  noise_->setRange(0.0, 10.0);
  noise_->setDecimals(3);
  noise_->setSingleStep(0.05);
  seed_ = new QSpinBox(synth);
  seed_->setRange(0, 2147483647);
  sf->addRow(tr("Samples"), samples_);
  sf->addRow(tr("Classes"), classes_);
  sf->addRow(tr("Noise"), noise_);
  sf->addRow(tr("Seed"), seed_);
  params_->addWidget(synth);

  // A path with its Browse… button; an empty filter picks a folder.
  auto fileRow = [this](QWidget* parent, QLineEdit*& edit, const QString& filter) {
    auto* row = new QWidget(parent);
    auto* h = new QHBoxLayout(row);
    h->setContentsMargins(0, 0, 0, 0);
    edit = new QLineEdit(row);
    auto* browse = new QPushButton(tr("Browse…"), row);
    h->addWidget(edit, 1);
    h->addWidget(browse);
    QLineEdit* target = edit;
    connect(browse, &QPushButton::clicked, this,
            [this, target, filter] {
              if (filter.isEmpty())
                pickFolder(target);
              else
                pickFile(target, filter);
            });
    return row;
  };
  auto* idx = new QWidget(params_);
  auto* idf = new QFormLayout(idx);
  idf->addRow(tr("Images"),
              fileRow(idx, images_path_, tr("IDX files (*-ubyte *.idx*);;All files (*)")));
  idf->addRow(tr("Labels"),
              fileRow(idx, labels_path_, tr("IDX files (*-ubyte *.idx*);;All files (*)")));
  params_->addWidget(idx);

  auto* csv = new QWidget(params_);
  auto* cf = new QFormLayout(csv);
  cf->addRow(tr("File"), fileRow(csv, csv_path_, tr("CSV files (*.csv);;All files (*)")));
  labelColumn_ = new QComboBox(csv);
  labelColumn_->setEditable(true);
  labelColumn_->setInsertPolicy(QComboBox::NoInsert);
  labelColumn_->setToolTip(tr("The column holding the labels; empty: the last column"));
  cf->addRow(tr("Label column"), labelColumn_);
  cf->addRow(tr("Validation file"),
             fileRow(csv, csv_validation_path_, tr("CSV files (*.csv);;All files (*)")));
  csv_validation_path_->setPlaceholderText(tr("optional, e.g. test.csv"));
  params_->addWidget(csv);
  // After the others, so the indices updateKind() picks stay as they were.
  params_->addWidget(new QLabel(
      tr("The 70,000 clothes of the built-in Fashion-MNIST set, in 10 classes."), params_));
  auto* fortunes = new QLabel(
      tr("About 2.5 MB of quotations, jokes and verse from Debian's fortunes, read as bytes "
         "for next-token prediction; the last part validates."),
      params_);
  fortunes->setWordWrap(true);
  params_->addWidget(fortunes);
  auto* text = new QWidget(params_);
  auto* tf = new QFormLayout(text);
  tf->addRow(tr("File"), fileRow(text, text_path_, tr("Text files (*.txt);;All files (*)")));
  tf->addRow(tr("Validation file"),
             fileRow(text, text_validation_path_, tr("Text files (*.txt);;All files (*)")));
  text_validation_path_->setPlaceholderText(tr("optional: else the text's last part validates"));
  params_->addWidget(text);
  auto* folders = new QWidget(params_);
  auto* ff = new QFormLayout(folders);
  ff->addRow(tr("Folder"), fileRow(folders, image_folder_, QString()));
  image_folder_->setPlaceholderText(tr("one subfolder of PNG / JPEG images per class"));
  ff->addRow(tr("Validation folder"), fileRow(folders, image_validation_folder_, QString()));
  image_validation_folder_->setPlaceholderText(tr("optional: the same class folders"));
  auto* size = new QWidget(folders);
  auto* sh = new QHBoxLayout(size);
  sh->setContentsMargins(0, 0, 0, 0);
  channels_ = new QComboBox(size);
  channels_->addItem(tr("RGB"), 3);
  channels_->addItem(tr("Grey"), 1);
  height_ = new QSpinBox(size);
  width_ = new QSpinBox(size);
  for (QSpinBox* box : {height_, width_}) box->setRange(1, 4096);
  sh->addWidget(channels_);
  sh->addWidget(height_);
  sh->addWidget(new QLabel(QStringLiteral("×"), size));
  sh->addWidget(width_);
  auto* matchModel = new QPushButton(tr("Match the model's Input"), size);
  matchModel->setObjectName(QStringLiteral("matchModelInput"));
  matchModel->setAutoDefault(false);
  sh->addWidget(matchModel);
  sh->addStretch(1);
  size->setToolTip(tr("Every picture is decoded to these channels and resized to height × width"));
  ff->addRow(tr("Pictures as"), size);
  connect(matchModel, &QPushButton::clicked, this, &DatasetPage::matchModelInput);
  params_->addWidget(folders);
  layout->addWidget(params_);

  auto* common = new QFormLayout;
  normalize_ = new QCheckBox(tr("Normalise features"), this);
  validation_ = new QDoubleSpinBox(this);
  validation_->setRange(0.0, 0.9);
  validation_->setSingleStep(0.05);
  context_ = new QSpinBox(this);
  context_->setRange(1, 1 << 20);
  context_->setToolTip(tr("Bytes per window: the model's Input shape [positions]"));
  cropPadding_ = new QSpinBox(this);
  cropPadding_->setRange(0, 64);
  cropPadding_->setSpecialValueText(tr("no crop"));
  cropPadding_->setSuffix(tr(" px"));
  cropPadding_->setToolTip(
      tr("Training pictures are cropped at random from the picture padded with this many "
         "zeros on each side"));
  flip_ = new QCheckBox(tr("Flip left to right at random"), this);
  common->addRow(QString(), normalize_);
  common->addRow(tr("Random crop padding"), cropPadding_);
  common->addRow(QString(), flip_);
  common->addRow(tr("Context (bytes)"), context_);
  common->addRow(tr("Validation fraction"), validation_);
  common_ = common;
  layout->addLayout(common);

  auto* row = new QHBoxLayout;
  loadButton_ = new QPushButton(tr("Load"), this);
  loadButton_->setObjectName(QStringLiteral("datasetLoad"));
  loadButton_->setAutoDefault(false);  // Enter means OK
  row->addWidget(loadButton_);
  fit_ = new QLabel(this);
  fit_->setWordWrap(true);
  fit_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  row->addWidget(fit_, 1);
  buttons_ = new QDialogButtonBox(
      QDialogButtonBox::Ok | QDialogButtonBox::Apply | QDialogButtonBox::Cancel, this);
  // OK becomes the default (Enter) button once the box is shown in a dialog;
  // making it so here, outside one, would keep the dialog from knowing it.
  buttons_->button(QDialogButtonBox::Apply)->setToolTip(tr("Make this the project's dataset"));
  row->addWidget(buttons_);
  connect(loadButton_, &QPushButton::clicked, this, &DatasetPage::load);
  connect(buttons_->button(QDialogButtonBox::Apply), &QPushButton::clicked, this,
          &DatasetPage::apply);
  connect(buttons_, &QDialogButtonBox::accepted, this, [this] {
    apply();
    emit accepted();
  });
  connect(buttons_, &QDialogButtonBox::rejected, this, &DatasetPage::rejected);

  error_ = new QLabel(this);
  error_->setWordWrap(true);
  error_->setStyleSheet(QStringLiteral("color: #c62828;"));
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  layout->addWidget(error_);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  layout->addWidget(summary_);

  balance_ = new QCustomPlot(this);
  balance_->setMinimumHeight(120);
  balance_->yAxis->setLabel(tr("samples"));
  balance_->xAxis->setLabel(tr("class"));
  layout->addWidget(balance_, 1);

  preview_ = new QStackedWidget(this);
  images_ = new QListWidget(preview_);
  images_->setViewMode(QListView::IconMode);
  images_->setIconSize(QSize(56, 56));
  images_->setResizeMode(QListView::Adjust);
  images_->setMovement(QListView::Static);
  table_ = new QTableWidget(preview_);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  preview_->addWidget(images_);
  preview_->addWidget(table_);
  layout->addWidget(preview_, 2);
  layout->addLayout(row);

  connect(kind_, &QComboBox::currentIndexChanged, this, &DatasetPage::updateKind);
  // Any change of what would be loaded: read the headers again.
  connect(kind_, &QComboBox::currentIndexChanged, this, &DatasetPage::scheduleRefresh);
  for (QLineEdit* edit : {images_path_, labels_path_, csv_path_, csv_validation_path_, text_path_,
                          text_validation_path_, image_folder_, image_validation_folder_}) {
    connect(edit, &QLineEdit::textChanged, this, &DatasetPage::scheduleRefresh);
  }
  for (QLineEdit* edit : {csv_validation_path_, text_validation_path_, image_validation_folder_})
    connect(edit, &QLineEdit::textChanged, this, &DatasetPage::updateKind);
  connect(context_, &QSpinBox::valueChanged, this, &DatasetPage::scheduleRefresh);
  connect(labelColumn_, &QComboBox::currentTextChanged, this, &DatasetPage::scheduleRefresh);
  for (QSpinBox* box : {samples_, classes_, seed_, height_, width_})
    connect(box, &QSpinBox::valueChanged, this, &DatasetPage::scheduleRefresh);
  connect(channels_, &QComboBox::currentIndexChanged, this, &DatasetPage::scheduleRefresh);
}

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

void DatasetPage::clearPreview() {
  split_.reset();
  loadedSpec_.reset();
  error_->hide();
  summary_->clear();
  balance_->clearPlottables();
  balance_->replot();
  images_->clear();
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
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

void DatasetPage::showSplit() {
  const Dataset& train = split_->train;
  const Dataset& val = split_->validation;
  QStringList dims;
  for (auto d : train.sample_shape) dims << QString::number(d);
  summary_->setText(tr("Sample shape: [%1]   Train: %2   Validation: %3   Classes: %4")
                        .arg(dims.join(QStringLiteral("×")))
                        .arg(train.size())
                        .arg(val.size())
                        .arg(train.num_classes));

  balance_->clearPlottables();
  if (train.num_classes > 0) {
    QVector<double> keys, counts(train.num_classes, 0.0);
    for (int c = 0; c < train.num_classes; ++c) keys << c;
    // Every label: one per sample, or one per position of a sequence.
    for (const Dataset* d : {&train, &val})
      for (float y : d->targets) {
        const int c = int(y);
        if (c >= 0 && c < train.num_classes) counts[c] += 1;
      }
    auto* bars = new QCPBars(balance_->xAxis, balance_->yAxis);
    bars->setData(keys, counts, true);
    bars->setWidth(0.7);
    if (train.num_classes <= 40) {  // names fit under their bars
      QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
      for (int c = 0; c < train.num_classes; ++c)
        ticker->addTick(c, c < int(train.class_names.size())
                               ? QString::fromStdString(train.class_names[std::size_t(c)])
                               : QString::number(c));
      balance_->xAxis->setTicker(ticker);
    } else {  // bytes of a text: numbered
      balance_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    balance_->xAxis->setRange(-0.5, train.num_classes - 0.5);
    balance_->yAxis->setRange(0, *std::max_element(counts.begin(), counts.end()) * 1.1 + 1);
  }
  balance_->replot();

  images_->clear();
  table_->clear();
  if (isImageData(train)) {
    preview_->setCurrentWidget(images_);
    // Training pictures as the first epoch's batches show them: augmented
    // exactly as the loader thread will (same seed, same draw per sample).
    const bool augmented = loadedSpec_ && augments(*loadedSpec_);
    const Dataset from =
        previewSamples(train, loadedSpec_ ? *loadedSpec_ : DatasetSpec{}, trainingSeed(), 32);
    images_->setToolTip(augmented
                            ? tr("Training samples after augmentation, as epoch 1 sees them")
                            : tr("Training samples, spread over the set"));
    for (std::int64_t i = 0; i < std::min<std::int64_t>(32, from.size()); ++i) {
      const int label = int(from.targets[std::size_t(i * from.target_dim)]);
      const QString name = label >= 0 && label < int(from.class_names.size())
                               ? QString::fromStdString(from.class_names[std::size_t(label)])
                               : QString::number(label);
      images_->addItem(
          new QListWidgetItem(QIcon(QPixmap::fromImage(sampleThumbnail(from, i))), name));
    }
    return;
  }
  preview_->setCurrentWidget(table_);
  const std::int64_t rows = std::min<std::int64_t>(50, train.size());
  const std::int64_t f = train.sample_numel();
  if (loadedSpec_ && (loadedSpec_->kind == "text" || loadedSpec_->kind == "fortunes")) {
    // Windows of text, as text: a new line shows as ⏎, a tab as ⇥.
    table_->setRowCount(int(rows));
    table_->setColumnCount(1);
    table_->setHorizontalHeaderLabels({tr("window (%1 bytes)").arg(f)});
    for (std::int64_t i = 0; i < rows; ++i) {
      QByteArray bytes;
      for (std::int64_t j = 0; j < f; ++j)
        bytes.append(char(int(train.features[std::size_t(i * f + j)])));
      QString text = QString::fromUtf8(bytes);
      text.replace(QLatin1Char('\n'), QChar(0x23CE)).replace(QLatin1Char('\t'), QChar(0x21E5));
      auto* item = new QTableWidgetItem(text);
      item->setFont(QFont(QStringLiteral("monospace")));
      table_->setItem(int(i), 0, item);
    }
    table_->horizontalHeader()->setStretchLastSection(true);
    return;
  }
  table_->horizontalHeader()->setStretchLastSection(false);
  table_->setRowCount(int(rows));
  table_->setColumnCount(int(f + train.target_dim));
  labelTableColumns();
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < f; ++j)
      table_->setItem(
          int(i), int(j),
          new QTableWidgetItem(QString::number(train.features[std::size_t(i * f + j)], 'g', 5)));
    for (std::int64_t j = 0; j < train.target_dim; ++j)
      table_->setItem(int(i), int(f + j),
                      new QTableWidgetItem(QString::number(
                          train.targets[std::size_t(i * train.target_dim + j)], 'g', 5)));
  }
}

// The preview's column titles: a CSV file's header names where it has them,
// x0, x1, ... and "label" otherwise.
void DatasetPage::labelTableColumns() {
  const Dataset& train = split_->train;
  const std::int64_t f = train.sample_numel();
  QStringList features, targets;
  for (std::int64_t j = 0; j < f; ++j) features << tr("x%1").arg(j);
  for (std::int64_t j = 0; j < train.target_dim; ++j)
    targets << (train.target_dim == 1 ? tr("label") : tr("y%1").arg(j));
  const bool header =
      loadedSpec_ && loadedSpec_->kind == "csv" &&
      csvColumnsFile_ == resolvedPath(QString::fromStdString(loadedSpec_->path.string())) &&
      csvColumns_.size() == f + 1 && train.target_dim == 1;
  const int label =
      header ? labelIndex(csvColumns_, QString::fromStdString(loadedSpec_->label_column)) : -1;
  if (label >= 0) {
    // csvLabelColumns() numbers the columns whose header cell is a number.
    const auto named = [&](int i) { return csvColumns_[i] != QString::number(i); };
    for (int i = 0, j = 0; i < csvColumns_.size(); ++i) {
      if (i == label) {
        if (named(i)) targets[0] = csvColumns_[i];
        continue;
      }
      if (named(i)) features[j] = csvColumns_[i];
      ++j;
    }
  }
  table_->setHorizontalHeaderLabels(features + targets);
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
    DatasetShape shape = dataset_shape(split_->train);
    shape.num_classes = std::max(split_->train.num_classes, split_->validation.num_classes);
    return shape;
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
