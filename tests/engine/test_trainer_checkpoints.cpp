// Safety checkpoints (by wall time and at epoch ends, on by default), their
// checksum, what a finished run keeps, and step timing that leaves
// evaluation and checkpoint writing out of every step.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "engine/test_data_util.hpp"
#include "engine/test_store_util.hpp"
#include "engine/train_fixtures.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/resume.hpp"
#include "mantissa/store.hpp"
#include "mantissa/weights_io.hpp"
#include "train/checkpoint.hpp"

namespace mantissa {
namespace {

using namespace std::chrono_literals;
using testing::RecordingSink;
using testing::run_on_cpu;
using testing::spirals_project;

// 205 training samples in batches of 32: 7 steps per epoch, the last of 13.
constexpr std::int64_t kStepsPerEpoch = 7;

// Runs a project with every epoch-end checkpoint written, however cheap the
// epochs (TrainOptions::safety_checkpoint_share off).
RunSummary run_with_every_epoch_checkpoint(const Project& p, RecordingSink& sink) {
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend, {.safety_checkpoint_share = 0});
  TrainControl control;
  return trainer.run(sink, control);
}

TEST(SafetyCheckpoints, ByDefaultEveryEpochEndAndTheLastStep) {
  const Project p = spirals_project(Policy::MixedFloat16, 20);
  ASSERT_EQ(p.training.checkpoint_seconds, 60.0);
  ASSERT_TRUE(p.training.checkpoint_each_epoch);
  RecordingSink sink;
  run_with_every_epoch_checkpoint(p, sink);
  ASSERT_EQ(sink.checkpoints.size(), 3u);
  EXPECT_EQ(sink.checkpoints[0].first, kStepsPerEpoch);
  EXPECT_EQ(sink.checkpoints[1].first, 2 * kStepsPerEpoch);
  EXPECT_EQ(sink.checkpoints[2].first, 20);
  EXPECT_EQ(sink.checkpoint_kinds,
            (std::vector{CheckpointKind::Safety, CheckpointKind::Safety, CheckpointKind::Kept}));
}

TEST(SafetyCheckpoints, ByWallTimeWhenItHasPassed) {
  Project p = spirals_project(Policy::Float32, 12);
  p.training.checkpoint_each_epoch = false;
  p.training.checkpoint_seconds = 1e-9;  // due at every step
  RecordingSink sink;
  run_on_cpu(p, sink);
  ASSERT_EQ(sink.checkpoints.size(), 12u);
  for (std::size_t i = 0; i < sink.checkpoints.size(); ++i) {
    EXPECT_EQ(sink.checkpoints[i].first, std::int64_t(i) + 1);
  }
}

// Epochs of a millisecond are not each followed by a checkpoint that takes
// as long: the share of time spent writing them stays small.
TEST(SafetyCheckpoints, CheapEpochsAreNotEachCheckpointed) {
  Project p = spirals_project(Policy::Float32, 7 * 300);
  struct SlowCheckpoints : RecordingSink {
    void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                            const std::vector<std::uint8_t>& b) override {
      std::this_thread::sleep_for(20ms);  // a slow disk
      RecordingSink::checkpoint_written(step, epoch, kind, b);
    }
  } sink;
  const RunSummary s = run_on_cpu(p, sink);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  // 300 epochs; each safety checkpoint needs 20 x 20 ms of run behind it.
  const auto safety = std::count(sink.checkpoint_kinds.begin(), sink.checkpoint_kinds.end(),
                                 CheckpointKind::Safety);
  EXPECT_GE(safety, 1);  // the first epoch's
  EXPECT_LE(safety, 1 + std::int64_t(s.wall_time_s / 0.4)) << s.wall_time_s << " s";
  EXPECT_EQ(sink.checkpoint_kinds.back(), CheckpointKind::Kept);  // the last step's
}

// Weights from a file are not in the project, so a run that starts from them
// is checkpointed before its first step.
TEST(SafetyCheckpoints, ARunFromAWeightsFileIsCheckpointedAtStepZero) {
  store_test::TempDir dir;
  const Project p = spirals_project(Policy::Float32, 5);
  const auto weights = dir / "start.safetensors";
  {
    auto backend = create_backend("cpu");
    Trainer t(p, *backend);
    write_safetensors(weights, model_state(t.graph(), DType::F32), {});
  }
  auto backend = create_backend("cpu");
  TrainOptions o;
  o.init_weights = weights;
  Trainer trainer(p, *backend, o);
  RecordingSink sink;
  TrainControl control;
  trainer.run(sink, control);
  ASSERT_FALSE(sink.checkpoints.empty());
  EXPECT_EQ(sink.checkpoints.front().first, 0);
  EXPECT_EQ(sink.checkpoint_kinds.front(), CheckpointKind::Safety);
}

