// The loss scaler's what-if (whatif.hpp): the per-step record the trainer
// keeps, and replays of it against real runs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>

#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"
#include "mantissa/whatif.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;
using testing::run_on_cpu;
using testing::spirals_project;

// Mixed fp16 from a scale far too large, growing every 6 clean steps: it
// backs off, grows into overflow again, and backs off, several times.
Project sawtooth_project(std::int64_t steps) {
  Project p = spirals_project(Policy::MixedFloat16, steps);
  p.training.loss_scale.mode = LossScaleMode::Dynamic;
  p.training.loss_scale.init_scale = std::ldexp(1.0, 28);
  p.training.loss_scale.growth_interval = 6;
  return p;
}

std::int64_t skips(const std::vector<StepMetrics>& steps) {
  std::int64_t n = 0;
  for (const StepMetrics& m : steps) n += m.skipped ? 1 : 0;
  return n;
}

// Must hold: given the run's own settings, the replay gives back its scale
// path and its skips, step for step.
TEST(WhatIf, TheRunsOwnSettingsReplayItsScalePathExactly) {
  Project p = sawtooth_project(90);
  p.training.numerics.sample_every = 1;
  RecordingSink sink;
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend);
  TrainControl control;
  ASSERT_EQ(trainer.run(sink, control).outcome, RunOutcome::Finished);
  ASSERT_EQ(sink.steps.size(), 90u);
  // The slots A reads: the 16-bit gradients (the loss's among them), never a
  // forward tensor or an fp32 weight gradient.
  const std::vector<bool> scaled = trainer.graph().scaled_16bit_slots();
  const std::vector<NumericsSlot>& slots = trainer.graph().numerics_slots();
  ASSERT_EQ(scaled.size(), slots.size());
  int read = 0;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!scaled[i]) continue;
    ++read;
    EXPECT_EQ(slots[i].role, TensorRole::ActivationGrad) << slots[i].label();
  }
  EXPECT_EQ(read, 3);  // the gradients the loss, fc2 and act1 return (fc1 returns none)
  // A of a clean step is the largest of those slots' stored values over S.
  ASSERT_EQ(sink.numerics.size(), sink.steps.size());
  for (std::size_t t = 0; t < sink.steps.size(); ++t) {
    if (sink.steps[t].skipped) continue;
    float amax = 0;
    for (std::size_t i = 0; i < slots.size(); ++i)
      if (scaled[i]) amax = std::max(amax, sink.numerics[t].stats[i].amax);
    EXPECT_GT(amax, 0.0f);
    EXPECT_EQ(sink.steps[t].unscaled_grad_amax, double(amax) / sink.steps[t].loss_scale)
        << "step " << t + 1;
  }
  const std::int64_t recorded = skips(sink.steps);
  std::cout << "[ whatif   ] the run skipped " << recorded << " of 90 steps\n";
  ASSERT_GE(recorded, 6);  // the first back-off and at least two regrowths
  bool regrew = false;
  for (std::size_t i = 1; i < sink.steps.size(); ++i)
    if (sink.steps[i].loss_scale > sink.steps[i - 1].loss_scale && sink.steps[i].step > 20)
      regrew = true;
  ASSERT_TRUE(regrew);
  // Every step measured; an overflowed one again at S = 1, below the threshold.
  for (const StepMetrics& m : sink.steps) {
    EXPECT_FALSE(std::isnan(m.unscaled_grad_amax)) << m.step;
    EXPECT_FALSE(m.forward_nonfinite) << m.step;
    if (m.skipped) EXPECT_GE(m.loss_scale * m.unscaled_grad_amax, kFp16OverflowAt) << m.step;
    else EXPECT_LT(m.loss_scale * m.unscaled_grad_amax, kFp16OverflowAt) << m.step;
  }

  const ScalerReplay r = replay_scaler(sink.steps, p.training.policy, p.training.loss_scale);
  EXPECT_FALSE(r.first_difference.has_value()) << *r.first_difference;
  EXPECT_FALSE(r.first_undecided.has_value());
  EXPECT_TRUE(r.powers_of_two);
  EXPECT_EQ(r.skipped, recorded);
  EXPECT_EQ(r.recorded_skipped, recorded);
  ASSERT_EQ(r.steps.size(), sink.steps.size());
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    EXPECT_EQ(r.steps[i].scale, sink.steps[i].loss_scale) << "step " << i + 1;
    EXPECT_EQ(r.steps[i].skipped, sink.steps[i].skipped) << "step " << i + 1;
  }
}

