#pragma once
// Exports a stored run's weights: format (safetensors or ONNX), dtype, which
// checkpoint and the output file. The checkpoint list is read and the export
// written by the run library (services/RunLibrary.hpp) on its workers; the
// outcome shows inline as one line.
#include <QDialog>
#include <QString>
#include <QVector>
#include <optional>

#include "WeightsFile.hpp"

class QComboBox;
class QLineEdit;
class QPushButton;

namespace mantissa::ui {

class HistoryExportFolder;
class InlineMessage;
class RunLibrary;
struct RunCheckpoints;

class ExportDialog : public QDialog {
  Q_OBJECT

 public:
  // `folder` (may be null) is where the file dialog starts and is updated on export.
  ExportDialog(const QString& databasePath, qint64 runId, HistoryExportFolder* folder,
               QWidget* parent = nullptr);

  qint64 runId() const { return runId_; }
  QString projectName() const { return projectName_; }
  // The run's name as stored, kept up to date when it is renamed meanwhile.
  QString runName() const { return runName_; }
  // "<run name>-run<id>.<ext>", the name made fit for a file (fileNameStem).
  QString defaultFileName() const;

  WeightsFormat format() const;
  void setFormat(WeightsFormat format);
  mantissa::DType dtype() const;
  bool setDType(mantissa::DType dtype);  // false when the format does not take it
  QVector<mantissa::DType> enabledDTypes() const;
  QString dtypeToolTip(mantissa::DType dtype) const;

  // The run's checkpoints, read on the run library's worker: empty until
  // checkpointsShown.
  bool checkpointsKnown() const { return checkpointsKnown_; }
  QVector<qint64> checkpointSteps() const;       // newest first
  std::optional<qint64> checkpointStep() const;  // nullopt: latest
  bool setCheckpointStep(std::optional<qint64> step);

  QString outputFile() const;
  void setOutputFile(const QString& file);

  // Starts the export on a worker thread; exportFinished follows.
  void startExport();
  bool isExporting() const { return exporting_; }
  InlineMessage* messageBar() const { return message_; }

 signals:
  void exportFinished(qint64 runId, const QString& file, const QString& error);
  void checkpointsShown();

 private:
  void formatChanged();
  void showCheckpoints(quint64 request, qint64 runId, const RunCheckpoints& stored);
  void exportDone(qint64 runId, const QString& file, const QString& error);
  void browse();
  void runRenamed(const QString& database, qint64 runId, const QString& name);
  void setRunName(const QString& name);
  void followDefaultName(const QString& placeholder);

  QString databasePath_;
  qint64 runId_;
  HistoryExportFolder* folder_;
  QString projectName_;
  QString runName_;
  QComboBox* format_;
  QComboBox* dtype_;
  QComboBox* checkpoint_;
  QLineEdit* file_;
  QPushButton* export_;
  InlineMessage* message_;
  RunLibrary* library_ = nullptr;
  bool checkpointsKnown_ = false;
  bool exporting_ = false;
};

}  // namespace mantissa::ui
