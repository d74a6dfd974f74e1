// The precision trade-off (tradeoff.hpp): groups, spreads and the frontier.
#include <gtest/gtest.h>

#include "mantissa/tradeoff.hpp"
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

}  // namespace
}  // namespace mantissa
