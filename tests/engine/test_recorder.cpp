// RunRecorder: a Trainer run kept in a RunStore (status, metrics in batches,
// checkpoints, failures with their message, resume from a checkpoint).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/recorder.hpp"
#include "test_store_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {
using store_test::sample_run;
using store_test::TempDir;
using testing::spirals_project;

// A batch interval longer than any test: every commit comes from the recorder's
// own calls (create, checkpoint, summary, status), none from a step.
StoreOptions no_timed_commits() {
  StoreOptions o;
  o.batch_interval = std::chrono::hours(1);
  return o;
}

// Asks for a stop once `at` steps are done.
struct StopAt : MetricsSink {
  TrainControl& control;
  std::int64_t at;
  StopAt(TrainControl& c, std::int64_t s) : control(c), at(s) {}
  void step_recorded(const StepMetrics& m) override {
    if (m.step == at) control.request_stop();
  }
};

// Fails the run at step `at`, like a step that runs out of memory.
struct FailAt : MetricsSink {
  std::int64_t at;
  explicit FailAt(std::int64_t s) : at(s) {}
  void step_recorded(const StepMetrics& m) override {
    if (m.step == at) throw OutOfMemoryError("out of memory at step " + std::to_string(at));
  }
};

RunSummary train(Trainer& trainer, RunRecorder& recorder, MetricsSink* before = nullptr,
                 TrainControl* control = nullptr) {
  MetricsFanout fanout;
  if (before) fanout.add(before);
  fanout.add(&recorder);
  TrainControl own;
  return trainer.run(fanout, control ? *control : own);
}

TEST(RunRecorder, RecordsAFinishedRunInBatches) {
  TempDir dir;
  RunStore store(dir / "runs.db", no_timed_commits());
  auto backend = create_backend("cpu");
  Project p = spirals_project(Policy::MixedFloat16, 20);
  p.training.checkpoint_each_epoch = false;  // only the checkpoints asked for
  p.training.checkpoint_every = 8;
  Trainer trainer(p, *backend);

  RunRecorder recorder(store, sample_run("tiny", "tiny-spirals", "mixed_float16"));
  ASSERT_EQ(store.require_run(recorder.run_id()).status, RunStatus::Running);
  const std::int64_t commits_before = store.commit_count();
  const RunSummary s = train(trainer, recorder);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;

  const RunRecord r = store.require_run(recorder.run_id());
  EXPECT_EQ(r.status, RunStatus::Finished);
  EXPECT_TRUE(r.error.empty());
  EXPECT_FALSE(r.finished_at.empty());
  EXPECT_EQ(r.steps_recorded, 20);
  EXPECT_EQ(r.last_step, 20);
  const auto steps = store.step_metrics(r.id);
  ASSERT_EQ(steps.size(), 20u);
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].step, std::int64_t(i) + 1);
  // 204 training samples in batches of 32: 7 steps per epoch, epochs end at 7, 14 and 20.
  const auto epochs = store.epoch_metrics(r.id);
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs.back().step, 20);

  // Checkpoints every 8 steps and at the end.
  const auto checkpoints = store.checkpoints(r.id);
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_EQ(checkpoints[0].step, 20);
  EXPECT_EQ(checkpoints[1].step, 16);
  EXPECT_EQ(checkpoints[2].step, 8);
  EXPECT_GT(checkpoints[0].bytes, 0);

  // Two checkpoints mid-run (each flushes, then inserts), the final one, the
  // summary and the status: a handful of commits for 20 steps and 3 epochs.
  EXPECT_LE(store.commit_count() - commits_before, 8);

  const auto summary = nlohmann::json::parse(r.summary_json);
  EXPECT_EQ(summary["steps"], 20);
  EXPECT_EQ(summary["skipped_steps"], s.skipped_steps);
  EXPECT_DOUBLE_EQ(summary["final_loss_scale"].get<double>(), s.final_loss_scale);
  EXPECT_DOUBLE_EQ(summary["final_val_accuracy"].get<double>(), s.final_val_accuracy);
  EXPECT_GT(summary["peak_memory"].get<std::int64_t>(), 0);
  EXPECT_GT(summary["wall_time_s"].get<double>(), 0);
}

