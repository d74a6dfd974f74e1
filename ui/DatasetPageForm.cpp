// The Data page's form: the dataset kinds, each kind's fields, the preview
// and the fit line, and what each control's change sets off (the page's
// behaviour is DatasetPage.cpp, its preview DatasetPagePreview.cpp).
#include "DatasetPage.hpp"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
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
  samples_->setRange(10, int(kMaxSyntheticSamples));
  classes_ = new QSpinBox(synth);
  classes_->setRange(2, kMaxSyntheticClasses);
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

}  // namespace mantissa::ui
