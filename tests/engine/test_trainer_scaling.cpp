// The loss scaler inside real training on the CPU backend: PRECISION.md test 3
// (growth after N clean steps, an overflow restarts the count) and test 8
// (master weights keep small updates) through Trainer::run, and the run-event
// warnings (scale below 1, 50 consecutive skips).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {
using test_data::TempDir;
using test_data::write_text;
using testing::RecordingSink;
using testing::spirals_project;

// A 2-feature, 2-class CSV project (features not standardised, no validation
// split) with the spirals model. A feature of 1e6 is finite in fp32 but inf
// once cast to fp16 for fc1: such a row gives fc1.weight a NaN gradient
// (0 × inf through the saturated tanh) under mixed_float16, whatever the scale.
Project csv_project(const std::filesystem::path& csv, Policy policy, std::int64_t steps,
                    std::int64_t batch) {
  Project p = spirals_project(policy, steps, batch);
  p.dataset = DatasetSpec{};
  p.dataset.kind = "csv";
  p.dataset.path = csv;
  p.dataset.normalize = false;
  p.dataset.validation_fraction = 0;
  return p;
}

std::string csv_rows(int rows, int poisoned_every) {
  std::string text = "x,y,label\n";
  for (int i = 0; i < rows; ++i) {
    const bool poisoned = poisoned_every > 0 && i % poisoned_every == 0;
    text += (poisoned ? std::string("1000000") : std::to_string(0.1 * (i % 7) - 0.3)) + "," +
            std::to_string(0.05 * (i % 5)) + "," + std::to_string(i % 2) + "\n";
  }
  return text;
}

std::vector<const RunEvent*> warnings(const RecordingSink& sink) {
  std::vector<const RunEvent*> out;
  for (const RunEvent& e : sink.events)
    if (e.kind == EventKind::Warning) out.push_back(&e);
  return out;
}

// PRECISION.md 3 in a run: with no overflow, the scale a step reports doubles
// exactly every growth_interval steps and the tracker counts 1..N-1, 0.
TEST(TrainerScaling, ScaleDoublesAfterGrowthIntervalCleanSteps) {
  const long n = 5;
  const double s0 = 256;
  Project p = spirals_project(Policy::MixedFloat16, 4 * n + 2);
  p.training.loss_scale.init_scale = s0;
  p.training.loss_scale.growth_interval = n;
  RecordingSink sink;
  RunSummary s = run_on_cpu(p, sink);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_EQ(sink.steps.size(), std::size_t(4 * n + 2));
  for (const StepMetrics& m : sink.steps) {
    ASSERT_FALSE(m.skipped) << "step " << m.step << " overflowed; the test needs clean steps";
    const std::int64_t done = m.step - 1;  // clean steps before this one
    EXPECT_EQ(m.loss_scale, s0 * std::ldexp(1.0, int(done / n))) << "step " << m.step;
    EXPECT_EQ(m.growth_tracker, m.step % n) << "step " << m.step;
  }
  // The step after the N-th clean step is the first to use the doubled scale.
  EXPECT_EQ(sink.steps[n - 1].loss_scale, s0);
  EXPECT_EQ(sink.steps[n].loss_scale, 2 * s0);
  EXPECT_EQ(sink.steps[n - 1].growth_tracker, 0);
  EXPECT_EQ(s.final_loss_scale, s0 * std::ldexp(1.0, int((4 * n + 2) / n)));
  EXPECT_EQ(s.skipped_steps, 0);
}

// PRECISION.md's dynamic rule, replayed on what a run reported: checks the
// scale each step used, the tracker after it and the skip count, and counts
// the growths and the overflows that came in the middle of a count.
struct ScalerReplay {
  long interval;
  double scale, max_scale = 0;
  std::int64_t tracker = 0, skipped = 0, growths = 0, mid_count_overflows = 0;

  void check(const std::vector<StepMetrics>& steps) {
    for (const StepMetrics& m : steps) {
      ASSERT_EQ(m.loss_scale, scale) << "step " << m.step;
      if (m.skipped) {
        mid_count_overflows += tracker > 0;
        scale *= 0.5;
        tracker = 0;
        ++skipped;
      } else if (++tracker == interval) {
        scale = max_scale > 0 ? std::min(2 * scale, max_scale) : 2 * scale;
        tracker = 0;
        ++growths;
      }
      ASSERT_EQ(m.growth_tracker, tracker) << "step " << m.step;
      ASSERT_EQ(m.skipped_total, skipped) << "step " << m.step;
    }
  }
};

