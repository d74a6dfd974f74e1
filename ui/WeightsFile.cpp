#include "WeightsFile.hpp"

#include <QFileDialog>
#include <QFileInfo>
#include <QMetaObject>
#include <exception>
#include <memory>

#include "InlineMessage.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/store.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa::ui {

QString weightsExtension(WeightsFormat format) {
  return format == WeightsFormat::Onnx ? QStringLiteral("onnx") : QStringLiteral("safetensors");
}

bool formatAllowsDType(WeightsFormat format, DType dtype) {
  return format == WeightsFormat::Safetensors || dtype != DType::BF16;
}

QString exportRunWeights(const WeightsExportRequest& r) {
  try {
    if (!formatAllowsDType(r.format, r.dtype))
      return QObject::tr("ONNX export takes f32 or f16, not bf16");
    RunStore store(r.database, StoreOptions::reading());
    ExportRequest request;
    request.run_id = r.runId;
    request.step = r.step;
    request.format = r.format;
    request.dtype = r.dtype;
    request.output = r.file;
    export_run(store, request);
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}

QString checkWeightsFile(const Project& project, const std::filesystem::path& file) {
  try {
    auto backend = create_backend("cpu");
    Graph graph(project.model, *backend, project.training.policy, project.training.seed,
                project.name.empty() ? "model" : project.name);
    load_weights(graph, file);
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}

WeightsLoader::WeightsLoader(TrainingController* controller, InlineMessage* message,
                             QObject* parent)
    : QObject(parent), controller_(controller), message_(message) {}

void WeightsLoader::pickAndLoad(QWidget* dialogParent, const Project& project) {
  const QString file = QFileDialog::getOpenFileName(dialogParent, tr("Load Weights"), QString(),
                                                    tr("safetensors (*.safetensors)"));
  if (!file.isEmpty()) load(project, file);
}

void WeightsLoader::load(const Project& project, const QString& file) {
  const quint64 generation = ++generation_;
  workers_.start([this, project, file, generation] {
    const QString error = checkWeightsFile(project, file.toStdString());
    QMetaObject::invokeMethod(
        this, [this, file, error, generation] { showCheck(generation, file, error); },
        Qt::QueuedConnection);
  });
}

void WeightsLoader::showCheck(quint64 generation, const QString& file, const QString& error) {
  // Checked against a project that has been replaced (or cleared) since.
  if (generation != generation_) return;
  const QString name = QFileInfo(file).fileName();
  if (error.isEmpty()) {
    if (controller_) controller_->setInitWeights(file.toStdString());
    if (message_)
      message_->showMessage(tr("%1 fits the model: the next run starts from %1").arg(name),
                            InlineMessage::Level::Information);
  } else if (message_) {
    message_->showMessage(error, InlineMessage::Level::Error);
  }
  emit checked(file, error);
}

void WeightsLoader::forget() {
  ++generation_;
}

void WeightsLoader::clear() {
  forget();
  if (controller_) controller_->setInitWeights(std::nullopt);
  if (message_)
    message_->showMessage(tr("Loaded weights cleared: runs start from fresh initialisation"),
                          InlineMessage::Level::Information);
}

}  // namespace mantissa::ui
