#include "services/TrainingController.hpp"

#include <exception>
#include <functional>
#include <utility>

#include <QCoreApplication>
#include <QFileInfo>
#include <fstream>

#include "RunChannel.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"

namespace mantissa::ui {

namespace {

constexpr int kDrainIntervalMs = 33;  // ~30 Hz

// The ranks' copy of a data-parallel run's project, in the temporary folder
// (make_process_temp: named after the studio's process).
const std::string kRanksFilePrefix = "mantissa-ranks-";

// Notes whether the trainer began stepping.
struct StartWatch : MetricsSink {
  bool started = false;
  void run_started(const RunStart&) override { started = true; }
};

// The command line the other ranks of a data-parallel run are: $MANTISSA_CLI,
// else `mantissa` beside the studio (installed) or in the build tree's app/.
std::string commandLineProgram() {
  if (const char* env = std::getenv("MANTISSA_CLI"); env && *env) return env;
  const QString dir = QCoreApplication::applicationDirPath();
  for (const QString& candidate : {dir + "/mantissa", dir + "/../app/mantissa", dir + "/../../app/mantissa"})
    if (QFileInfo(candidate).isExecutable()) return QFileInfo(candidate).canonicalFilePath().toStdString();
  return "mantissa";
}

// A device of the form "cpu*4" (4 processes of this machine) or "cuda*0,1"
// (one process per GPU): rank 0 is this trainer, the others are the command
// line's `train` on the same project, written to a file they all read
// (dataset paths made absolute first, so that every rank's project is the
// same; the ranks compare them before step 1).
std::unique_ptr<LocalRankGroup> startRanks(TrainRequest& request, std::filesystem::path& file) {
  const std::string device = request.backend;
  const auto star = device.find('*');
  if (star == std::string::npos) return nullptr;
  const std::string kind = device.substr(0, star), list = device.substr(star + 1);
  std::vector<std::string> backends;
  int processes = 0;
  if (kind == "cpu") {
    processes = std::stoi(list);
  } else {
    std::size_t at = 0;
    while (at <= list.size()) {
      const std::size_t comma = std::min(list.find(',', at), list.size());
      backends.push_back(kind + ":" + list.substr(at, comma - at));
      at = comma + 1;
    }
    processes = int(backends.size());
  }
  request.backend = backends.empty() ? kind : backends.front();
  Project& p = request.project;
  p.training.backend = request.backend;
  const std::filesystem::path base = p.file.empty() ? std::filesystem::current_path() : p.file.parent_path();
  for (auto* path : {&p.dataset.path, &p.dataset.images, &p.dataset.labels})
    if (!path->empty() && path->is_relative()) *path = (base / *path).lexically_normal();
  file = make_process_temp(kRanksFilePrefix, TempKind::File, ".json");
  std::ofstream(file) << project_to_json(p);
  p = parse_project(project_to_json(p), file);
  // The run's snapshot is rank 0's project, as the command line records it:
  // "cpu", not the picker's "cpu*2", which no later reader (sample, evaluate,
  // export, resume) would accept.
  if (!request.resume_run)
    request.new_run.project_json = new_run_record(p, request.new_run.name).project_json;
  const int threads = threads_per_rank(processes);
  request.threads = threads;
  use_threads(threads);  // this worker thread's, before its backend is made
  auto group = std::make_unique<LocalRankGroup>(
      commandLineProgram(), std::vector<std::string>{"mantissa", "train", file.string(), "--no-store"},
      processes, backends, threads, std::chrono::seconds(60));
  request.options.collective = &group->collective();
  return group;
}

// Worker thread body. Everything here runs off the GUI thread: backend
// creation, dataset loading, the store and the training loop. Results leave
// only through the channel. Like the command line (the same train job): a
// device that cannot be used fails before a run exists; a project that
// cannot be trained is kept as a failed run; a resumed run that cannot start
// is left as it was (still resumable). `prepare` builds the request.
void runOnWorker(std::shared_ptr<RunChannel> channel, std::shared_ptr<TrainControl> control,
                 std::function<TrainRequest()> prepare) {
  try {
    TrainRequest request = prepare();
    request.options.warmup_steps_excluded = kWarmupStepsExcluded;
    std::filesystem::path projectFile;  // the ranks' copy of the project, removed after
    struct Remove {
      std::filesystem::path& path;
      ~Remove() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove(path, ec);
      }
    } remove{projectFile};
    std::unique_ptr<LocalRankGroup> ranks = startRanks(request, projectFile);
    std::unique_ptr<Backend> backend =
        create_backend(request.backend, {.allow_tf32 = request.project.training.allow_tf32});
    StartWatch watch;
    MetricsFanout sinks;
    sinks.add(&watch);
    sinks.add(channel.get());
    std::int64_t runId = 0;
    RunSummary summary = run_training(request, *backend, sinks, *control, [&](std::int64_t id) {
      runId = id;
      channel->setRunId(id);
    });
    // The other ranks end with rank 0; one that died is named first.
    if (ranks) {
      const std::string dead = ranks->finish(std::chrono::seconds(3));
      if (!dead.empty() && summary.outcome == RunOutcome::Failed) {
        summary.error = dead + "; " + summary.error;
        if (runId && request.database)
          RunStore(*request.database).set_status(runId, RunStatus::Failed, summary.error);
      }
    }
    // A run whose trainer could not start is reported as failed only.
    if (watch.started) channel->finish(summary);
    if (summary.outcome == RunOutcome::Failed) channel->fail(summary.error);
  } catch (const std::exception& e) {
    channel->fail(e.what());
  }
  channel->markThreadDone();
}

TrainRequest newRunRequest(Project project, std::filesystem::path database,
                           std::optional<std::filesystem::path> initWeights, RunLink link) {
  TrainRequest request;
  request.backend = project.training.backend;
  request.database = std::move(database);
  request.new_run = new_run_record(
      project, link.name.value_or(project.name + " " +
                                  std::string(policy_name(project.training.policy))));
  request.new_run.group_name = std::move(link.group);
  request.new_run.parent_run_id = link.parent;
  request.new_run.fix_rule = link.fix_rule;
  request.new_run.fix_title = link.fix_title;
  if (link.notes) request.new_run.notes = *link.notes;
  request.options.init_weights = std::move(initWeights);
  request.options.resume_from = std::move(link.resume_from);
  request.options.scaler_state = link.scaler_state;
  request.project = std::move(project);
  return request;
}

TrainRequest resumeRequest(std::int64_t runId, const std::filesystem::path& database) {
  TrainRequest request;
  {
    RunStore store(database);  // closed before the job opens its own connection
    request = resume_request(store, runId);
  }
  request.database = database;
  return request;
}

}  // namespace