// Must hold: under other settings, the prediction matches a real run with
// those settings (same weights, data and dropout) up to the first step where
// it decides otherwise than the recorded run, that step included.
TEST(WhatIf, OtherSettingsPredictARealRunUpToTheFirstDifference) {
  const Project p = sawtooth_project(90);
  RecordingSink recorded;
  ASSERT_EQ(run_on_cpu(p, recorded).outcome, RunOutcome::Finished);
  for (const long interval : {3L, 10L}) {
    SCOPED_TRACE("growth interval " + std::to_string(interval));
    Project q = p;
    q.training.loss_scale.growth_interval = interval;
    const ScalerReplay predicted =
        replay_scaler(recorded.steps, q.training.policy, q.training.loss_scale);
    ASSERT_TRUE(predicted.first_difference.has_value());  // a prediction, not the record
    RecordingSink real;
    ASSERT_EQ(run_on_cpu(q, real).outcome, RunOutcome::Finished);
    const std::int64_t upto = *predicted.first_difference;
    std::cout << "[ whatif   ] interval " << interval << ": " << predicted.skipped
              << " skips predicted, first different decision at step " << upto << " (real run: "
              << skips(real.steps) << " skips)\n";
    std::int64_t skipped_before = 0, real_skipped_before = 0;
    for (std::size_t i = 0; i < real.steps.size() && real.steps[i].step <= upto; ++i) {
      EXPECT_EQ(predicted.steps[i].scale, real.steps[i].loss_scale) << "step " << i + 1;
      EXPECT_EQ(predicted.steps[i].skipped, real.steps[i].skipped) << "step " << i + 1;
      skipped_before += predicted.steps[i].skipped;
      real_skipped_before += real.steps[i].skipped;
    }
    EXPECT_EQ(skipped_before, real_skipped_before);
    EXPECT_GE(upto, 10);  // past the first back-off, into the regrowth
  }
}

