#pragma once
// Trained weights between the studio and files: a stored run's checkpoint
// written as safetensors or ONNX, and a safetensors file checked against the
// current model before a run starts from it. Both run on worker threads.
#include <QObject>
#include <QString>
#include <filesystem>
#include <optional>

#include "mantissa/dtype.hpp"
#include "mantissa/export_job.hpp"
#include "mantissa/model.hpp"
#include "services/WorkerThreads.hpp"

class QWidget;

namespace mantissa::ui {

class InlineMessage;
class TrainingController;

using mantissa::WeightsFormat;  // the export job's (mantissa/export_job.hpp)

QString weightsExtension(WeightsFormat format);  // "safetensors", "onnx"
// ONNX takes f32 and f16 only; safetensors every dtype.
bool formatAllowsDType(WeightsFormat format, mantissa::DType dtype);

struct WeightsExportRequest {
  std::filesystem::path database;
  qint64 runId = 0;
  std::optional<qint64> step;  // nullopt: the latest checkpoint
  WeightsFormat format = WeightsFormat::Safetensors;
  mantissa::DType dtype = mantissa::DType::F32;
  std::filesystem::path file;
};

// Writes the run's checkpoint with the export job (as `mantissa export`) and
// its own RunStore connection (any thread). Returns the one-line error, or
// empty on success.
QString exportRunWeights(const WeightsExportRequest& request);

// Loads `file` into the project's model built on the CPU backend. Returns the
// one-line mismatch or read error, or empty when the file fits.
QString checkWeightsFile(const mantissa::Project& project, const std::filesystem::path& file);

// "Load weights…": checks a safetensors file on a worker thread; when it fits,
// the controller's next runs start from it. A check made for a project since
// replaced is dropped by its generation.
class WeightsLoader : public QObject {
  Q_OBJECT

 public:
  WeightsLoader(TrainingController* controller, InlineMessage* message, QObject* parent = nullptr);

  void pickAndLoad(QWidget* dialogParent, const mantissa::Project& project);
  void load(const mantissa::Project& project, const QString& file);  // asynchronous
  void clear();
  // Drops a check still running (the project it was made for is gone).
  void forget();

 signals:
  void checked(const QString& file, const QString& error);

 private:
  void showCheck(quint64 generation, const QString& file, const QString& error);

  TrainingController* controller_;
  InlineMessage* message_;
  quint64 generation_ = 0;
  WorkerThreads workers_;  // last member: joined first, while the rest still exists
};

}  // namespace mantissa::ui