// A huge initial scale overflows the first steps, halving S each time; the
// growth count starts again at the first clean step.
TEST(TrainerScaling, OverflowRestartsTheGrowthCount) {
  const long n = 5;
  const double s0 = std::ldexp(1.0, 40);
  Project p = spirals_project(Policy::MixedFloat16, 40);
  p.training.loss_scale.init_scale = s0;
  p.training.loss_scale.growth_interval = n;
  RecordingSink sink;
  RunSummary s = run_on_cpu(p, sink);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  auto first_clean =
      std::find_if(sink.steps.begin(), sink.steps.end(), [](auto& m) { return !m.skipped; });
  ASSERT_NE(first_clean, sink.steps.begin()) << "2^40 should overflow the first step";
  ASSERT_NE(first_clean, sink.steps.end());
  const auto k = int(first_clean - sink.steps.begin());  // steps skipped in a row
  EXPECT_EQ(first_clean->loss_scale, s0 * std::ldexp(1.0, -k));
  EXPECT_EQ(first_clean->growth_tracker, 1) << "the count restarts at the first clean step";
  ScalerReplay replay{n, s0};
  replay.check(sink.steps);
  EXPECT_GT(replay.growths, 0) << "the scale never grew back";
  EXPECT_EQ(s.final_loss_scale, replay.scale);
}

// An overflow in the middle of a count (0 < tracker < N) restarts it, on a
// run where one row in eight always overflows; max_scale keeps the scale
// below where the other rows would overflow too.
TEST(TrainerScaling, OverflowMidCountRestartsTheCount) {
  const long n = 3;
  TempDir dir;
  write_text(dir / "poisoned.csv", csv_rows(8, 8));
  Project p = csv_project(dir / "poisoned.csv", Policy::MixedFloat16, 80, 1);
  p.training.loss_scale.init_scale = 1024;
  p.training.loss_scale.max_scale = 4096;
  p.training.loss_scale.growth_interval = n;
  RecordingSink sink;
  RunSummary s = run_on_cpu(p, sink);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ScalerReplay replay{n, 1024, 4096};
  replay.check(sink.steps);
  EXPECT_EQ(replay.skipped, 10) << "the poisoned row comes once in each epoch of 8 steps";
  EXPECT_GT(replay.mid_count_overflows, 0) << "the run never overflowed mid-count";
  EXPECT_GT(replay.growths, 0);
  EXPECT_EQ(s.final_loss_scale, replay.scale);
}

// A run whose every step overflows: one warning when S falls below 1, one
// after 50 consecutive skips, each naming the gradient that held the
// non-finite value; neither is repeated, not even by a resumed run.
TEST(TrainerScaling, WarnsOnceWhenScaleFallsBelowOneAndAfter50Skips) {
  TempDir dir;
  write_text(dir / "always.csv", csv_rows(16, 1));
  Project p = csv_project(dir / "always.csv", Policy::MixedFloat16, 70, 4);
  const double s0 = 65536;
  p.training.loss_scale.init_scale = s0;
  p.training.checkpoint_each_epoch = false;  // only the checkpoint asked for
  p.training.checkpoint_every = 40;
  auto backend = create_backend("cpu");
  Trainer t(p, *backend);
  RecordingSink sink;
  TrainControl c;
  RunSummary s = t.run(sink, c);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_EQ(s.skipped_steps, 70) << "every step should overflow";

  // The first step after which S < 1: S0 × 0.5^k < 1.
  const auto below_one_step = std::int64_t(std::floor(std::log2(s0))) + 1;
  auto w = warnings(sink);
  ASSERT_EQ(w.size(), 2u);
  const RunEvent& small = *w[0];
  const RunEvent& many = *w[1];
  EXPECT_EQ(small.step, below_one_step);
  EXPECT_NE(small.message.find("below 1"), std::string::npos) << small.message;
  EXPECT_EQ(small.scale_before, 1.0);
  EXPECT_EQ(small.scale_after, 0.5);
  EXPECT_EQ(many.step, 50);
  EXPECT_NE(many.message.find("50 consecutive steps skipped"), std::string::npos) << many.message;
  // Only fc1 sees the 1e6 feature: the re-run of the step finds the first
  // non-finite tensor in the cast of fc1's input to fp16, before fc1 runs.
  for (const RunEvent* e : w) {
    EXPECT_EQ(e->tensor, "fc1 input 0 cast to f16 (activation)") << e->message;
    EXPECT_NE(e->message.find("fc1 input 0 cast to f16"), std::string::npos) << e->message;
  }

  // Resumed from step 40: the below-1 warning was given, the 50-skip one is due.
  ASSERT_EQ(sink.checkpoints.front().first, 40);
  TrainOptions o;
  o.resume_from = sink.checkpoints.front().second;
  Trainer resumed(p, *backend, o);
  RecordingSink b;
  resumed.run(b, c);
  auto rw = warnings(b);
  ASSERT_EQ(rw.size(), 1u);
  EXPECT_EQ(rw[0]->step, 50);
  EXPECT_EQ(rw[0]->message, many.message);
}