// Branch to verify: a child of a stored run, resumed from the run's newest
// checkpoint before the first differing step with the scaler as the replay
// has it there, takes the predicted decisions and scales step for step.
TEST(WhatIf, ABranchFromACheckpointBeforeTheFirstDifferenceVerifiesIt) {
  const auto dir = std::filesystem::temp_directory_path() / "mantissa-whatif-branch";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  StoreOptions keep_all;
  keep_all.checkpoints_kept = 20;
  Project p = sawtooth_project(90);
  p.training.checkpoint_every = 7;
  std::int64_t id = 0;
  std::vector<StepMetrics> recorded;
  {
    RunStore store(dir / "runs.db", keep_all);
    RunRecorder rec(store, new_run_record(p, "sawtooth"));
    id = rec.run_id();
    auto backend = create_backend("cpu");
    Trainer t(p, *backend);
    TrainControl c;
    ASSERT_EQ(t.run(rec, c).outcome, RunOutcome::Finished);
    recorded = store.step_metrics(id);
  }
  // Growing every 10 clean steps instead of 6 first decides otherwise after
  // the first back-off and regrowth.
  LossScaleConfig settings = p.training.loss_scale;
  settings.growth_interval = 10;
  const ScalerReplay replay = replay_scaler(recorded, p.training.policy, settings);
  ASSERT_TRUE(replay.first_difference.has_value());
  ASSERT_GT(*replay.first_difference, 10);
  RunStore store(dir / "runs.db", keep_all);
  const BranchPlan plan = branch_request(store, id, settings, replay);
  // The newest checkpoint before the first difference.
  EXPECT_EQ(plan.from_step, (*replay.first_difference - 1) / 7 * 7);
  EXPECT_GT(plan.from_step, 0);
  ASSERT_TRUE(plan.request.options.scaler_state.has_value());
  EXPECT_EQ(plan.request.options.scaler_state->scale,
            replay.steps[std::size_t(plan.from_step - 1)].scale_after);
  EXPECT_EQ(plan.request.new_run.parent_run_id, std::optional<std::int64_t>(id));
  TrainRequest request = plan.request;
  request.database = dir / "runs.db";
  auto backend = create_backend("cpu");
  RecordingSink sink;
  TrainControl control;
  std::int64_t child = 0;
  ASSERT_EQ(run_training(request, *backend, sink, control, [&](std::int64_t c) { child = c; }).outcome,
            RunOutcome::Finished);
  const std::vector<StepMetrics> branch = store.step_metrics(child);
  ASSERT_FALSE(branch.empty());
  EXPECT_EQ(branch.front().step, plan.from_step + 1);
  EXPECT_EQ(branch.back().step, 90);
  const BranchCheck check = check_branch(replay, branch);
  EXPECT_TRUE(check.verified()) << check.exact_mismatches << " decisions, "
                                << check.scale_mismatches << " scales differ";
  EXPECT_EQ(check.exact_steps, *replay.first_difference - plan.from_step);
  EXPECT_GE(check.exact_steps, 2);
  std::cout << "[ whatif   ] branch from step " << plan.from_step << ": " << check.actual_skips
            << " skips over steps " << plan.from_step + 1 << "-90, predicted "
            << check.predicted_skips << "\n";
  // The same settings' replay against the parent itself is not verified:
  // it decided otherwise at the first difference.
  const BranchCheck against_parent = check_branch(replay, recorded);
  EXPECT_FALSE(against_parent.verified());
  EXPECT_EQ(against_parent.first_mismatch, replay.first_difference);
  std::filesystem::remove_all(dir);
}

StepMetrics recorded_step(std::int64_t step, double scale, double a, bool skipped = false,
                          bool forward = false) {
  StepMetrics m;
  m.step = step;
  m.loss_scale = scale;
  m.unscaled_grad_amax = a;
  m.skipped = skipped;
  m.forward_nonfinite = forward;
  return m;
}

LossScaleConfig dynamic(double init, long interval) {
  LossScaleConfig c;
  c.mode = LossScaleMode::Dynamic;
  c.init_scale = init;
  c.growth_interval = interval;
  return c;
}

// The threshold is fp16's: S * A at 65,520 overflows, just under it does not.
TEST(WhatIf, OverflowIsScaleTimesAAgainstFp16sThreshold) {
  const double a = 65520.0 / 1024.0;  // S = 2^10 reaches the threshold exactly
  const std::vector<StepMetrics> steps = {recorded_step(1, 1024, a), recorded_step(2, 512, a)};
  const ScalerReplay r = replay_scaler(steps, Policy::MixedFloat16, dynamic(1024, 1000));
  EXPECT_TRUE(r.steps[0].overflow);
  EXPECT_TRUE(r.steps[0].skipped);
  EXPECT_EQ(r.steps[1].scale, 512.0);
  EXPECT_FALSE(r.steps[1].overflow);
  EXPECT_DOUBLE_EQ(r.steps[1].margin_log2, 1.0);
  EXPECT_EQ(r.knife_edge, 0);  // one binade exactly is not within one
  // The record's skips were not these: the run recorded none.
  EXPECT_EQ(r.first_difference, std::optional<std::int64_t>(1));
}

