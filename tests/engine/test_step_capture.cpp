// Step capture and the late metrics read, through a backend that records ops
// the way CUDA graphs do (recording_backend.hpp): a captured run must give
// the bits an eager run gives, nothing in the recorded step may talk to the
// host, a capture that fails falls back to eager steps and says so, and the
// trainer collects step t's scalars after it has enqueued step t + 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/train_step.hpp"
#include "mantissa/trainer.hpp"
#include "recording_backend.hpp"
#include "train_fixtures.hpp"

namespace mantissa::testing {
namespace {

std::unique_ptr<RecordingBackend> recording_cpu() {
  return std::make_unique<RecordingBackend>(create_backend("cpu"));
}

// mixed_float16 from 2^24 with a short growth interval: the first steps
// overflow and skip, then the scale grows, all decided inside the recording.
Project moving_scale_project(std::int64_t steps) {
  Project p = spirals_project(Policy::MixedFloat16, steps);
  p.training.loss_scale.init_scale = 16777216.0 * 65536.0;
  p.training.loss_scale.growth_interval = 3;
  return p;
}

// Equal values, or both NaN (an overflowing step's gradient norm).
::testing::AssertionResult same(double x, double y) {
  if (x == y || (std::isnan(x) && std::isnan(y))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << x << " vs " << y;
}

void expect_same_run(const TrainedRun& a, const TrainedRun& b) {
  ASSERT_EQ(a.sink.steps.size(), b.sink.steps.size());
  for (std::size_t i = 0; i < a.sink.steps.size(); ++i) {
    const StepMetrics &x = a.sink.steps[i], &y = b.sink.steps[i];
    EXPECT_EQ(x.step, y.step);
    EXPECT_TRUE(same(x.loss, y.loss)) << "loss, step " << x.step;
    EXPECT_TRUE(same(x.loss_scale, y.loss_scale)) << "loss_scale, step " << x.step;
    EXPECT_EQ(x.skipped, y.skipped) << "step " << x.step;
    EXPECT_TRUE(same(x.lr, y.lr)) << "lr, step " << x.step;
    EXPECT_TRUE(same(x.grad_norm, y.grad_norm)) << "grad_norm, step " << x.step;
  }
  EXPECT_EQ(a.masters, b.masters);
  EXPECT_EQ(a.summary.final_val_accuracy, b.summary.final_val_accuracy);
}

const RunEvent* find_event(const RecordingSink& sink, EventKind kind, const std::string& text) {
  auto it = std::find_if(sink.events.begin(), sink.events.end(), [&](const RunEvent& e) {
    return e.kind == kind && e.message.find(text) != std::string::npos;
  });
  return it == sink.events.end() ? nullptr : &*it;
}

TEST(StepCapture, CapturedRunGivesTheBitsOfAnEagerRun) {
  const Project p = moving_scale_project(30);
  auto cpu = create_backend("cpu");
  const TrainedRun eager = train_on(*cpu, p);
  auto rec = recording_cpu();
  const TrainedRun captured = train_on(*rec, p);

  ASSERT_EQ(captured.summary.outcome, RunOutcome::Finished) << captured.summary.error;
  EXPECT_GT(eager.summary.skipped_steps, 0) << "the run should overflow at first";
  EXPECT_EQ(rec->captures, 1);
  // 30 steps over epochs of 6 full batches and one of 12 samples: 26 full
  // steps, the first eager (warm-up), the second recorded and then replayed.
  EXPECT_EQ(rec->replays, 25);
  EXPECT_GT(rec->ops_recorded, 10u);
  expect_same_run(eager, captured);
  const RunEvent* info = find_event(captured.sink, EventKind::Info, "captured as one graph");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->step, 2);
}

TEST(StepCapture, TheSettingTurnsItOff) {
  Project p = moving_scale_project(20);
  p.training.capture_graphs = false;
  auto rec = recording_cpu();
  const TrainedRun o = train_on(*rec, p);
  ASSERT_EQ(o.summary.outcome, RunOutcome::Finished) << o.summary.error;
  EXPECT_EQ(rec->captures, 0);
  EXPECT_EQ(rec->replays, 0);
  EXPECT_EQ(rec->calls["update_loss_scale"], 20);
}

TEST(StepCapture, ACaptureThatFailsRunsEagerlyAndSaysSo) {
  const Project p = moving_scale_project(20);
  auto cpu = create_backend("cpu");
  const TrainedRun eager = train_on(*cpu, p);
  auto rec = recording_cpu();
  rec->refuse.insert("optimizer_step");
  const TrainedRun o = train_on(*rec, p);
  ASSERT_EQ(o.summary.outcome, RunOutcome::Finished) << o.summary.error;
  EXPECT_EQ(rec->captures, 0);
  EXPECT_EQ(rec->replays, 0);
  EXPECT_EQ(rec->reserved_blocks(), 0u) << "the abandoned recording's memory was not given back";
  const RunEvent* w = find_event(o.sink, EventKind::Warning, "capture failed");
  ASSERT_NE(w, nullptr);
  EXPECT_NE(w->message.find("optimizer_step cannot be recorded"), std::string::npos) << w->message;
  expect_same_run(eager, o);
}

// Dropout draws from the step counter the device advances, so a captured
// step draws a new mask on every replay: the captured run gives the bits of
// an eager one, whose masks change every step.
TEST(StepCapture, DropoutModelsAreCapturedAndDrawANewMaskEachStep) {
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1,
      "dataset": {"kind": "spirals", "samples": 256, "classes": 2, "seed": 3},
      "model": {"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 16}},
        {"id": "drop", "type": "Dropout", "inputs": ["fc1"], "params": {"p": 0.3}},
        {"id": "act", "type": "Tanh", "inputs": ["drop"]},
        {"id": "fc2", "type": "Linear", "inputs": ["act"], "params": {"out_features": 2}},
        {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]},
      "training": {"batch_size": 32, "steps": 20, "seed": 4,
                   "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}}})",
                            "dropout.json");
  auto cpu = create_backend("cpu");
  const TrainedRun eager = train_on(*cpu, p);
  auto rec = recording_cpu();
  const TrainedRun captured = train_on(*rec, p);
  ASSERT_EQ(captured.summary.outcome, RunOutcome::Finished) << captured.summary.error;
  EXPECT_EQ(rec->captures, 1);
  EXPECT_GT(rec->replays, 10);
  // Every mask was drawn with the step counter (a constant seed alone would
  // draw the same mask every step, eager or captured alike).
  EXPECT_GT(rec->calls["dropout_forward"], 0);
  EXPECT_EQ(rec->calls["dropout_forward+step"], rec->calls["dropout_forward"]);
  expect_same_run(eager, captured);

  // The counter the masks follow: one per step, in the state vector.
  Graph graph(p.model, *rec, p.training.policy, 0);
  TrainingStep step(graph, *rec, p.training, 20);
  std::vector<float> x(32 * 2, 0.5f), y(32, 1.0f);
  for (int i = 0; i < 5; ++i) step.run(x, y, 32, 77);
  EXPECT_TRUE(step.captured());
  EXPECT_EQ(step.read_state().steps_taken, 5);
}

// TrainingStep alone: the second full-size step is recorded, later ones
// replay it on new data, and a partial batch runs eagerly beside it.
TEST(StepCapture, PartialBatchesRunBesideTheRecording) {
  const Project p = spirals_project(Policy::MixedBFloat16, 10, 4);
  auto rec = recording_cpu();
  Graph g1(p.model, *rec, p.training.policy, 7);
  TrainingStep captured(g1, *rec, p.training, 10);
  auto cpu = create_backend("cpu");
  Graph g2(p.model, *cpu, p.training.policy, 7);
  TrainingStep eager(g2, *cpu, p.training, 10);

  const std::vector<std::int64_t> sizes{4, 4, 4, 3, 4, 4, 2, 4};
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const std::int64_t n = sizes[k];
    std::vector<float> x(static_cast<std::size_t>(n * 2)), y(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7 + k * 3) % 11) / 11.0f - 0.5f;
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = float((i + k) % 2);
    const StepState a = captured.run(x, y, n, 0), b = eager.run(x, y, n, 0);
    EXPECT_EQ(a, b) << "step " << k + 1 << " (batch " << n << ")";
  }
  EXPECT_TRUE(captured.captured());
  EXPECT_EQ(rec->captures, 1);
  // Step 1 ran eagerly (warm-up), step 2 was recorded and then replayed, full
  // steps 3, 5, 6 and 8 replayed; steps 4 and 7 (3 and 2 samples) ran eagerly.
  EXPECT_EQ(rec->replays, 5);
  EXPECT_EQ(captured.replays(), 5);
}

