#include "ExportDialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QStandardItemModel>
#include <QVBoxLayout>
#include "Format.hpp"
#include "HistoryPage.hpp"
#include "InlineMessage.hpp"
#include "services/RunLibrary.hpp"

namespace mantissa::ui {

namespace {

constexpr DType kDTypes[] = {DType::F32, DType::F16, DType::BF16};

}  // namespace

ExportDialog::ExportDialog(const QString& databasePath, qint64 runId, HistoryExportFolder* folder,
                           QWidget* parent)
    : QDialog(parent), databasePath_(databasePath), runId_(runId), folder_(folder) {
  setWindowTitle(tr("Export Weights of Run %1").arg(runId));
  auto* layout = new QVBoxLayout(this);
  message_ = new InlineMessage(this);
  layout->addWidget(message_);
  auto* form = new QFormLayout;
  format_ = new QComboBox(this);
  format_->addItem(tr("safetensors"), int(WeightsFormat::Safetensors));
  format_->addItem(tr("ONNX"), int(WeightsFormat::Onnx));
  form->addRow(tr("Format"), format_);
  dtype_ = new QComboBox(this);
  for (DType t : kDTypes) dtype_->addItem(QString::fromUtf8(dtype_name(t).data()), int(t));
  form->addRow(tr("Weights"), dtype_);
  checkpoint_ = new QComboBox(this);
  form->addRow(tr("Checkpoint"), checkpoint_);
  auto* fileRow = new QHBoxLayout;
  file_ = new QLineEdit(this);
  // Wide enough to read a path, not only the end of its file name.
  file_->setMinimumWidth(file_->fontMetrics().averageCharWidth() * 48);
  auto* browse = new QPushButton(tr("Browse…"), this);
  fileRow->addWidget(file_, 1);
  fileRow->addWidget(browse);
  form->addRow(tr("File"), fileRow);
  layout->addLayout(form);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  export_ = buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(export_, &QPushButton::clicked, this, &ExportDialog::startExport);
  connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
  connect(format_, &QComboBox::currentIndexChanged, this, &ExportDialog::formatChanged);

  checkpoint_->addItem(tr("Latest"), QVariant());
  projectName_ = QStringLiteral("mantissa");
  const QString dir = folder_ ? folder_->folder() : QDir::homePath();
  file_->setText(QDir(dir).filePath(defaultFileName()));
  formatChanged();

  library_ = new RunLibrary(this);
  connect(library_, &RunLibrary::checkpointsRead, this, &ExportDialog::showCheckpoints);
  connect(library_, &RunLibrary::weightsExported, this, &ExportDialog::exportDone);
  library_->readCheckpoints(databasePath_, runId_);
  connect(RunNotices::instance(), &RunNotices::runRenamed, this, &ExportDialog::runRenamed);
}

void ExportDialog::showCheckpoints(quint64, qint64, const RunCheckpoints& stored) {
  if (!stored.error.isEmpty()) {
    message_->showMessage(stored.error, InlineMessage::Level::Error);
  } else {
    if (!stored.steps.isEmpty())
      checkpoint_->setItemText(0, tr("Latest (step %1)").arg(stored.steps.front()));
    for (qint64 step : stored.steps)
      checkpoint_->addItem(tr("Step %1").arg(step), QVariant::fromValue<qint64>(step));
    if (stored.steps.isEmpty())
      message_->showMessage(tr("Run %1 has no checkpoint to export weights from").arg(runId_),
                            InlineMessage::Level::Warning);
  }
  const QString placeholder = defaultFileName();
  if (!stored.projectName.isEmpty()) projectName_ = stored.projectName;
  if (!stored.runName.isEmpty()) runName_ = stored.runName;
  followDefaultName(placeholder);
  checkpointsKnown_ = true;
  emit checkpointsShown();
}

QString ExportDialog::defaultFileName() const {
  return QStringLiteral("%1-run%2.%3")
      .arg(fileNameStem(runName_.isEmpty() ? projectName_ : runName_))
      .arg(runId_)
      .arg(weightsExtension(format()));
}

// The file name follows the run's, unless one was chosen meanwhile (it is
// no longer `placeholder`, the default name before the change).
void ExportDialog::followDefaultName(const QString& placeholder) {
  if (QFileInfo(outputFile()).fileName() == placeholder)
    file_->setText(QFileInfo(outputFile()).dir().filePath(defaultFileName()));
}

void ExportDialog::setRunName(const QString& name) {
  const QString placeholder = defaultFileName();
  runName_ = name;
  followDefaultName(placeholder);
}

void ExportDialog::runRenamed(const QString& database, qint64 runId, const QString& name) {
  if (runId == runId_ && sameDatabase(database, databasePath_)) setRunName(name);
}

WeightsFormat ExportDialog::format() const {
  return WeightsFormat(format_->currentData().toInt());
}

void ExportDialog::setFormat(WeightsFormat format) {
  format_->setCurrentIndex(format_->findData(int(format)));
}

DType ExportDialog::dtype() const {
  return DType(dtype_->currentData().toInt());
}

bool ExportDialog::setDType(DType dtype) {
  if (!formatAllowsDType(format(), dtype)) return false;
  dtype_->setCurrentIndex(dtype_->findData(int(dtype)));
  return true;
}

QVector<DType> ExportDialog::enabledDTypes() const {
  QVector<DType> out;
  auto* model = qobject_cast<QStandardItemModel*>(dtype_->model());
  for (int i = 0; i < dtype_->count(); ++i)
    if (model->item(i)->isEnabled()) out << DType(dtype_->itemData(i).toInt());
  return out;
}

QString ExportDialog::dtypeToolTip(DType dtype) const {
  return dtype_->itemData(dtype_->findData(int(dtype)), Qt::ToolTipRole).toString();
}

void ExportDialog::formatChanged() {
  const WeightsFormat f = format();
  auto* model = qobject_cast<QStandardItemModel*>(dtype_->model());
  for (int i = 0; i < dtype_->count(); ++i) {
    const DType t = DType(dtype_->itemData(i).toInt());
    const bool ok = formatAllowsDType(f, t);
    model->item(i)->setEnabled(ok);
    model->item(i)->setToolTip(
        ok ? QString()
           : tr("ONNX has no bfloat16 weights that common runtimes accept; export f32 or f16"));
  }
  if (!formatAllowsDType(f, dtype())) setDType(DType::F32);
  // Keep the file's extension in step with the format.
  const QString ext = QLatin1Char('.') + weightsExtension(f);
  QString file = file_->text();
  for (const QString& other : {QStringLiteral(".safetensors"), QStringLiteral(".onnx")})
    if (file.endsWith(other)) file.chop(other.size());
  if (!file.isEmpty()) file_->setText(file + ext);
}

QVector<qint64> ExportDialog::checkpointSteps() const {
  QVector<qint64> steps;
  for (int i = 1; i < checkpoint_->count(); ++i) steps << checkpoint_->itemData(i).toLongLong();
  return steps;
}

std::optional<qint64> ExportDialog::checkpointStep() const {
  const QVariant v = checkpoint_->currentData();
  return v.isValid() ? std::optional<qint64>(v.toLongLong()) : std::nullopt;
}

bool ExportDialog::setCheckpointStep(std::optional<qint64> step) {
  const int i = step ? checkpoint_->findData(QVariant::fromValue<qint64>(*step)) : 0;
  if (i < 0) return false;
  checkpoint_->setCurrentIndex(i);
  return true;
}

QString ExportDialog::outputFile() const {
  return file_->text().trimmed();
}

void ExportDialog::setOutputFile(const QString& file) {
  file_->setText(file);
}

void ExportDialog::browse() {
  const WeightsFormat f = format();
  const QString filter =
      f == WeightsFormat::Onnx ? tr("ONNX (*.onnx)") : tr("safetensors (*.safetensors)");
  const QString start =
      outputFile().isEmpty()
          ? QDir(folder_ ? folder_->folder() : QDir::homePath()).filePath(defaultFileName())
          : outputFile();
  const QString file = QFileDialog::getSaveFileName(this, tr("Export Weights"), start, filter);
  if (file.isEmpty()) return;
  setOutputFile(file);
  if (folder_) folder_->setFolder(QFileInfo(file).absolutePath());
}

void ExportDialog::startExport() {
  if (exporting_) return;
  const QString file = outputFile();
  if (file.isEmpty()) {
    message_->showMessage(tr("Choose a file to write"), InlineMessage::Level::Error);
    return;
  }
  if (folder_) folder_->setFolder(QFileInfo(file).absolutePath());
  WeightsExportRequest request{
      databasePath_.toStdString(), runId_, checkpointStep(), format(), dtype(), file.toStdString()};
  exporting_ = true;
  export_->setEnabled(false);
  message_->showMessage(tr("Exporting %1…").arg(QFileInfo(file).fileName()),
                        InlineMessage::Level::Information);
  library_->exportWeights(request);
}

void ExportDialog::exportDone(qint64, const QString& file, const QString& error) {
  exporting_ = false;
  export_->setEnabled(true);
  if (error.isEmpty())
    message_->showMessage(tr("Wrote %1").arg(file), InlineMessage::Level::Information);
  else
    message_->showMessage(tr("%1 not written: %2").arg(QFileInfo(file).fileName(), error),
                          InlineMessage::Level::Error);
  emit exportFinished(runId_, file, error);
}

}  // namespace mantissa::ui
