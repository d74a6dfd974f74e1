#pragma once
// Evaluates a stored run with the engine's evaluate job (mantissa/evaluate.hpp,
// as `mantissa evaluate` does) on a worker thread: the run's model rebuilt
// from its project snapshot and latest checkpoint on the CPU backend, its
// validation split run through it. Only the newest request is answered: an
// evaluation asked for before it is dropped when it ends.
#include <QImage>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <cstdint>

#include "WorkerThreads.hpp"

namespace mantissa::ui {

struct Misclassified {
  std::int64_t row = 0;  // in the validation split
  int truth = 0;
  int predicted = 0;
  QImage thumbnail;  // null for non-image data
};

struct RunEvaluation {
  qint64 runId = 0;
  std::int64_t step = 0;
  int numClasses = 0;
  QStringList classNames;
  QVector<qint64> confusion;  // numClasses × numClasses, row = true class, column = predicted
  std::int64_t total = 0;
  std::int64_t correct = 0;
  double loss = 0;                  // mean validation loss
  QVector<double> perClassAccuracy;  // per true class; -1 where it has no samples
  QVector<Misclassified> misclassified;  // at most 32
};

// The whole evaluation, synchronously (any thread); throws on any problem (no
// database, no checkpoint, a regression model, a dataset that does not load).
RunEvaluation evaluateStoredRun(const QString& databasePath, qint64 runId);

class EvaluationService : public QObject {
  Q_OBJECT

 public:
  explicit EvaluationService(QObject* parent = nullptr);
  ~EvaluationService() override;

  // Starts evaluating `runId` of `database`; runEvaluated or evaluationFailed
  // follows with the returned request number, unless a newer request came.
  quint64 evaluate(const QString& database, qint64 runId);
  quint64 latestRequest() const { return request_; }

 signals:
  void runEvaluated(quint64 request, const mantissa::ui::RunEvaluation& result);
  void evaluationFailed(quint64 request, qint64 runId, const QString& message);

 private:
  quint64 request_ = 0;
  WorkerThreads workers_;  // last member: joined first, while the rest still exists
};

}  // namespace mantissa::ui

Q_DECLARE_METATYPE(mantissa::ui::RunEvaluation)
