#include "services/EvaluationService.hpp"

#include <QFileInfo>
#include <QMetaObject>
#include <exception>
#include <memory>

#include "services/DatasetService.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/evaluate.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

RunEvaluation evaluateStoredRun(const QString& databasePath, qint64 runId) {
  if (!QFileInfo::exists(databasePath))
    throw InputError(databasePath.toStdString() + ": no run database here");
  RunStore store(databasePath.toStdString(), StoreOptions::reading());
  const Evaluation e = evaluate_run(store, runId);  // the same job as `mantissa evaluate`
  if (!e.classification)
    throw InputError("run " + std::to_string(runId) +
                     " is not a classifier: there is no confusion matrix to show");
  RunEvaluation r;
  r.runId = runId;
  r.step = e.step;
  r.numClasses = e.num_classes;
  for (const std::string& name : e.class_names) r.classNames << QString::fromStdString(name);
  r.confusion = QVector<qint64>(e.confusion.begin(), e.confusion.end());
  r.total = e.predictions;
  r.correct = e.correct;
  r.loss = e.loss;
  for (double a : e.per_class_accuracy()) r.perClassAccuracy << a;
  for (const MisclassifiedSample& m : e.misclassified)
    r.misclassified.push_back({m.row, m.truth, m.predicted, sampleThumbnail(*e.data, m.row)});
  return r;
}

EvaluationService::EvaluationService(QObject* parent) : QObject(parent) {
  qRegisterMetaType<RunEvaluation>();
}

EvaluationService::~EvaluationService() = default;

quint64 EvaluationService::evaluate(const QString& database, qint64 runId) {
  const quint64 request = ++request_;
  workers_.start([this, database, runId, request] {
    auto result = std::make_shared<RunEvaluation>();
    QString error;
    try {
      *result = evaluateStoredRun(database, runId);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, request, runId, result, error] {
          if (request != request_) return;  // a newer evaluation was asked for
          if (error.isEmpty())
            emit runEvaluated(request, *result);
          else
            emit evaluationFailed(request, runId, error);
        },
        Qt::QueuedConnection);
  });
  return request;
}

}  // namespace mantissa::ui
