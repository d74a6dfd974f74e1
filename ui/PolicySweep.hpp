#pragma once
// "Compare policies": trains the current project once per policy (float32,
// mixed_float16, mixed_bfloat16 by default), one run after another through the
// TrainingController. Every run starts from the same project and seed, so the
// initial weights and the batch order are identical; only the policy differs.
// The project and device are taken when the sweep starts, so edits made
// meanwhile do not leak into the later runs. The next run starts only once the
// controller is idle again. A run that is stopped or fails ends the sweep; the
// runs finished so far are kept.
#include <QObject>
#include <QVector>
#include <functional>

#include "services/TrainingController.hpp"
#include "mantissa/model.hpp"

namespace mantissa::ui {

class TrainingController;

class PolicySweep : public QObject {
  Q_OBJECT

 public:
  // Starts one run of `project` under `policy` on `device` (MainWindow::startRun).
  using StartRun = std::function<void(const mantissa::Project&, mantissa::Policy,
                                      const QString& device, const RunLink& link)>;
  PolicySweep(TrainingController* controller, StartRun startRun, QObject* parent = nullptr);

  static QVector<mantissa::Policy> defaultPolicies();

  // False when a run or another sweep is going, or `policies` is empty.
  bool start(const mantissa::Project& project, const QString& device,
             const QVector<mantissa::Policy>& policies = defaultPolicies());
  // Ends the sweep after the run going now (e.g. another project was opened).
  void abandon(const QString& why) { end(why); }
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
  mantissa::Project project_;
  QString device_;
  std::string group_;
  QVector<mantissa::Policy> policies_;
  QVector<qint64> runIds_;
  int next_ = 0;
  bool active_ = false;
  bool waitingForIdle_ = false;
};

}  // namespace mantissa::ui