struct TrainingController::Pending {
  Project project;
  std::optional<qint64> resumeRunId;
  RunLink link;
};

TrainingController::TrainingController(std::filesystem::path databasePath, QObject* parent)
    : QObject(parent), databasePath_(std::move(databasePath)) {
  remove_orphaned_temps(kRanksFilePrefix, ".json");  // of a studio killed during a run
  timer_.setInterval(kDrainIntervalMs);
  connect(&timer_, &QTimer::timeout, this, &TrainingController::drain);
}

TrainingController::~TrainingController() {
  if (worker_.joinable()) {
    control_->request_stop();
    worker_.join();
  }
}

quint64 TrainingController::start(const Project& project, Policy policy, const QString& device,
                                  const RunLink& link) {
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
    pending_ = std::make_unique<Pending>(Pending{std::move(p), std::nullopt, link});
    setState(State::Preparing);
    timer_.start();
    return generation_;
  }
  launch(p, std::nullopt, link);
  return generation_;
}

quint64 TrainingController::resumeRun(qint64 runId) {
  ++generation_;
  runId_ = runId;
  channel_.reset();
  if (worker_.joinable()) {
    control_->request_stop();
    control_->resume();
    pending_ = std::make_unique<Pending>(Pending{Project{}, runId, {}});
    setState(State::Preparing);
    timer_.start();
    return generation_;
  }
  launch(Project{}, runId);
  return generation_;
}

void TrainingController::launch(const Project& project, std::optional<qint64> resumeRunId,
                                const RunLink& link) {
  channel_ = std::make_shared<RunChannel>(generation_);
  workerChannel_ = channel_;
  control_ = std::make_shared<TrainControl>();
  started_ = false;
  setState(State::Preparing);
  if (resumeRunId) {
    worker_ = std::thread(runOnWorker, channel_, control_,
                          [runId = *resumeRunId, db = databasePath_] { return resumeRequest(runId, db); });
  } else {
    worker_ = std::thread(runOnWorker, channel_, control_,
                          [project, db = databasePath_, init = initWeights_, link] {
                            return newRunRequest(project, db, init, link);
                          });
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
    for (const Provenance& p : b.provenance) {
      emit provenanceRecorded(gen, p);
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
    launch(next->project, next->resumeRunId, next->link);
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