TEST(SafetyCheckpoints, OffWhenBothAreOff) {
  Project p = spirals_project(Policy::Float32, 20);
  p.training.checkpoint_each_epoch = false;
  p.training.checkpoint_seconds = 0;
  RecordingSink sink;
  run_on_cpu(p, sink);
  ASSERT_EQ(sink.checkpoints.size(), 1u);
  EXPECT_EQ(sink.checkpoints[0].first, 20);
}

// A checkpoint knows the data it was trained on: a CSV whose values changed
// (same rows, same columns) is refused on resume, naming the dataset, where
// it used to go on silently with other data; the same file resumes.
TEST(SafetyCheckpoints, ResumingOnChangedDataIsRefused) {
  test_data::TempDir dir;
  // (Features are standardised: the change must be more than a scale.)
  const auto csv = [&](int power) {
    std::string text = "x,y,label\n";
    for (int i = 0; i < 64; ++i)
      text += std::to_string(std::pow(0.1 * i, power)) + "," + std::to_string(0.5 - 0.01 * i) +
              "," + std::to_string(i % 2) + "\n";
    test_data::write_text(dir / "good.csv", text);
  };
  csv(1);
  Project p = spirals_project(Policy::Float32, 6, 8);
  p.dataset = DatasetSpec{};
  p.dataset.kind = "csv";
  p.dataset.path = dir / "good.csv";
  auto backend = create_backend("cpu");
  const testing::TrainedRun first = testing::train_on(*backend, p);
  ASSERT_FALSE(first.sink.checkpoints.empty());
  TrainOptions o;
  o.resume_from = first.sink.checkpoints.back().second;
  p.training.steps = 8;
  EXPECT_NO_THROW(Trainer(p, *backend, o));
  csv(2);
  test_data::expect_input_error([&] { Trainer(p, *backend, o); },
                                {"dataset 'good.csv'", "is not the data this run was trained on",
                                 "--init-weights"});
}

// Resuming from any safety checkpoint, mid-epoch or at an epoch end, gives
// the bits of the uninterrupted run.
TEST(SafetyCheckpoints, ResumingFromEachGivesTheUninterruptedRun) {
  Project p = spirals_project(Policy::MixedFloat16, 23);
  p.training.checkpoint_seconds = 1e-9;  // every step, whatever it costs
  p.training.optimizer.kind = OptimizerKind::AdamW;
  p.training.optimizer.lr = 0.01;
  auto backend = create_backend("cpu");
  const testing::TrainedRun full = testing::train_on(*backend, p);
  ASSERT_EQ(full.sink.checkpoints.size(), 23u);
  for (const std::size_t k : {std::size_t(2), std::size_t(6), std::size_t(13)}) {
    TrainOptions o;
    o.resume_from = full.sink.checkpoints[k].second;
    Trainer resumed(p, *backend, o);
    RecordingSink sink;
    TrainControl control;
    resumed.run(sink, control);
    ASSERT_EQ(sink.steps.front().step, std::int64_t(k) + 2);
    for (const StepMetrics& m : sink.steps) {
      const StepMetrics& ref = full.sink.steps[std::size_t(m.step - 1)];
      EXPECT_EQ(m.loss, ref.loss) << "step " << m.step << " resumed after " << k + 1;
      EXPECT_EQ(m.loss_scale, ref.loss_scale);
    }
    std::vector<std::vector<std::uint8_t>> masters;
    for (Param* param : resumed.graph().params()) masters.push_back(param->master.to_host_bytes());
    EXPECT_EQ(masters, full.masters) << "resumed after step " << k + 1;
  }
}

TEST(CheckpointFormat, AFlippedByteOrATruncationIsDetected) {
  RecordingSink sink;
  run_on_cpu(spirals_project(Policy::Float32, 3), sink);
  const std::vector<std::uint8_t> good = sink.checkpoints.back().second;
  EXPECT_NO_THROW(CheckpointReader{good});

  std::vector<std::uint8_t> flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;  // inside a tensor's bytes: only the checksum sees it
  try {
    CheckpointReader{flipped};
    FAIL() << "a flipped byte was not detected";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "checkpoint is truncated or corrupt (checksum mismatch)");
  }
  for (const std::size_t keep : {good.size() - 1, good.size() / 3, std::size_t(10)}) {
    const std::vector<std::uint8_t> cut(good.begin(), good.begin() + std::ptrdiff_t(keep));
    EXPECT_THROW(CheckpointReader{cut}, InputError) << keep << " bytes";
  }
}

