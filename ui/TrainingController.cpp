#include "TrainingController.hpp"

#include <exception>
#include <utility>

#include "RunChannel.hpp"
#include "RunRecordFields.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/resume.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

namespace {

constexpr int kDrainIntervalMs = 33;  // ~30 Hz

// Steps at the start of a run left out of its samples/s (the command line's
// choice too, so that both report the same figure).
constexpr std::int64_t kWarmupStepsExcluded = 3;

// Worker thread body. Everything here runs off the GUI thread: backend
// creation, dataset loading, the store and the training loop. Results leave
// only through the channel. Like the command line: a device that cannot be
// used fails before a run exists; a project that cannot be trained is kept as
// a failed run.
void trainOnWorker(std::shared_ptr<RunChannel> channel, std::shared_ptr<TrainControl> control,
                   Project project, std::filesystem::path database,
                   std::optional<std::filesystem::path> initWeights) {
  try {
    std::unique_ptr<Backend> backend =
        create_backend(project.training.backend, {.allow_tf32 = project.training.allow_tf32});
    RunStore store(database);
    NewRun run = newRunFor(project);
    run.backend = backend->name();
    run.device = backend->description();
    RunRecorder recorder(store, run);
    channel->setRunId(recorder.run_id());
    std::unique_ptr<Trainer> trainer;
    try {
      TrainOptions options;
      options.warmup_steps_excluded = kWarmupStepsExcluded;
      options.init_weights = initWeights;
      trainer = std::make_unique<Trainer>(project, *backend, options);
    } catch (const std::exception& e) {
      const std::string message = dynamic_cast<const Error*>(&e)
                                      ? std::string(e.what())
                                      : std::string("unexpected error: ") + e.what();
      recorder.fail(message);
      channel->fail(message);
      channel->markThreadDone();
      return;
    }
    MetricsFanout fanout;
    fanout.add(&recorder);  // first: the store has the end before the GUI hears of it
    fanout.add(channel.get());
    const RunSummary summary = trainer->run(fanout, *control);
    channel->finish(summary);
    if (summary.outcome == RunOutcome::Failed) channel->fail(summary.error);
  } catch (const std::exception& e) {
    channel->fail(e.what());
  }
  channel->markThreadDone();
}

// Worker body of a resumed run: like trainOnWorker, but the run exists, and a
// failure before training leaves it as it was (still resumable).
void resumeOnWorker(std::shared_ptr<RunChannel> channel, std::shared_ptr<TrainControl> control,
                    std::int64_t runId, std::filesystem::path database) {
  try {
    RunStore store(database);
    ResumePlan plan = plan_resume(store, runId);
    std::unique_ptr<Backend> backend = create_backend(
        plan.backend, {.allow_tf32 = plan.project.training.allow_tf32});
    TrainOptions options;
    options.warmup_steps_excluded = kWarmupStepsExcluded;
    if (!plan.checkpoint.empty()) options.resume_from = std::move(plan.checkpoint);
    Trainer trainer(plan.project, *backend, options);
    RunRecorder recorder(store, runId, plan.from_step);
    channel->setRunId(runId);
    for (const std::string& line : plan.skipped) {
      channel->event_recorded({plan.from_step, EventKind::Warning, line, 0, 0, "", 0});
    }
    MetricsFanout fanout;
    fanout.add(&recorder);
    fanout.add(channel.get());
    const RunSummary summary = trainer.run(fanout, *control);
    channel->finish(summary);
    if (summary.outcome == RunOutcome::Failed) channel->fail(summary.error);
  } catch (const std::exception& e) {
    channel->fail(e.what());
  }
  channel->markThreadDone();
}

}  // namespace

struct TrainingController::Pending {
  Project project;
  std::optional<qint64> resumeRunId;
};

TrainingController::TrainingController(std::filesystem::path databasePath, QObject* parent)
    : QObject(parent), databasePath_(std::move(databasePath)) {
  timer_.setInterval(kDrainIntervalMs);
  connect(&timer_, &QTimer::timeout, this, &TrainingController::drain);
}

TrainingController::~TrainingController() {
  if (worker_.joinable()) {
    control_->request_stop();
    worker_.join();
  }
}

