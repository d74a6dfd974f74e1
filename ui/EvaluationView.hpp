#pragma once
// Evaluates a stored run with the engine's evaluate job (mantissa/evaluate.hpp,
// as `mantissa evaluate` does) on a worker thread: the run's model rebuilt
// from its project snapshot and latest checkpoint on the CPU backend, its
// validation split run through it. The view shows the confusion matrix with
// per-class accuracy and, for image data, the misclassified examples.
#include <QImage>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "WorkerThreads.hpp"

class QLabel;
class QListWidget;
class QTableWidget;

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

// The whole evaluation, synchronously; throws on any problem (no checkpoint,
// a regression model, a dataset that does not load).
RunEvaluation evaluateStoredRun(const QString& databasePath, qint64 runId);

class EvaluationView : public QWidget {
  Q_OBJECT

 public:
  explicit EvaluationView(QWidget* parent = nullptr);
  ~EvaluationView() override;

  // Starts the evaluation on a worker thread; evaluated() or failed() follows.
  void evaluateRun(const QString& databasePath, qint64 runId);

  bool isBusy() const { return busy_; }
  const RunEvaluation& result() const { return result_; }
  QTableWidget* confusionTable() const { return confusion_; }
  QListWidget* misclassifiedList() const { return mistakes_; }
  QString errorText() const;

 signals:
  void evaluated();
  void failed(const QString& message);

 private:
  void showResult(const RunEvaluation& r);

  QLabel* title_;
  QLabel* error_;
  QTableWidget* confusion_;
  QListWidget* mistakes_;
  RunEvaluation result_;
  std::uint64_t generation_ = 0;
  bool busy_ = false;
  WorkerThreads workers_;
};

}  // namespace mantissa::ui