// Fixed scaling with skip_nonfinite never changes S, so it never warns about
// a small scale, but 50 skips in a row still warn, once.
TEST(TrainerScaling, FixedScaleThatAlwaysOverflowsWarnsAfter50Skips) {
  Project p = spirals_project(Policy::MixedFloat16, 75);
  p.training.loss_scale.mode = LossScaleMode::Fixed;
  p.training.loss_scale.init_scale = std::ldexp(1.0, 40);
  p.training.loss_scale.skip_nonfinite = true;
  auto backend = create_backend("cpu");
  Trainer t(p, *backend);
  RecordingSink sink;
  TrainControl c;
  RunSummary s = t.run(sink, c);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_EQ(s.skipped_steps, 75);
  EXPECT_EQ(s.final_loss_scale, std::ldexp(1.0, 40));
  auto w = warnings(sink);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]->step, 50);
  EXPECT_NE(w[0]->message.find("50 consecutive steps skipped; first non-finite value in " +
                               w[0]->tensor),
            std::string::npos)
      << w[0]->message;
  // The tensor named is the one the step's own overflow event named.
  auto overflow50 = std::find_if(sink.events.begin(), sink.events.end(), [](const RunEvent& e) {
    return e.kind == EventKind::Overflow && e.step == 50;
  });
  ASSERT_NE(overflow50, sink.events.end());
  EXPECT_EQ(w[0]->tensor, overflow50->tensor);
  // It is one of the step's tensors, named as its numerics slot.
  bool is_slot = false;
  for (const NumericsSlot& slot : t.graph().numerics_slots())
    is_slot |= slot.label() + " (" + std::string(role_name(slot.role)) + ")" == w[0]->tensor;
  EXPECT_TRUE(is_slot) << w[0]->tensor;
}

// PRECISION.md 8 in a run: a bias at 1.0 that gets an update of 1e-4 each
// step for 100 steps (SGD, constant gradient from MSE against a far target)
// reaches ≈ 1.01 with fp32 masters, and stays at 1.0 stored in fp16.
TEST(TrainerScaling, MasterWeightsKeepSmallUpdatesInARun) {
  TempDir dir;
  // x = 0, so fc's output is its bias; the target 513.5 makes d loss / d bias
  // = 2 (1 - 513.5) = -1025, exactly representable in fp16.
  std::string csv = "x,y\n";
  for (int i = 0; i < 8; ++i) csv += "0,513.5\n";
  write_text(dir / "far.csv", csv);
  auto final_bias = [&](Policy policy) {
    Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "bias",
      "dataset": {"kind": "csv", "path": "far.csv", "normalize": false, "validation_fraction": 0},
      "model": {"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [1]}},
        {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 1}},
        {"id": "loss", "type": "MSE", "inputs": ["fc"]}]},
      "training": {"batch_size": 4, "steps": 100, "loss_scale": {"mode": "none"},
                   "optimizer": {"type": "sgd", "momentum": 0}}})",
                              dir / "bias.json");
    p.training.policy = policy;
    p.training.optimizer.lr = 1e-4 / 1025.0;
    auto backend = create_backend("cpu");
    Trainer t(p, *backend);
    Param* bias = nullptr;
    for (Param* prm : t.graph().params()) {
      backend->fill(prm->master, prm->name == "fc.bias" ? 1.0f : 0.0f);
      if (prm->name == "fc.bias") bias = prm;
    }
    EXPECT_NE(bias, nullptr);
    if (!bias) return 0.0f;
    EXPECT_EQ(bias->master.dtype(), master_dtype(policy));
    RecordingSink sink;
    TrainControl c;
    RunSummary s = t.run(sink, c);
    EXPECT_EQ(s.outcome, RunOutcome::Finished) << s.error;
    EXPECT_EQ(s.steps, 100);
    EXPECT_EQ(s.skipped_steps, 0);
    Tensor b32 = Tensor::zeros(*backend, bias->master.shape(), DType::F32);
    backend->cast(bias->master, b32);
    return b32.to_host()[0];
  };
  const float fp32 = final_bias(Policy::Float32);
  const float mixed = final_bias(Policy::MixedFloat16);
  EXPECT_NEAR(fp32, 1.01f, 1e-5f);
  EXPECT_NEAR(mixed, 1.01f, 1e-5f);
  EXPECT_EQ(final_bias(Policy::Float16), 1.0f) << "1 + 1e-4 rounds back to 1 in fp16";
}

}  // namespace
}  // namespace mantissa