// Found by tests/fuzz: a number entry of fewer than 8 bytes was read as 8.
TEST(CheckpointFormat, AScalarOfTheWrongSizeIsRefused) {
  CheckpointWriter w;
  w.add_int("step", 7);
  w.add_double("wall_time_s", 1.5);
  std::vector<std::uint8_t> blob = w.finish();
  blob.resize(blob.size() - 4);  // as version 1, without a checksum to keep
  blob[7] = '1';
  // "wall_time_s" is the last entry (sorted); its byte length is the 8 bytes
  // before its 8 bytes of value.
  const std::size_t length_at = blob.size() - 16;
  for (int i = 0; i < 8; ++i) blob[length_at + std::size_t(i)] = i == 0 ? 3 : 0;
  blob.resize(blob.size() - 5);  // keep 3 bytes of value
  const CheckpointReader r(blob);
  EXPECT_THROW((void)r.read_double("wall_time_s"), InputError);
  EXPECT_EQ(r.read_int("step"), 7);
}

TEST(CheckpointFormat, VersionOneWithoutChecksumIsStillRead) {
  RecordingSink sink;
  run_on_cpu(spirals_project(Policy::Float32, 3), sink);
  std::vector<std::uint8_t> v1 = sink.checkpoints.back().second;
  v1.resize(v1.size() - 4);  // no checksum
  v1[7] = '1';
  const CheckpointReader r(v1);
  EXPECT_EQ(r.read_int("step"), 3);
}

// The step state is stored field by field, counters as 64-bit integers: a
// run past 2^24 optimizer steps resumes with its exact count.
TEST(CheckpointFormat, StepStateRoundTripsWithCountersPastFloatPrecision) {
  StepState s{};
  s.scale = 3.0517578125e-05f;  // 2^-15
  s.optimizer_steps = (std::int64_t(1) << 24) + 3;
  s.steps_taken = (std::int64_t(1) << 33) + 1;
  s.growth_tracker = 1999;
  s.skipped_total = 70000001;
  s.consecutive_skips = 2;
  s.loss = 1.5f;  // a per-step output: not carried over
  CheckpointWriter w;
  w.add_step_state(s);
  const StepState back = CheckpointReader(w.finish()).read_step_state();
  StepState want = s;
  want.loss = 0;
  EXPECT_EQ(back, want);
}

// Checkpoints written before the typed step state hold one 16-value fp32
// vector under "state"; they still resume, counters converted and the steps
// taken (which dropout's masks follow) set from the run's step.
TEST(CheckpointFormat, ALegacyFp32StateVectorIsRead) {
  const std::unique_ptr<Backend> backend = create_backend("cpu");
  Backend& cpu = *backend;
  std::vector<float> v(16, 0.0f);
  v[0] = 8192;   // scale
  v[1] = 17;     // growth tracker
  v[2] = 4;      // skipped in total
  v[3] = 1;      // skipped in a row
  v[4] = 2;      // found_inf of the last step: not carried over
  v[5] = 1200;   // optimizer steps
  v[6] = 0.25f;  // loss
  CheckpointWriter w;
  w.add_tensor("state", Tensor::from_host(cpu, Shape{16}, DType::F32, v.data()));
  w.add_int("step", 1204);
  const StepState s = CheckpointReader(w.finish()).read_step_state();
  EXPECT_EQ(s.scale, 8192.0f);
  EXPECT_EQ(s.growth_tracker, 17);
  EXPECT_EQ(s.skipped_total, 4);
  EXPECT_EQ(s.consecutive_skips, 1);
  EXPECT_EQ(s.optimizer_steps, 1200);
  EXPECT_EQ(s.steps_taken, 1204);
  EXPECT_EQ(s.found_inf, 0.0f);
  EXPECT_EQ(s.loss, 0.0f);

  CheckpointWriter bad;
  bad.add_tensor("state", Tensor::from_host(cpu, Shape{4}, DType::F32, v.data()));
  bad.add_int("step", 3);
  EXPECT_THROW((void)CheckpointReader(bad.finish()).read_step_state(), InputError);
}

