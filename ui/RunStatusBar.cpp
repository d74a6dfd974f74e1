#include "RunStatusBar.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QTimer>

#include "Format.hpp"

namespace mantissa::ui {

RunStatusBar::RunStatusBar(QWidget* parent)
    : QWidget(parent),
      device_(new QLabel(this)),
      memory_(new QLabel(this)),
      run_(new QLabel(this)),
      step_(new QLabel(this)),
      skipped_(new QLabel(this)),
      eta_(new QLabel(this)),
      progress_(new QProgressBar(this)),
      throttle_(new QTimer(this)) {
  throttle_->setSingleShot(true);
  connect(throttle_, &QTimer::timeout, this, [this] {
    if (pending_) showStep(*pending_);
  });
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(6);
  const QList<QLabel*> labels{device_, memory_, run_, step_, skipped_, eta_};
  for (int i = 0; i < labels.size(); ++i) {
    if (i > 0) layout->addWidget(new QLabel(QStringLiteral("·"), this));
    layout->addWidget(labels[i]);
  }
  memory_->setToolTip(tr("Bytes the engine holds now (and the run's peak)"));
  skipped_->setToolTip(tr("Steps skipped because a gradient was not finite"));
  eta_->setToolTip(tr("Estimated time to the end of the run"));
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(180);
  progress_->setTextVisible(false);
  layout->addStretch(1);
  layout->addWidget(progress_);
  memory_->setText(tr("memory –"));
  run_->setText(tr("no run"));
  step_->setText(tr("step –"));
  skipped_->setText(tr("skipped 0"));
  eta_->setText(tr("ETA –"));
  progress_->setValue(0);
}

void RunStatusBar::setDevice(const QString& description) {
  device_->setText(description);
}

void RunStatusBar::runPreparing() {
  pending_.reset();  // a step of the last run must not land on this one
  throttle_->stop();
  shown_.invalidate();
  run_->setText(tr("preparing…"));
  step_->setText(tr("step –"));
  skipped_->setText(tr("skipped 0"));
  eta_->setText(tr("ETA –"));
  progress_->setRange(0, 0);  // busy until the first step
}

void RunStatusBar::runStarted(qint64 runId, const RunStart& start) {
  totalSteps_ = start.total_steps;
  firstStep_ = start.first_step;
  run_->setText(tr("run %1").arg(runId));
  step_->setText(tr("step %1/%2").arg(start.first_step - 1).arg(start.total_steps));
  device_->setText(QString::fromStdString(start.device));
  device_->setToolTip(tr("Backend %1").arg(QString::fromStdString(start.backend)));
  progress_->setRange(0, 1000);
  progress_->setValue(0);
}

void RunStatusBar::stepsRecorded(const StepMetrics& last) {
  constexpr qint64 kMinUpdateMs = 200;
  const qint64 since = shown_.isValid() ? shown_.elapsed() : kMinUpdateMs;
  if (since < kMinUpdateMs) {
    pending_ = last;
    if (!throttle_->isActive()) throttle_->start(int(kMinUpdateMs - since));
    return;
  }
  showStep(last);
}

void RunStatusBar::showStep(const StepMetrics& last) {
  pending_.reset();
  throttle_->stop();
  shown_.start();
  memory_->setText(
      tr("memory %1 (peak %2)")
          .arg(formatBytes(double(last.memory_in_use)), formatBytes(double(last.memory_peak))));
  step_->setText(tr("step %1/%2").arg(last.step).arg(totalSteps_));
  skipped_->setText(tr("skipped %1").arg(last.skipped_total));
  const double done = double(last.step - firstStep_ + 1);
  const double left = double(totalSteps_ - last.step);
  if (done > 0 && last.wall_time_s > 0)
    eta_->setText(tr("ETA %1").arg(formatDuration(left * last.wall_time_s / done)));
  if (totalSteps_ > 0) progress_->setValue(int(1000.0 * double(last.step) / double(totalSteps_)));
}

void RunStatusBar::runEnded(const RunSummary& summary) {
  if (pending_) showStep(*pending_);
  progress_->setRange(0, 1000);
  step_->setText(tr("step %1/%2").arg(summary.steps).arg(totalSteps_));
  skipped_->setText(tr("skipped %1").arg(summary.skipped_steps));
  memory_->setText(tr("memory peak %1").arg(formatBytes(double(summary.peak_memory))));
  switch (summary.outcome) {
    case RunOutcome::Finished:
      eta_->setText(tr("done in %1").arg(formatDuration(summary.wall_time_s)));
      progress_->setValue(1000);
      break;
    case RunOutcome::Stopped:
      eta_->setText(tr("stopped"));
      break;
    case RunOutcome::Failed:
      eta_->setText(tr("failed"));
      break;
  }
}

void RunStatusBar::runFailed() {
  pending_.reset();
  throttle_->stop();
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  if (run_->text() == tr("preparing…")) run_->setText(tr("no run"));
  eta_->setText(tr("failed"));
}

QString RunStatusBar::text() const {
  return QStringList{device_->text(), memory_->text(),  run_->text(),
                     step_->text(),   skipped_->text(), eta_->text()}
      .join(QStringLiteral(" · "));
}

}  // namespace mantissa::ui