quint64 TrainingController::start(const Project& project, Policy policy, const QString& device) {
  ++generation_;
  runId_ = 0;
  Project p = project;
  p.training.policy = policy;
  p.training.backend = device.toStdString();
  channel_.reset();  // whatever the old run still reports is dropped
  if (worker_.joinable()) {
    // One worker at a time: the old run stops at its next step boundary and
    // the new one starts from drain() once the old thread has ended.
    control_->request_stop();
    control_->resume();
    pending_ = std::make_unique<Pending>(Pending{std::move(p)});
    setState(State::Preparing);
    timer_.start();
    return generation_;
  }
  launch(p);
  return generation_;
}

quint64 TrainingController::resumeRun(qint64 runId) {
  ++generation_;
  runId_ = runId;
  channel_.reset();
  if (worker_.joinable()) {
    control_->request_stop();
    control_->resume();
    pending_ = std::make_unique<Pending>(Pending{Project{}, runId});
    setState(State::Preparing);
    timer_.start();
    return generation_;
  }
  launch(Project{}, runId);
  return generation_;
}

void TrainingController::launch(const Project& project, std::optional<qint64> resumeRunId) {
  channel_ = std::make_shared<RunChannel>(generation_);
  workerChannel_ = channel_;
  control_ = std::make_shared<TrainControl>();
  started_ = false;
  setState(State::Preparing);
  if (resumeRunId) {
    worker_ = std::thread(resumeOnWorker, channel_, control_, *resumeRunId, databasePath_);
  } else {
    worker_ = std::thread(trainOnWorker, channel_, control_, project, databasePath_, initWeights_);
  }
  timer_.start();
}

void TrainingController::pause() {
  if (!control_ || (state_ != State::Running && state_ != State::Preparing)) return;
  control_->pause();
  setState(State::Paused);
}

void TrainingController::resume() {
  if (!control_ || state_ != State::Paused) return;
  control_->resume();
  setState(started_ ? State::Running : State::Preparing);
}

void TrainingController::stop() {
  if (!control_ || state_ == State::Idle || state_ == State::Stopping) return;
  pending_.reset();
  control_->request_stop();
  setState(State::Stopping);
}

void TrainingController::drain() {
  // Read the done flag before taking the batch: everything the thread pushed
  // before it ended is then in this batch.
  const bool threadDone = workerChannel_ && workerChannel_->threadDone();
  const quint64 gen = generation_;
  if (channel_) {
    RunBatch b = channel_->take();
    if (b.runId) runId_ = b.runId;
    if (b.started) {
      started_ = true;
      if (state_ == State::Preparing) setState(State::Running);
      emit runStarted(gen, b.runId, *b.started);
      if (gen != generation_) return;
    }
    if (!b.steps.empty()) {
      emit stepsRecorded(gen, QVector<StepMetrics>(b.steps.begin(), b.steps.end()));
      if (gen != generation_) return;
    }
    if (!b.epochs.empty()) {
      emit epochsRecorded(gen, QVector<EpochMetrics>(b.epochs.begin(), b.epochs.end()));
      if (gen != generation_) return;
    }
    if (!b.events.empty()) {
      emit eventsRecorded(gen, QVector<RunEvent>(b.events.begin(), b.events.end()));
      if (gen != generation_) return;
    }
    if (b.failure) {
      emit runFailed(gen, QString::fromStdString(*b.failure));
      if (gen != generation_) return;
    }
    if (b.finished) {
      emit runFinished(gen, b.runId, *b.finished);
      if (gen != generation_) return;
    }
  }
  if (threadDone) reapThread();
}

void TrainingController::reapThread() {
  worker_.join();
  workerChannel_.reset();
  if (pending_) {
    std::unique_ptr<Pending> next = std::move(pending_);
    launch(next->project, next->resumeRunId);
    return;
  }
  channel_.reset();
  control_.reset();
  timer_.stop();
  setState(State::Idle);
}

void TrainingController::setState(State s) {
  if (s == state_) return;
  state_ = s;
  emit stateChanged(s);
}

}  // namespace mantissa::ui