// A forward overflow skips whatever the scale; an unmeasured step is decided
// by the run's own scale where it can be, else it says so.
TEST(WhatIf, ForwardOverflowsAndUnmeasuredSteps) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<StepMetrics> steps = {
      recorded_step(1, 16, 0.5),
      recorded_step(2, 16, nan, false, true),  // forward: overflows at any S
      recorded_step(3, 8, nan),                // finite at 8: so at 8 or less
      recorded_step(4, 8, nan, true),          // overflowed at 8: so at 8 or more
      recorded_step(5, 4, nan),                // finite at 4 only: 16 undecided
  };
  // From 8: step 2 backs off to 4; step 3 at 4 is below its finite 8;
  // step 4 at 4 is below the 8 it overflowed at, so the record cannot say
  // (taken as the run did: skipped); step 5 at 2 is below its finite 4.
  const ScalerReplay low = replay_scaler(steps, Policy::MixedFloat16, dynamic(8, 1000));
  EXPECT_FALSE(low.steps[0].overflow);
  EXPECT_TRUE(low.steps[1].overflow);
  EXPECT_EQ(low.steps[2].scale, 4.0);
  EXPECT_TRUE(low.steps[2].decided);
  EXPECT_FALSE(low.steps[2].overflow);
  EXPECT_FALSE(low.steps[3].decided);
  EXPECT_TRUE(low.steps[3].skipped);
  EXPECT_EQ(low.first_undecided, std::optional<std::int64_t>(4));
  EXPECT_EQ(low.steps[4].scale, 2.0);
  EXPECT_TRUE(low.steps[4].decided);
  EXPECT_FALSE(low.steps[4].overflow);
  // From 64: step 3 at 32 is above its finite 8 (undecided); step 4 at 32
  // is above the 8 it overflowed at: overflows.
  const ScalerReplay high = replay_scaler(steps, Policy::MixedFloat16, dynamic(64, 1000));
  EXPECT_TRUE(high.steps[1].overflow);
  EXPECT_EQ(high.first_undecided, std::optional<std::int64_t>(3));
  EXPECT_FALSE(high.steps[2].decided);
  EXPECT_EQ(high.steps[3].scale, 32.0);
  EXPECT_TRUE(high.steps[3].decided);
  EXPECT_TRUE(high.steps[3].overflow);
}

// A scaler that does not skip applies the non-finite gradients: said, with
// the step; and a run without a record is refused with a reason.
TEST(WhatIf, NonSkippingScalersAndRunsWithoutARecord) {
  const std::vector<StepMetrics> steps = {recorded_step(1, 1, 1.0), recorded_step(2, 1, 100.0)};
  LossScaleConfig fixed;
  fixed.mode = LossScaleMode::Fixed;
  fixed.init_scale = 1024;
  const ScalerReplay r = replay_scaler(steps, Policy::MixedFloat16, fixed);
  EXPECT_EQ(r.skipped, 0);
  EXPECT_EQ(r.first_applied_overflow, std::optional<std::int64_t>(2));
  fixed.skip_nonfinite = true;
  EXPECT_EQ(replay_scaler(steps, Policy::MixedFloat16, fixed).skipped, 1);

  std::vector<StepMetrics> none(3);
  for (std::size_t i = 0; i < none.size(); ++i) none[i].step = std::int64_t(i) + 1;
  try {
    replay_scaler(none, Policy::MixedFloat16, fixed);
    FAIL() << "a run without a record replayed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("numerics off"), std::string::npos) << e.what();
  }
}

