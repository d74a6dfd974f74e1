#include "DatasetPage.hpp"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
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
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "ProjectDocument.hpp"

namespace mantissa::ui {

DatasetPage::DatasetPage(ProjectDocument* document, QWidget* parent)
    : QWidget(parent), document_(document), service_(new DatasetService(this)) {
  connect(service_, &DatasetService::datasetLoaded, this,
          [this](quint64, const DatasetSplitPtr& split) { showLoaded(split); });
  connect(service_, &DatasetService::datasetLoadFailed, this,
          [this](quint64, const QString& message) { showLoadFailure(message); });
  connect(service_, &DatasetService::labelColumnsRead, this,
          [this](quint64, const QString&, const QStringList& columns) {
            showLabelColumns(columns);
          });
  buildUi();
  syncFromDocument();
  if (document_) {
    connect(document_, &ProjectDocument::projectReplaced, this, &DatasetPage::syncFromDocument);
    connect(document_, &ProjectDocument::datasetChanged, this, &DatasetPage::syncFromDocument);
  }
}

DatasetPage::~DatasetPage() = default;

void DatasetPage::buildUi() {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QFormLayout;
  kind_ = new QComboBox(this);
  kind_->addItem(tr("Built-in MNIST"), QStringLiteral("mnist"));
  kind_->addItem(tr("Spirals"), QStringLiteral("spirals"));
  kind_->addItem(tr("Moons"), QStringLiteral("moons"));
  kind_->addItem(tr("Blobs"), QStringLiteral("blobs"));
  kind_->addItem(tr("IDX files"), QStringLiteral("idx"));
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
            [this, target, filter] { pickFile(target, filter); });
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
  cf->addRow(tr("Label column"), labelColumn_);
  connect(csv_path_, &QLineEdit::editingFinished, this,
          [this] { fillLabelColumns(csv_path_->text()); });
  params_->addWidget(csv);
  layout->addWidget(params_);

  auto* common = new QFormLayout;
  normalize_ = new QCheckBox(tr("Normalise features"), this);
  validation_ = new QDoubleSpinBox(this);
  validation_->setRange(0.0, 0.9);
  validation_->setSingleStep(0.05);
  common->addRow(QString(), normalize_);
  common->addRow(tr("Validation fraction"), validation_);
  layout->addLayout(common);

  auto* buttons = new QHBoxLayout;
  loadButton_ = new QPushButton(tr("Load"), this);
  applyButton_ = new QPushButton(tr("Apply"), this);
  buttons->addWidget(loadButton_);
  buttons->addWidget(applyButton_);
  buttons->addStretch(1);
  layout->addLayout(buttons);
  connect(loadButton_, &QPushButton::clicked, this, &DatasetPage::load);
  connect(applyButton_, &QPushButton::clicked, this, &DatasetPage::apply);

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

  connect(kind_, &QComboBox::currentIndexChanged, this, &DatasetPage::updateKind);
}

void DatasetPage::updateKind() {
  const QString k = kind_->currentData().toString();
  params_->setCurrentIndex(k == u"mnist" ? 0 : k == u"idx" ? 2 : k == u"csv" ? 3 : 1);
  // The stack takes the height of the page shown, not of its tallest page.
  for (int i = 0; i < params_->count(); ++i)
    params_->widget(i)->setSizePolicy(QSizePolicy::Preferred, i == params_->currentIndex()
                                                                  ? QSizePolicy::Maximum
                                                                  : QSizePolicy::Ignored);
  params_->adjustSize();
  // The built-in digits have a fixed split (the first 8,000 train).
  validation_->setEnabled(k != u"mnist");
  validation_->setToolTip(k == u"mnist"
                              ? tr("MNIST's split is fixed: 8,000 train, 2,000 validation")
                              : tr("Share of the samples kept for validation"));
}