// What the store keeps: safety checkpoints while a run may still be resumed,
// only the kept ones once it finished, and the disk each run takes.
TEST(SafetyCheckpoints, AFinishedRunKeepsOnlyWhatExportNeeds) {
  store_test::TempDir dir;
  RunStore store(dir / "runs.db");
  Project p = spirals_project(Policy::Float32, 20);
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend, {.safety_checkpoint_share = 0});

  struct Watch : RunRecorder {
    using RunRecorder::RunRecorder;
    RunStore* store = nullptr;
    std::vector<std::size_t> held;  // checkpoints in the store after each one
    void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                            const std::vector<std::uint8_t>& blob) override {
      RunRecorder::checkpoint_written(step, epoch, kind, blob);
      held.push_back(store->checkpoints(run_id()).size());
    }
  } recorder(store, store_test::sample_run("safe", "tiny-spirals", "float32"));
  recorder.store = &store;
  TrainControl control;
  ASSERT_EQ(trainer.run(recorder, control).outcome, RunOutcome::Finished);
  EXPECT_EQ(recorder.held, (std::vector<std::size_t>{1, 2, 3}));

  const std::vector<CheckpointInfo> left = store.checkpoints(recorder.run_id());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].step, 20);
  EXPECT_EQ(left[0].kind, CheckpointKind::Kept);
  const RunRecord r = store.require_run(recorder.run_id());
  EXPECT_EQ(r.checkpoint_bytes, left[0].bytes);
  EXPECT_GT(r.metrics_bytes, 20 * 50);
  EXPECT_EQ(r.disk_bytes(), r.checkpoint_bytes + r.metrics_bytes);
}

TEST(SafetyCheckpoints, EachKindKeepsItsOwnNewestFew) {
  store_test::TempDir dir;
  RunStore store(dir / "runs.db", {.checkpoints_kept = 2});
  const std::int64_t id = store.create_run(store_test::sample_run());
  const std::vector<std::uint8_t> blob(16, 7);
  store.add_checkpoint(id, 10, 0, blob, CheckpointKind::Kept);
  for (std::int64_t s = 11; s <= 15; ++s) store.add_checkpoint(id, s, 0, blob, CheckpointKind::Safety);
  std::vector<std::int64_t> steps;
  for (const CheckpointInfo& c : store.checkpoints(id)) steps.push_back(c.step);
  EXPECT_EQ(steps, (std::vector<std::int64_t>{15, 14, 10}));
  store.set_status(id, RunStatus::Stopped);  // may be resumed: everything stays
  EXPECT_EQ(store.checkpoints(id).size(), 3u);
  store.set_status(id, RunStatus::Finished);
  ASSERT_EQ(store.checkpoints(id).size(), 1u);
  EXPECT_EQ(store.checkpoints(id)[0].step, 10);
}

// A damaged newest checkpoint is passed over with a message naming it, and
// the run resumes from the one before.
TEST(ResumePlan, PassesOverADamagedCheckpoint) {
  store_test::TempDir dir;
  RunStore store(dir / "runs.db");
  Project p = spirals_project(Policy::Float32, 14);
  p.training.checkpoint_every = 7;
  NewRun run = store_test::sample_run("damaged", "tiny-spirals", "float32");
  run.project_json = project_to_json(p);
  run.backend = "cpu";
  RunRecorder recorder(store, run);
  TrainControl control;
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend);
  struct StopAfter : RecordingSink {
    RunRecorder* recorder = nullptr;
    void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                            const std::vector<std::uint8_t>& blob) override {
      recorder->checkpoint_written(step, epoch, kind, blob);
    }
  } sink;
  sink.recorder = &recorder;
  trainer.run(sink, control);  // checkpoints at 7 and 14; the run is left "running"
  store.set_status(recorder.run_id(), RunStatus::Interrupted);

  std::vector<std::uint8_t> damaged = store.checkpoint(recorder.run_id(), 14)->data;
  damaged[damaged.size() / 2] ^= 0x01;
  store.add_checkpoint(recorder.run_id(), 14, 2, damaged);

  const ResumePlan plan = plan_resume(store, recorder.run_id());
  EXPECT_EQ(plan.from_step, 7);
  ASSERT_EQ(plan.skipped.size(), 1u);
  EXPECT_EQ(plan.skipped[0], "run 1: the checkpoint at step 14 is damaged (checkpoint is truncated "
                             "or corrupt (checksum mismatch)) and was passed over");
  EXPECT_EQ(plan.project.training.checkpoint_every, 7);

  // With every checkpoint damaged there is nothing to resume from, and the
  // message says why.
  std::vector<std::uint8_t> other = store.checkpoint(recorder.run_id(), 7)->data;
  other.resize(other.size() / 2);
  store.add_checkpoint(recorder.run_id(), 7, 1, other);
  try {
    plan_resume(store, recorder.run_id());
    FAIL() << "resumed without a usable checkpoint";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("run 1 has no usable checkpoint: the checkpoint at step 14"),
              std::string::npos)
        << e.what();
  }
  store.set_status(recorder.run_id(), RunStatus::Finished);
  EXPECT_THROW(plan_resume(store, recorder.run_id()), InputError);

  // Killed before its first checkpoint: it starts over from step 0.
  const std::int64_t early = store.create_run(run);
  store.set_status(early, RunStatus::Interrupted);
  const ResumePlan over = plan_resume(store, early);
  EXPECT_EQ(over.from_step, 0);
  EXPECT_TRUE(over.checkpoint.empty());
  EXPECT_EQ(over.skipped, std::vector<std::string>{"run 2 has no checkpoint yet: it starts over "
                                                   "from step 0"});
}

