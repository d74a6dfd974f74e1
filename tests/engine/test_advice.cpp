// Guided fixes (advice.hpp): findings over a run's record, and a fix tried.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>

#include "mantissa/advice.hpp"
#include "mantissa/error.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;
using testing::run_on_cpu;

// 8 features; every 8th row has all of them at 60,000 (fp16 holds that), so
// fc1's 16 outputs on those rows reach past 65,504 in fp16. A LayerNorm
// (fp32) follows fc1 and brings its output back to unit scale.
Project overflowing_layer_project(const std::filesystem::path& dir, Policy policy) {
  std::string csv = "a,b,c,d,e,f,g,h,label\n";
  for (int i = 0; i < 256; ++i) {
    const bool big = i % 8 == 3;
    for (int k = 0; k < 8; ++k)
      csv += (big ? std::string("60000") : std::to_string(0.1 * ((i * 7 + k * 3) % 11) - 0.5)) + ",";
    csv += std::to_string(i % 2) + "\n";
  }
  test_data::write_text(dir / "rows.csv", csv);
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "one-layer",
    "dataset": {"kind": "csv", "path": "rows.csv", "normalize": false, "validation_fraction": 0},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [8]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 16}},
      {"id": "norm", "type": "LayerNorm", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["norm"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]},
    "training": {"policy": "mixed_float16", "batch_size": 32, "steps": 24, "seed": 4,
                 "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0.9}}})",
                            dir / "one-layer.json");
  p.training.policy = policy;
  return p;
}

RunEvidence evidence_of(const Project& p, const RecordingSink& sink) {
  RunEvidence e;
  e.project = p;
  e.steps = sink.steps;
  e.provenance = sink.provenance;
  e.tensor_slots = sink.numerics_slots;
  for (const NumericsSample& s : sink.numerics)
    if (!s.histograms.empty()) e.samples.push_back(s);
  return e;
}

double tail_loss(const std::vector<StepMetrics>& steps) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = steps.size() - 10; i < steps.size(); ++i)
    if (!steps[i].skipped) sum += steps[i].loss, ++n;
  return n ? sum / n : std::nan("");
}

// Must hold: on a model built to overflow in one layer, the advisor proposes
// pinning that layer; the child run with the pin takes no skips, and its loss
// tracks the fp32 run of the same project (same weights, same batches).
TEST(Advice, AnOverflowingLayerIsPinnedAndTheChildRunTakesNoSkips) {
  test_data::TempDir dir;
  const Project p = overflowing_layer_project(dir.path(), Policy::MixedFloat16);
  RecordingSink run;
  ASSERT_EQ(run_on_cpu(p, run).outcome, RunOutcome::Finished);
  ASSERT_GE(run.summary.skipped_steps, 3);  // every batch holds big rows
  const std::vector<Finding> findings = advise(evidence_of(p, run));
  ASSERT_FALSE(findings.empty());
  const Finding& f = findings.front();
  EXPECT_EQ(f.rule, "forward-overflow");
  EXPECT_NE(f.evidence.find("fc1 output (f16) went non-finite first at step 1"), std::string::npos)
      << f.evidence;
  ASSERT_GE(f.fixes.size(), 2u);
  EXPECT_EQ(f.fixes[0].pin, std::vector<std::string>{"fc1"});
  EXPECT_EQ(f.fixes[0].title, "pin fc1 to fp32");
  EXPECT_EQ(f.fixes.back().policy, std::optional<Policy>(Policy::MixedBFloat16));
  // bf16 goes with bf16's own default scaling (none), not fp16's scaler.
  Project explicit_scaler = p;
  explicit_scaler.training.loss_scale.mode = LossScaleMode::Dynamic;
  const Project as_bf16 = apply_fix(explicit_scaler, f.fixes.back());
  EXPECT_EQ(effective_mode(as_bf16.training.policy, as_bf16.training.loss_scale),
            LossScaleMode::None);

  const Project child = apply_fix(p, f.fixes[0]);
  EXPECT_TRUE(child.model.layers[1].pin_fp32);
  EXPECT_EQ(child.training.policy, Policy::MixedFloat16);
  RecordingSink fixed;
  ASSERT_EQ(run_on_cpu(child, fixed).outcome, RunOutcome::Finished);
  EXPECT_EQ(fixed.summary.skipped_steps, 0);
  RecordingSink control;
  ASSERT_EQ(run_on_cpu(overflowing_layer_project(dir.path(), Policy::Float32), control).outcome,
            RunOutcome::Finished);
  const double want = tail_loss(control.steps), got = tail_loss(fixed.steps);
  std::cout << "[ advice   ] skips " << run.summary.skipped_steps << " -> "
            << fixed.summary.skipped_steps << "; loss over the last 10 steps " << got
            << " (fp32 " << want << ", unfixed " << tail_loss(run.steps) << ")\n";
  EXPECT_NEAR(got, want, 0.02 * want);
  // Nothing left to fix in the child.
  for (const Finding& g : advise(evidence_of(child, fixed)))
    EXPECT_NE(g.rule, "forward-overflow") << g.evidence;
}

// A burst of skips at the start from a scale far too large: an initial scale
// from the what-if, which predicts fewer skips.
TEST(Advice, EarlySkipsGetAnInitialScaleFromTheWhatIf) {
  Project p = testing::spirals_project(Policy::MixedFloat16, 40);
  p.training.loss_scale.mode = LossScaleMode::Dynamic;
  p.training.loss_scale.init_scale = std::ldexp(1.0, 30);
  RecordingSink run;
  ASSERT_EQ(run_on_cpu(p, run).outcome, RunOutcome::Finished);
  ASSERT_GE(run.summary.skipped_steps, 3);
  const std::vector<Finding> findings = advise(evidence_of(p, run));
  const Finding* early = nullptr;
  for (const Finding& f : findings)
    if (f.rule == "early-skips") early = &f;
  ASSERT_NE(early, nullptr);
  ASSERT_EQ(early->fixes.size(), 1u);
  ASSERT_TRUE(early->fixes[0].scaler.has_value());
  const double init = early->fixes[0].scaler->init_scale;
  EXPECT_LT(init, std::ldexp(1.0, 30));
  RecordingSink fixed;
  ASSERT_EQ(run_on_cpu(apply_fix(p, early->fixes[0]), fixed).outcome, RunOutcome::Finished);
  EXPECT_LT(fixed.summary.skipped_steps, run.summary.skipped_steps) << early->fixes[0].why;
}

TEST(Advice, AFixNamingAMissingLayerIsRefused) {
  Fix f;
  f.title = "pin ghost";
  f.pin = {"ghost"};
  try {
    apply_fix(testing::spirals_project(Policy::MixedFloat16, 4), f);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no layer 'ghost'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mantissa
