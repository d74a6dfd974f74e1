// The precision trade-off (tradeoff.hpp): groups, spreads and the frontier.
#include <gtest/gtest.h>

#include "mantissa/tradeoff.hpp"
#include "train/memory_fit.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

RunRecord run(std::int64_t id, const std::string& policy, double accuracy, double samples_per_s,
              std::int64_t skipped = 0, RunStatus status = RunStatus::Finished,
              const std::string& project_json = "") {
  RunRecord r;
  r.id = id;
  r.policy = policy;
  r.status = status;
  r.project_json = project_json;
  r.summary.final_val_accuracy = accuracy;
  r.summary.samples_per_s = samples_per_s;
  r.summary.steps = 100;
  r.summary.skipped_steps = skipped;
  return r;
}

const TradeoffGroup& group(const Tradeoff& t, const std::string& label) {
  for (const TradeoffGroup& g : t.groups)
    if (g.label == label) return g;
  throw std::runtime_error("no group " + label);
}

// A group is dominated only when another is better on both axes beyond both
// spreads: bf16 is faster than fp32 beyond the spread but not more accurate
// beyond it, so both stay on the frontier; fp16 is beaten by bf16 on both.
TEST(Tradeoff, TheFrontierLeavesOutOnlyGroupsBeatenBeyondTheirSpread) {
  Project pinned = testing::spirals_project(Policy::MixedFloat16, 10);
  pinned.model.layers[1].pin_fp32 = true;
  const std::vector<RunRecord> runs = {
      run(1, "float32", 0.90, 100),
      run(2, "float32", 0.91, 110),
      run(3, "mixed_bfloat16", 0.905, 200),
      run(4, "mixed_bfloat16", 0.915, 210),
      run(5, "mixed_float16", 0.80, 150, 30),
      run(6, "mixed_float16", 0.95, 500, 0, RunStatus::Failed),  // left out
      run(7, "mixed_float16", 0.92, 90, 0, RunStatus::Finished, project_to_json(pinned)),
  };
  const Tradeoff t = tradeoff(runs, {}, TradeoffAxis::SamplesPerS, TradeoffAxis::ValAccuracy);
  ASSERT_EQ(t.groups.size(), 4u);
  const TradeoffGroup& fp32 = group(t, "float32");
  EXPECT_EQ(fp32.points, 2);
  EXPECT_DOUBLE_EQ(fp32.x, 105);
  EXPECT_DOUBLE_EQ(fp32.x_min, 100);
  EXPECT_DOUBLE_EQ(fp32.y_max, 0.91);
  EXPECT_TRUE(fp32.frontier);
  EXPECT_TRUE(group(t, "mixed_bfloat16").frontier);
  const TradeoffGroup& fp16 = group(t, "mixed_float16");
  EXPECT_EQ(fp16.runs.size(), 1u);  // the failed run is not a point
  EXPECT_FALSE(fp16.frontier);
  EXPECT_EQ(fp16.dominated_by, std::optional<std::string>("mixed_bfloat16"));
  const TradeoffGroup& pins = group(t, "mixed_float16 (fc1 pinned to fp32)");
  EXPECT_TRUE(pins.frontier);
  // Frontier first.
  EXPECT_FALSE(t.groups.back().frontier);

  // Lower is better for wasted steps: fp16's 30 % loses to everything.
  const Tradeoff w = tradeoff(runs, {}, TradeoffAxis::WastedSteps, TradeoffAxis::ValAccuracy);
  EXPECT_DOUBLE_EQ(group(w, "mixed_float16").x, 0.3);
  EXPECT_FALSE(group(w, "mixed_float16").frontier);
}

// Time to a target accuracy: the first evaluation at or above it, from the
// run's epochs; a run that never gets there has no point.
TEST(Tradeoff, TimeToTargetIsTheFirstEvaluationThatReachesIt) {
  const std::vector<RunRecord> runs = {run(1, "float32", 0.93, 100), run(2, "mixed_bfloat16", 0.85, 200)};
  std::vector<std::vector<EpochMetrics>> epochs(2);
  epochs[0] = {{0, 10, 0.5, 0.4, 0.80, 3.0}, {1, 20, 0.4, 0.3, 0.91, 6.5}, {2, 30, 0.3, 0.2, 0.93, 9.0}};
  epochs[1] = {{0, 10, 0.5, 0.4, 0.80, 1.5}, {1, 20, 0.4, 0.3, 0.85, 3.0}};
  const Tradeoff t = tradeoff(runs, epochs, TradeoffAxis::TimeToTarget, TradeoffAxis::ValAccuracy, 0.9);
  EXPECT_DOUBLE_EQ(group(t, "float32").x, 6.5);
  EXPECT_EQ(group(t, "mixed_bfloat16").points, 0);
  EXPECT_FALSE(group(t, "mixed_bfloat16").runs[0].x.has_value());
  EXPECT_EQ(parse_axis("time_to_target"), std::optional<TradeoffAxis>(TradeoffAxis::TimeToTarget));
  EXPECT_FALSE(parse_axis("speed").has_value());
}

