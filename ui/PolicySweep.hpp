#pragma once
// "Compare policies": trains the current project once per policy (float32,
// mixed_float16, mixed_bfloat16 by default), one run after another through the
// TrainingController. Every run starts from the same project and seed, so the
// initial weights and the batch order are identical; only the policy differs.
// The next run starts only once the controller is idle again. A run that is
// stopped or fails ends the sweep; the runs finished so far are kept.
#include <QObject>
#include <QVector>
#include <functional>

#include "mantissa/model.hpp"

namespace mantissa::ui {

class TrainingController;

class PolicySweep : public QObject {
  Q_OBJECT

 public:
  // `startRun` starts one run under the given policy (MainWindow::startRun).
  using StartRun = std::function<void(mantissa::Policy)>;
  PolicySweep(TrainingController* controller, StartRun startRun, QObject* parent = nullptr);

  static QVector<mantissa::Policy> defaultPolicies();

  // False when a run or another sweep is going, or `policies` is empty.
  bool start(const QVector<mantissa::Policy>& policies = defaultPolicies());
  bool isActive() const { return active_; }
  // Index of the run going now, and how many there are.
  int current() const { return next_ - 1; }
  int count() const { return int(policies_.size()); }
  const QVector<qint64>& runIds() const { return runIds_; }

 signals:
  void runStarting(int index, int count, mantissa::Policy policy);
  // Every policy trained to the end; ids in policy order.
  void sweepFinished(const QVector<qint64>& runIds);
  // A run was stopped or failed; the finished runs' ids and why.
  void sweepEnded(const QVector<qint64>& runIds, const QString& why);

 private:
  void startNext();
  void end(const QString& why);

  TrainingController* controller_;
  StartRun startRun_;
  QVector<mantissa::Policy> policies_;
  QVector<qint64> runIds_;
  int next_ = 0;
  bool active_ = false;
  bool waitingForIdle_ = false;
};

}  // namespace mantissa::ui
