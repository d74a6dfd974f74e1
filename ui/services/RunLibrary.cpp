#include "services/RunLibrary.hpp"

#include <QMetaObject>
#include <exception>
#include <memory>

namespace mantissa::ui {

std::optional<StoredRun> loadStoredRun(RunStore& store, qint64 runId) {
  std::optional<RunRecord> record = store.get_run(runId);
  if (!record) return std::nullopt;
  StoredRun run;
  run.record = std::move(*record);
  const std::vector<StepMetrics> steps = store.step_metrics(runId);
  const std::vector<EpochMetrics> epochs = store.epoch_metrics(runId);
  run.steps = QVector<StepMetrics>(steps.begin(), steps.end());
  run.epochs = QVector<EpochMetrics>(epochs.begin(), epochs.end());
  return run;
}

RunLibrary::RunLibrary(QObject* parent) : QObject(parent) {
  qRegisterMetaType<QVector<StoredRun>>();
}

RunLibrary::~RunLibrary() = default;

quint64 RunLibrary::load(const QString& database, const QVector<qint64>& runIds) {
  const quint64 request = ++request_;
  workers_.start([this, request, db = database.toStdString(), runIds] {
    auto runs = std::make_shared<QVector<StoredRun>>();
    int missing = 0;
    QString error;
    try {
      RunStore store(db, StoreOptions::reading());
      for (qint64 id : runIds) {
        if (auto run = loadStoredRun(store, id))
          runs->push_back(std::move(*run));
        else
          ++missing;
      }
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(
        this, [this, request, runs, missing, error] { emit runsLoaded(request, *runs, missing, error); },
        Qt::QueuedConnection);
  });
  return request;
}

}  // namespace mantissa::ui