// On a backend that runs ahead of the host, step t's metrics reach the sink
// after step t + 1 was enqueued, except for steps whose state something needs
// at once (epoch ends, checkpoints, the end).
TEST(LateMetricsRead, StepTIsCollectedAfterStepTPlusOneIsEnqueued) {
  Project p = spirals_project(Policy::Float32, 16);
  p.training.capture_graphs = false;
  p.training.checkpoint_every = 4;
  auto rec = recording_cpu();
  rec->runs_ahead = true;
  struct Probe : RecordingSink {
    RecordingBackend* backend = nullptr;
    std::vector<int> enqueued_at_record;
    void step_recorded(const StepMetrics& m) override {
      RecordingSink::step_recorded(m);
      enqueued_at_record.push_back(backend->calls["update_loss_scale"]);
    }
  } sink;
  sink.backend = rec.get();
  Trainer trainer(p, *rec);
  TrainControl control;
  ASSERT_EQ(trainer.run(sink, control).outcome, RunOutcome::Finished);
  const std::int64_t per_epoch = trainer.steps_per_epoch();
  ASSERT_EQ(sink.enqueued_at_record.size(), 16u);
  for (std::int64_t s = 1; s <= 16; ++s) {
    const bool at_once = s % per_epoch == 0 || s % 4 == 0 || s == 16;
    EXPECT_EQ(sink.enqueued_at_record[std::size_t(s - 1)], at_once ? s : s + 1) << "step " << s;
  }
  // Checkpoints hold the state of their own step, not of the one after.
  ASSERT_GE(sink.checkpoints.size(), 3u);
  EXPECT_EQ(sink.checkpoints[0].first, 4);
}

}  // namespace
}  // namespace mantissa::testing
