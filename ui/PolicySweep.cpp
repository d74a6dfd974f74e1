#include "PolicySweep.hpp"

#include "services/TrainingController.hpp"
#include "mantissa/train_job.hpp"

namespace mantissa::ui {

PolicySweep::PolicySweep(TrainingController* controller, StartRun startRun, QObject* parent)
    : QObject(parent), controller_(controller), startRun_(std::move(startRun)) {
  connect(controller_, &TrainingController::runFinished, this,
          [this](quint64 gen, qint64 runId, const RunSummary& s) {
            if (!active_ || gen != controller_->generation()) return;
            if (s.outcome == RunOutcome::Finished) {
              runIds_.push_back(runId);
              waitingForIdle_ = true;
            } else if (s.outcome == RunOutcome::Stopped) {
              end(tr("run %1 was stopped").arg(runId));
            } else {
              end(tr("run %1 failed: %2").arg(runId).arg(QString::fromStdString(s.error)));
            }
          });
  connect(controller_, &TrainingController::runFailed, this,
          [this](quint64 gen, const QString& message) {
            if (active_ && gen == controller_->generation()) end(message);
          });
  // The worker thread is joined only after its last batch was delivered; the
  // next run starts once the controller says it is idle.
  connect(controller_, &TrainingController::stateChanged, this,
          [this](TrainingController::State s) {
            if (!active_ || s != TrainingController::State::Idle) return;
            if (waitingForIdle_) {
              waitingForIdle_ = false;
              startNext();
            } else {
              // Idle without a finished run: stopped before it began.
              end(tr("the run ended before it started"));
            }
          });
}

QVector<Policy> PolicySweep::defaultPolicies() {
  return {Policy::Float32, Policy::MixedFloat16, Policy::MixedBFloat16};
}

bool PolicySweep::start(const Project& project, const QString& device,
                        const QVector<Policy>& policies) {
  if (active_ || controller_->isBusy() || policies.isEmpty()) return false;
  project_ = project;
  device_ = device;
  group_ = comparison_group(project);  // the runs' group, as `mantissa compare` names it
  policies_ = policies;
  runIds_.clear();
  next_ = 0;
  active_ = true;
  waitingForIdle_ = false;
  startNext();
  return true;
}

void PolicySweep::startNext() {
  if (next_ >= policies_.size()) {
    active_ = false;
    emit sweepFinished(runIds_);
    return;
  }
  const Policy p = policies_[next_++];
  emit runStarting(next_ - 1, int(policies_.size()), p);
  RunLink link{group_, std::nullopt};
  if (!runIds_.isEmpty()) link.parent = runIds_.first();
  startRun_(project_, p, device_, link);
}

void PolicySweep::end(const QString& why) {
  if (!active_) return;
  active_ = false;
  waitingForIdle_ = false;
  emit sweepEnded(runIds_, why);
}

}  // namespace mantissa::ui