// Divergence from fp32: the mean relative loss distance over the last tenth
// of the steps, to the earliest float32 run of the same project and seed.
TEST(Tradeoff, DivergenceIsTheLossDistanceToFloat32AtTheEnd) {
  std::vector<RunRecord> runs = {run(1, "float32", 0.9, 100), run(2, "mixed_bfloat16", 0.9, 200),
                                 run(3, "float32", 0.9, 100)};
  for (RunRecord& r : runs) {
    r.project_name = "p";
    r.seed = 7;
  }
  std::vector<std::vector<StepMetrics>> steps(3);
  for (int s = 1; s <= 20; ++s) {
    StepMetrics m;
    m.step = s;
    m.loss = 2.0;
    steps[0].push_back(m);
    m.loss = s > 18 ? 2.0 * (1 + 0.01 * (s - 18)) : 5.0;  // the last tenth: 1 % and 2 % off
    steps[1].push_back(m);
    m.loss = 2.0;
    steps[2].push_back(m);
  }
  const Tradeoff t =
      tradeoff(runs, {}, TradeoffAxis::Divergence, TradeoffAxis::ValAccuracy, 0.9, steps);
  EXPECT_NEAR(group(t, "mixed_bfloat16").x, 0.015, 1e-12);
  EXPECT_EQ(group(t, "float32").x, 0.0);  // against run 1: itself, and an identical run
  EXPECT_FALSE(higher_is_better(TradeoffAxis::Divergence));
  // Without steps there is no point.
  EXPECT_EQ(group(tradeoff(runs, {}, TradeoffAxis::Divergence, TradeoffAxis::ValAccuracy), "float32").points, 0);
}

// Predicted points: the model's memory estimate beside the measured peak,
// and from an fp32 run's scaler record what mixed fp16's default scaler
// would waste (only at the run's accuracy, which fp16 would keep; not at
// its throughput, which it would not).
TEST(Tradeoff, PredictedPointsReplaceOneCoordinate) {
  Project p = testing::spirals_project(Policy::Float32, 10);
  std::vector<RunRecord> runs = {run(1, "float32", 0.9, 100, 0, RunStatus::Finished, project_to_json(p))};
  runs[0].summary.peak_memory = 12345;
  const Tradeoff m = tradeoff(runs, {}, TradeoffAxis::PeakMemory, TradeoffAxis::ValAccuracy);
  const TradeoffGroup& g = group(m, "float32");
  ASSERT_EQ(g.predicted.size(), 1u);
  const MemoryEstimate e = estimate_memory(analyze_model(p.model, p.file), p.training, p.training.batch_size);
  EXPECT_EQ(g.predicted[0].x, e.total());
  EXPECT_EQ(g.predicted[0].y, 0.9);
  EXPECT_EQ(g.x, 12345);  // the measured point stays

  // Every step's unscaled gradient amax is 4: fp16 at 2^16, 2^15 and 2^14
  // overflows (4 S >= 65,520), at 2^13 not: 3 of 10 steps skipped.
  std::vector<std::vector<StepMetrics>> steps(1);
  for (int s = 1; s <= 10; ++s) {
    StepMetrics st;
    st.step = s;
    st.unscaled_grad_amax = 4;
    steps[0].push_back(st);
  }
  const Tradeoff w =
      tradeoff(runs, {}, TradeoffAxis::WastedSteps, TradeoffAxis::ValAccuracy, 0.9, steps);
  const TradeoffGroup& fp16 = group(w, "mixed_float16");
  EXPECT_EQ(fp16.points, 0);
  ASSERT_EQ(fp16.predicted.size(), 1u);
  EXPECT_DOUBLE_EQ(fp16.predicted[0].x, 0.3);
  EXPECT_EQ(fp16.predicted[0].y, 0.9);
  EXPECT_EQ(fp16.predicted[0].run_id, 1);
  const Tradeoff speed =
      tradeoff(runs, {}, TradeoffAxis::WastedSteps, TradeoffAxis::SamplesPerS, 0.9, steps);
  for (const TradeoffGroup& grp : speed.groups) EXPECT_TRUE(grp.predicted.empty()) << grp.label;
}

}  // namespace
}  // namespace mantissa