TEST(RunRecorder, StoppedRunKeepsItsCheckpoint) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  auto backend = create_backend("cpu");
  Trainer trainer(spirals_project(Policy::Float32, 30), *backend);
  RunRecorder recorder(store, sample_run());
  TrainControl control;
  StopAt stop(control, 12);
  const RunSummary s = train(trainer, recorder, &stop, &control);
  ASSERT_EQ(s.outcome, RunOutcome::Stopped);

  // On the CPU step 12's metrics arrive before step 13 is enqueued: the run
  // stops at 12 and keeps a checkpoint there.
  const RunRecord r = store.require_run(recorder.run_id());
  EXPECT_EQ(r.status, RunStatus::Stopped);
  EXPECT_EQ(r.last_step, 12);
  const auto latest = store.latest_checkpoint(r.id);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 12);
  EXPECT_FALSE(latest->data.empty());
}

TEST(RunRecorder, FailureDuringTrainingIsStoredWithItsMessage) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  auto backend = create_backend("cpu");
  Trainer trainer(spirals_project(Policy::Float32, 30), *backend);
  RunRecorder recorder(store, sample_run());
  FailAt fail(5);
  const RunSummary s = train(trainer, recorder, &fail);
  ASSERT_EQ(s.outcome, RunOutcome::Failed);

  const RunRecord r = store.require_run(recorder.run_id());
  EXPECT_EQ(r.status, RunStatus::Failed);
  EXPECT_EQ(r.error, "out of memory at step 5");
  EXPECT_EQ(r.last_step, 4);  // the failing step never reached the recorder
  const auto events = store.events(r.id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, EventKind::Error);
  EXPECT_EQ(events.back().message, "out of memory at step 5");
}

TEST(RunRecorder, FailureBeforeTrainingIsStored) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  std::int64_t id = 0;
  {
    RunRecorder recorder(store, sample_run());
    id = recorder.run_id();
    recorder.fail("data.csv: row 4 has 2 fields, expected 3");
  }
  RunStore reader(dir / "runs.db");  // another connection sees it committed
  const RunRecord r = reader.require_run(id);
  EXPECT_EQ(r.status, RunStatus::Failed);
  EXPECT_EQ(r.error, "data.csv: row 4 has 2 fields, expected 3");
  EXPECT_EQ(r.steps_recorded, 0);
  EXPECT_FALSE(r.summary_json.empty());
}

// A run that died after its checkpoint at step 8 had recorded steps up to 10;
// resuming drops those, and the continuation matches an uninterrupted run.
TEST(RunRecorder, ResumeReplacesWhatFollowedTheCheckpoint) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  Project p = spirals_project(Policy::MixedFloat16, 20);
  p.training.checkpoint_every = 8;

  std::int64_t id = 0;
  {
    auto backend = create_backend("cpu");
    Trainer trainer(p, *backend);
    RunRecorder recorder(store, sample_run());
    id = recorder.run_id();
    FailAt fail(11);
    ASSERT_EQ(train(trainer, recorder, &fail).outcome, RunOutcome::Failed);
  }
  ASSERT_EQ(store.require_run(id).last_step, 10);
  const auto checkpoint = store.latest_checkpoint(id);
  ASSERT_TRUE(checkpoint.has_value());
  ASSERT_EQ(checkpoint->step, 8);

  auto backend = create_backend("cpu");
  TrainOptions options;
  options.resume_from = checkpoint->data;
  Trainer resumed(p, *backend, options);
  RunRecorder recorder(store, id, checkpoint->step);
  EXPECT_EQ(store.require_run(id).status, RunStatus::Running);
  EXPECT_EQ(store.require_run(id).last_step, 8);  // steps 9 and 10 are gone
  const RunSummary s = train(resumed, recorder);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;

  const RunRecord r = store.require_run(id);
  EXPECT_EQ(r.status, RunStatus::Finished);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.steps_recorded, 20);
  for (const RunEvent& e : store.events(id)) EXPECT_NE(e.kind, EventKind::Error) << e.message;

  // The same 20 steps uninterrupted.
  auto reference_backend = create_backend("cpu");
  Trainer reference(p, *reference_backend);
  RunRecorder reference_recorder(store, sample_run("reference"));
  ASSERT_EQ(train(reference, reference_recorder).outcome, RunOutcome::Finished);
  const auto a = store.step_metrics(id);
  const auto b = store.step_metrics(reference_recorder.run_id());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_EQ(a[i].loss, b[i].loss) << "step " << a[i].step;
    EXPECT_EQ(a[i].loss_scale, b[i].loss_scale) << "step " << a[i].step;
  }
}

TEST(RunRecorder, ResumingAnUnknownRunThrows) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  EXPECT_THROW(RunRecorder(store, 42, 10), InputError);
}

}  // namespace
}  // namespace mantissa
