#pragma once
// Shows the evaluation of a stored run (services/EvaluationService.hpp): the
// confusion matrix with per-class accuracy and, for image data, the
// misclassified examples.
#include <QString>
#include <QWidget>

#include "services/EvaluationService.hpp"

class QLabel;
class QListWidget;
class QTableWidget;

namespace mantissa::ui {

class EvaluationView : public QWidget {
  Q_OBJECT

 public:
  explicit EvaluationView(QWidget* parent = nullptr);
  ~EvaluationView() override;

  // Starts the evaluation on the service's worker; evaluated() or failed()
  // follows (for the newest call only).
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
  void showFailure(const QString& message);

  QLabel* title_;
  QLabel* error_;
  QTableWidget* confusion_;
  QListWidget* mistakes_;
  RunEvaluation result_;
  EvaluationService* service_;
  bool busy_ = false;
};

}  // namespace mantissa::ui