// With A = 1 on every step, 2^15 is the largest scale that never overflows:
// the search finds it, with an interval that never grows past it.
TEST(WhatIf, SearchFindsTheLargestScaleWithoutSkips) {
  std::vector<StepMetrics> steps;
  for (int i = 1; i <= 120; ++i) steps.push_back(recorded_step(i, 1, 1.0));
  const long intervals[] = {10, 50, 200};
  const ScalerSearch s = search_scaler(steps, Policy::MixedFloat16, dynamic(65536, 2000), intervals);
  EXPECT_EQ(s.tried, 25 * 3);
  EXPECT_EQ(s.replay.skipped, 0);
  EXPECT_EQ(s.best.init_scale, 32768.0);
  EXPECT_EQ(s.best.growth_interval, 200);
}

// Underflow from the stored histograms: scaling by 2^k moves a histogram by
// k bins, so values below 2^-25 at the run's scale come back at a larger
// one and values just above it go at a smaller one.
TEST(WhatIf, UnderflowShiftsTheStoredHistogramsByTheScaleRatio) {
  namespace nb = numerics_bits;
  const std::vector<NumericsSlot> slots = {
      {"fc1", TensorRole::Activation, -1, {}, DType::F16},
      {"fc2", TensorRole::ActivationGrad, 0, {}, DType::F16}};
  NumericsSample sample;
  sample.step = 1;
  sample.scale = 1024;
  sample.histograms.resize(2);
  const auto bin = [](int e) { return std::size_t(nb::kFirstBinade + (e - nb::kLowExponent)); };
  sample.histograms[0][bin(-30)] = 1000;  // forward: not read
  sample.histograms[1][bin(-26)] = 10;    // flushed at 2^10
  sample.histograms[1][bin(-20)] = 30;
  sample.histograms[1][std::size_t(nb::kBinZero)] = 500;  // zeros are not counted
  const std::vector<NumericsSample> samples = {sample};
  ScalerReplay up;
  up.steps = {ScalerReplayStep{1, 4096}};  // 2^12: two bins up
  UnderflowEstimate u = estimate_underflow(up, samples, slots);
  EXPECT_EQ(u.steps, 1);
  EXPECT_DOUBLE_EQ(u.recorded, 0.25);
  EXPECT_DOUBLE_EQ(u.predicted, 0.0);
  ScalerReplay down;
  down.steps = {ScalerReplayStep{1, 16}};  // 2^4: six bins down, -20 -> -26
  u = estimate_underflow(down, samples, slots);
  EXPECT_DOUBLE_EQ(u.predicted, 1.0);
  ScalerReplay other;
  other.steps = {ScalerReplayStep{2, 16}};  // no stored step in common
  EXPECT_EQ(estimate_underflow(other, samples, slots).steps, 0);
}

// fp16 readiness: forward tensors of an fp32 run whose stored largest value
// reaches 65,520, largest first, with the first stored step; gradients and
// values below the threshold are not listed.
TEST(WhatIf, ForwardTensorsPastFp16sRangeAreListed) {
  const std::vector<NumericsSlot> slots = {
      {"fc1", TensorRole::Activation, -1, {}, DType::F32},
      {"fc2", TensorRole::Activation, -1, {}, DType::F32},
      {"fc2", TensorRole::ActivationGrad, 0, {}, DType::F32}};
  std::vector<NumericsSample> samples(2);
  samples[0].step = 50;
  samples[1].step = 100;
  for (NumericsSample& s : samples) s.stats.resize(3);
  samples[0].stats[0].amax = 65519.0f;  // just under
  samples[1].stats[0].amax = 70000.0f;
  samples[0].stats[1].amax = 1e6f;
  samples[1].stats[1].amax = 2e5f;
  samples[0].stats[2].amax = 1e9f;  // a gradient: the scaler's business, not listed
  const std::vector<ForwardOverflow> f = fp16_forward_overflows(samples, slots);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].tensor, "fc2 output");
  EXPECT_EQ(f[0].amax, 1e6);
  EXPECT_EQ(f[0].first_step, 50);
  EXPECT_EQ(f[1].tensor, "fc1 output");
  EXPECT_EQ(f[1].first_step, 100);
}

}  // namespace
}  // namespace mantissa