void DatasetPage::syncFromDocument() {
  if (document_) setSpec(document_->project().dataset);
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
  csv_path_->setText(QString::fromStdString(s.path.string()));
  if (s.kind == "csv") fillLabelColumns(csv_path_->text());
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
  s.path = csv_path_->text().toStdString();
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
  if (edit == csv_path_) fillLabelColumns(file);
}

void DatasetPage::fillLabelColumns(const QString& csvFile) {
  QString path = csvFile;
  if (document_ && QFileInfo(path).isRelative() && !document_->filePath().isEmpty())
    path = QFileInfo(document_->filePath()).dir().filePath(path);
  service_->readLabelColumns(path);
}

void DatasetPage::showLabelColumns(const QStringList& columns) {
  const QString keep = labelColumn_->currentText();
  labelColumn_->clear();
  labelColumn_->addItem(QString());  // the last column
  labelColumn_->addItems(columns);
  labelColumn_->setCurrentText(keep);
  emit labelColumnsFilled();
}

void DatasetPage::load() {
  const DatasetSpec s = spec();
  std::filesystem::path base;
  if (document_ && !document_->filePath().isEmpty())
    base = QFileInfo(document_->filePath()).absolutePath().toStdString();
  loading_ = true;
  loadButton_->setEnabled(false);
  summary_->setText(tr("Loading…"));
  error_->hide();
  service_->load(s, base);
}

void DatasetPage::showLoadFailure(const QString& message) {
  loading_ = false;
  loadButton_->setEnabled(true);
  split_.reset();
  error_->setText(message);
  error_->show();
  summary_->clear();
  balance_->clearPlottables();
  balance_->replot();
  images_->clear();
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
  emit loadFailed(message);
}

void DatasetPage::showLoaded(const DatasetSplitPtr& split) {
  loading_ = false;
  loadButton_->setEnabled(true);
  split_ = split;
  error_->hide();
  showSplit();
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
    for (const Dataset* d : {&train, &val})
      for (std::int64_t i = 0; i < d->size(); ++i) {
        const int c = int(d->targets[std::size_t(i * d->target_dim)]);
        if (c >= 0 && c < train.num_classes) counts[c] += 1;
      }
    auto* bars = new QCPBars(balance_->xAxis, balance_->yAxis);
    bars->setData(keys, counts, true);
    bars->setWidth(0.7);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int c = 0; c < train.num_classes; ++c)
      ticker->addTick(c, c < int(train.class_names.size())
                             ? QString::fromStdString(train.class_names[std::size_t(c)])
                             : QString::number(c));
    balance_->xAxis->setTicker(ticker);
    balance_->xAxis->setRange(-0.5, train.num_classes - 0.5);
    balance_->yAxis->setRange(0, *std::max_element(counts.begin(), counts.end()) * 1.1 + 1);
  }
  balance_->replot();

  images_->clear();
  table_->clear();
  if (isImageData(train)) {
    preview_->setCurrentWidget(images_);
    for (std::int64_t i = 0; i < std::min<std::int64_t>(32, train.size()); ++i) {
      const int label = int(train.targets[std::size_t(i * train.target_dim)]);
      images_->addItem(new QListWidgetItem(QIcon(QPixmap::fromImage(sampleThumbnail(train, i))),
                                           QString::number(label)));
    }
    return;
  }
  preview_->setCurrentWidget(table_);
  const std::int64_t rows = std::min<std::int64_t>(50, train.size());
  const std::int64_t f = train.sample_numel();
  table_->setRowCount(int(rows));
  table_->setColumnCount(int(f + train.target_dim));
  QStringList headers;
  for (std::int64_t j = 0; j < f; ++j) headers << tr("x%1").arg(j);
  for (std::int64_t j = 0; j < train.target_dim; ++j)
    headers << (train.target_dim == 1 ? tr("label") : tr("y%1").arg(j));
  table_->setHorizontalHeaderLabels(headers);
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

void DatasetPage::apply() {
  if (!document_) return;
  document_->editDataset(spec());
}

}  // namespace mantissa::ui
