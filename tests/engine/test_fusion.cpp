// Linear + ReLU fusion: the graph runs a ReLU inside the Linear before it when
// nothing else reads the Linear's output, and training gives the same bits as
// the unfused layers (LeakyReLU with slope 0 computes the same function and is
// never fused).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/trainer.hpp"
#include "recording_backend.hpp"
#include "train_fixtures.hpp"

namespace mantissa::testing {
namespace {

Project mlp(const std::string& activation, Policy policy) {
  const std::string act = activation == "ReLU"
                              ? R"("type": "ReLU")"
                              : R"("type": "LeakyReLU", "params": {"negative_slope": 0})";
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "fusion",
    "dataset": {"kind": "spirals", "samples": 256, "classes": 2, "noise": 0.05, "seed": 3},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [2]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 32}},
      {"id": "act1", )" + act + R"(, "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["act1"], "params": {"out_features": 32}},
      {"id": "act2", )" + act + R"(, "inputs": ["fc2"]},
      {"id": "skip", "type": "Add", "inputs": ["act2", "fc3"]},
      {"id": "fc3", "type": "Linear", "inputs": ["act1"], "params": {"out_features": 32}},
      {"id": "act3", )" + act + R"(, "inputs": ["fc3"]},
      {"id": "both", "type": "Add", "inputs": ["skip", "act3"]},
      {"id": "out", "type": "Linear", "inputs": ["both"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["out"]}]},
    "training": {"batch_size": 32, "steps": 25, "seed": 9,
                 "optimizer": {"type": "sgd", "lr": 0.2, "momentum": 0.9}}})",
                            "fusion.json");
  p.training.policy = policy;
  return p;
}

TEST(LinearReluFusion, OnlyAReluThatAloneReadsALinearIsFused) {
  auto cpu = create_backend("cpu");
  const Project p = mlp("ReLU", Policy::Float32);
  Graph g(p.model, *cpu, p.training.policy, 0);
  // fc3's output is read by act3 and by the Add "skip": act3 stays a layer of its own.
  EXPECT_EQ(g.fused_relus(), (std::vector<std::string>{"act1", "act2"}));
  const Project leaky = mlp("LeakyReLU", Policy::Float32);
  EXPECT_TRUE(Graph(leaky.model, *cpu, Policy::Float32, 0).fused_relus().empty());
}

TEST(LinearReluFusion, FusedTrainingGivesTheBitsOfSeparateLayers) {
  for (Policy policy : {Policy::Float32, Policy::MixedBFloat16, Policy::MixedFloat16}) {
    RecordingBackend fused_backend(create_backend("cpu")), plain_backend(create_backend("cpu"));
    const TrainedRun a = train_on(fused_backend, mlp("ReLU", policy));
    const TrainedRun b = train_on(plain_backend, mlp("LeakyReLU", policy));
    ASSERT_EQ(a.summary.outcome, RunOutcome::Finished) << a.summary.error;
    ASSERT_EQ(b.summary.outcome, RunOutcome::Finished) << b.summary.error;
    ASSERT_EQ(a.sink.steps.size(), 25u);
    for (std::size_t i = 0; i < a.sink.steps.size(); ++i) {
      EXPECT_EQ(a.sink.steps[i].loss, b.sink.steps[i].loss)
          << policy_name(policy) << " step " << i + 1;
      EXPECT_EQ(a.sink.steps[i].grad_norm, b.sink.steps[i].grad_norm) << "step " << i + 1;
    }
    EXPECT_EQ(a.masters, b.masters) << policy_name(policy);
    EXPECT_EQ(a.summary.final_val_accuracy, b.summary.final_val_accuracy);
    // Two of the three ReLUs ran inside their Linear; only act3 ran on its own.
    EXPECT_GT(fused_backend.calls["linear_forward+relu"], 0);
    EXPECT_EQ(fused_backend.calls["activation_forward"] * 2,
              fused_backend.calls["linear_forward+relu"]);
    EXPECT_EQ(plain_backend.calls["linear_forward+relu"], 0);
  }
}

}  // namespace
}  // namespace mantissa::testing
