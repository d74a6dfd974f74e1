// The divergence probe (probe.hpp): a step run again in its policy and in
// float32 from the same state, and the ops that create error.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "mantissa/probe.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using test_data::TempDir;
using test_data::write_text;
using testing::RecordingSink;

// fc1 = x0 - x1 on x = (1.001, 1): 0.001 in fp32, but bf16 rounds 1.001 to
// 1, so the difference, and all after it, is 0. The inputs are off by 1e-3
// at most; fc1's output by 100%: the op that creates the error.
Project cancelling(const TempDir& dir, Policy policy) {
  write_text(dir.path() / "near.csv", "a,b,y\n1.001,1,0.5\n1.001,1,0.5\n1.001,1,0.5\n1.001,1,0.5\n");
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "cancel",
    "dataset": {"kind": "csv", "path": "near.csv", "normalize": false, "validation_fraction": 0},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [2]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 1}},
      {"id": "fc2", "type": "Linear", "inputs": ["fc1"], "params": {"out_features": 1}},
      {"id": "loss", "type": "MSE", "inputs": ["fc2"]}]},
    "training": {"policy": "float32", "batch_size": 4, "steps": 3,
                 "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0}}})",
                            dir.path() / "cancel.json");
  p.training.policy = policy;
  return p;
}

void set_weights(Trainer& t) {
  for (Param* prm : t.graph().params()) {
    std::vector<float> w(std::size_t(prm->master.numel()), 0.0f);
    if (prm->name == "fc1.weight") w = {1.0f, -1.0f};
    if (prm->name == "fc2.weight") w = {2.0f};
    prm->master.copy_from_host(w.data());
  }
}

struct Probed {
  StepProbe probe;
  std::vector<StepMetrics> steps;  // the same run, not probed
};

Probed probe_step(const Project& p, std::int64_t step) {
  auto be = create_backend("cpu");
  Probed out;
  {
    Trainer t(p, *be);
    set_weights(t);
    RecordingSink sink;
    TrainControl c;
    EXPECT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
    out.steps = sink.steps;
  }
  struct Sink : RecordingSink {
    std::optional<StepProbe> probe;
    void probe_recorded(const StepProbe& p) override { probe = p; }
  } sink;
  TrainOptions o;
  o.probe_step = step;
  Trainer t(p, *be, o);
  set_weights(t);
  TrainControl c;
  const RunSummary s = t.run(sink, c);
  EXPECT_EQ(s.outcome, RunOutcome::Stopped);
  EXPECT_EQ(sink.steps.size(), std::size_t(step - 1));  // the steps before, then the probe
  EXPECT_TRUE(sink.probe.has_value());
  if (sink.probe) out.probe = *sink.probe;
  return out;
}

const ProbeOp* find_op(const StepProbe& p, const std::string& layer, const std::string& what) {
  for (const ProbeOp& op : p.ops)
    if (op.layer == layer && op.what == what) return &op;
  return nullptr;
}

TEST(Probe, NamesTheOpThatCreatesTheError) {
  TempDir dir;
  const Probed r = probe_step(cancelling(dir, Policy::MixedBFloat16), 1);
  const StepProbe& p = r.probe;
  EXPECT_EQ(p.step, 1);
  // The state probed is the run's own: the loss has the bits the run had.
  EXPECT_EQ(std::bit_cast<std::uint32_t>(float(p.loss)),
            std::bit_cast<std::uint32_t>(float(r.steps[0].loss)));
  const ProbeOp* cast = find_op(p, "fc1", "input 0 cast to bf16");
  const ProbeOp* fc1 = find_op(p, "fc1", "output");
  const ProbeOp* fc2 = find_op(p, "fc2", "output");
  ASSERT_TRUE(cast && fc1 && fc2);
  EXPECT_LT(cast->error, 1e-3);
  EXPECT_GT(fc1->error, 0.5);  // 0.001 against about 0
  EXPECT_EQ(fc1->input_error, std::max(cast->error, find_op(p, "fc1", "16-bit copy of fc1.weight")->error));
  EXPECT_TRUE(fc1->culprit);
  EXPECT_FALSE(fc2->culprit);  // as far off as what it read
  EXPECT_FALSE(cast->culprit);  // a cast is the policy, not an op's doing
  ASSERT_FALSE(p.culprits.empty());
  EXPECT_EQ(p.culprits.front(), "fc1");
  EXPECT_NE(p.sentence().find("fc1 output"), std::string::npos) << p.sentence();
  // Gradients are compared after dividing out the loss scale, weight gradients too.
  EXPECT_NE(find_op(p, "fc2", "gradient of fc2.weight"), nullptr);
}

TEST(Probe, AFloat32RunIsExactlyItsOwnReference) {
  TempDir dir;
  const StepProbe p = probe_step(cancelling(dir, Policy::Float32), 3).probe;
  ASSERT_FALSE(p.ops.empty());
  for (const ProbeOp& op : p.ops) EXPECT_EQ(op.error, 0.0) << op.layer << " " << op.what;
  EXPECT_TRUE(p.culprits.empty());
  EXPECT_EQ(p.loss, p.loss_fp32);
  EXPECT_NE(p.sentence().find("drift built up"), std::string::npos);
}

// The rule on made-up errors: a culprit's error is ten times what it read
// and above the floor.
TEST(Probe, ACulpritIsTenTimesItsInputsAndAboveTheFloor) {
  StepProbe p;
  const auto add = [&](const char* layer, const char* what, TensorRole role, int input, double e) {
    ProbeOp op;
    op.layer = layer;
    op.what = what;
    op.role = role;
    op.input = input;
    op.error = e;
    p.ops.push_back(op);
  };
  using R = TensorRole;
  add("input", "input 0 cast to f16", R::Activation, 0, 1e-4);
  add("a", "output", R::Activation, -1, 5e-4);   // 5x: no
  add("b", "output", R::Activation, -1, 6e-3);   // 12x a: culprit
  add("c", "output", R::Activation, -1, 7e-3);   // no
  add("c", "gradient of input 0", R::ActivationGrad, 0, 1e-1);  // 14x c's output: culprit
  add("b", "gradient of input 0", R::ActivationGrad, 0, 2e-1);  // 2x c's gradient: no
  add("d", "output", R::Activation, -1, 5e-5);   // reads nothing, but below the floor
  const std::map<std::string, std::vector<std::string>> inputs{
      {"a", {"input"}}, {"b", {"a"}}, {"c", {"b"}}, {"d", {}}};
  mark_culprits(p, inputs);
  std::vector<bool> culprit;
  for (const ProbeOp& op : p.ops) culprit.push_back(op.culprit);
  EXPECT_EQ(culprit, (std::vector<bool>{false, false, true, false, true, false, false}));
  EXPECT_EQ(p.ops[4].input_error, 7e-3);
  EXPECT_EQ(p.ops[5].input_error, 1e-1);
  EXPECT_EQ(p.culprits, (std::vector<std::string>{"b", "c"}));
}

}  // namespace
}  // namespace mantissa