// A sink that takes its time over epochs and checkpoints, as a slow disk or
// a long validation would: none of it may show in any step's time.
struct SlowSink : RecordingSink {
  void epoch_recorded(const EpochMetrics& m) override {
    std::this_thread::sleep_for(120ms);
    RecordingSink::epoch_recorded(m);
  }
  void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                          const std::vector<std::uint8_t>& b) override {
    std::this_thread::sleep_for(100ms);
    RecordingSink::checkpoint_written(step, epoch, kind, b);
  }
};

TEST(StepTiming, EachStepIsTimedOverItsOwnIntervalOnly) {
  // Wide enough that even the short last batch of an epoch is some twenty
  // million flops: far more than the microseconds between two collections.
  Project p = parse_project(R"({
    "format": "mantissa-project", "version": 1, "name": "wide-spirals",
    "dataset": {"kind": "spirals", "samples": 256, "classes": 2, "noise": 0.05, "seed": 3},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [2]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 512}},
      {"id": "act1", "type": "Tanh", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["act1"], "params": {"out_features": 512}},
      {"id": "act2", "type": "Tanh", "inputs": ["fc2"]},
      {"id": "fc3", "type": "Linear", "inputs": ["act2"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc3"]}]},
    "training": {"policy": "float32", "batch_size": 32, "steps": 21, "seed": 5,
                 "optimizer": {"type": "sgd", "lr": 0.01}}
  })",
                            "wide-spirals.json");
  SlowSink sink;
  const RunSummary s = run_with_every_epoch_checkpoint(p, sink);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_EQ(sink.steps.size(), std::size_t(3 * kStepsPerEpoch));

  for (const StepMetrics& m : sink.steps) {
    EXPECT_GT(m.step_time_s, 0) << "step " << m.step;
    const double batch = m.step % kStepsPerEpoch == 0 ? 205 - 6 * 32 : 32;  // the epoch's last is short
    EXPECT_DOUBLE_EQ(m.samples_per_s, batch / m.step_time_s) << "step " << m.step;
  }
  // The steps that end an epoch (collected at once) are timed over their own
  // work, not as the microseconds between two collections.
  for (const std::int64_t step : {kStepsPerEpoch, 2 * kStepsPerEpoch, 3 * kStepsPerEpoch}) {
    EXPECT_GT(sink.steps[std::size_t(step - 1)].step_time_s, 100e-6) << "step " << step;
  }
  // Wall time moves on by the sink's pauses; the steps' times do not hold them.
  const double last_wall = sink.steps.back().wall_time_s;
  double step_sum = 0;
  for (const StepMetrics& m : sink.steps) step_sum += m.step_time_s;
  EXPECT_GT(last_wall - step_sum, 2 * 0.120 + 2 * 0.100 - 0.010);
  // Evaluation and checkpoint time are reported on their own.
  ASSERT_EQ(sink.epochs.size(), 3u);
  for (const EpochMetrics& e : sink.epochs) EXPECT_GT(e.eval_time_s, 0);
  EXPECT_GT(sink.epochs[1].checkpoint_time_s, 0.095);  // the checkpoint at the end of epoch 0
  EXPECT_GT(s.checkpoint_time_s, 3 * 0.095);           // two at epoch ends and the last
  EXPECT_GT(s.eval_time_s, 0);
}

}  // namespace
}  // namespace mantissa
