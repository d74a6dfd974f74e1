// The model as a builder sees it while unfinished (diagnose_model): shapes
// flow through every part that can be inferred, each problem sits on its own
// layer at once, and an unused output is a warning that stops nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mantissa/error.hpp"
#include "mantissa/layer_descriptor.hpp"
#include "mantissa/model.hpp"

namespace mantissa {
namespace {

LayerSpec layer(LayerKind kind, std::string id, std::vector<std::string> inputs = {}) {
  LayerSpec l = descriptor(kind).starter;
  l.id = std::move(id);
  l.inputs = std::move(inputs);
  return l;
}

LayerSpec input(std::vector<std::int64_t> shape) {
  LayerSpec l = layer(LayerKind::Input, "input");
  l.shape = std::move(shape);
  return l;
}

LayerSpec linear(std::string id, std::string from, std::int64_t out) {
  LayerSpec l = layer(LayerKind::Linear, std::move(id), {std::move(from)});
  l.out_features = out;
  return l;
}

// input [784] -> fc1 (64) -> relu -> fc2 (10) -> loss
ModelSpec mlp() {
  ModelSpec m;
  m.layers = {input({784}), linear("fc1", "input", 64), layer(LayerKind::ReLU, "relu", {"fc1"}),
              linear("fc2", "relu", 10), layer(LayerKind::SoftmaxCrossEntropy, "loss", {"fc2"})};
  return m;
}

std::vector<std::string> messages_of(const ModelDiagnosis& d, const std::string& id) {
  std::vector<std::string> out;
  for (const ModelProblem* p : d.problems_of(id)) out.push_back(p->message);
  return out;
}

TEST(ModelDiagnosis, ACompleteModelMatchesAnalyzeModel) {
  const ModelSpec m = mlp();
  const ModelDiagnosis d = diagnose_model(m);
  EXPECT_TRUE(d.complete());
  const ModelSummary s = analyze_model(m, "mlp.json");
  ASSERT_EQ(d.layers.size(), s.layers.size());
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    EXPECT_EQ(d.layers[i].id, s.layers[i].id);
    EXPECT_EQ(d.layers[i].output_shape, s.layers[i].output_shape);
    EXPECT_EQ(d.layers[i].params, s.layers[i].params);
    EXPECT_EQ(d.layers[i].activation_bytes, s.layers[i].activation_bytes);
    EXPECT_EQ(d.layers[i].output_dtype, s.layers[i].output_dtype);
  }
}

// Dropping an unconnected layer onto a valid model: it gets its own error
// and warning, every other layer keeps its shape.
TEST(ModelDiagnosis, AnUnconnectedLayerLeavesTheRestInferred) {
  ModelSpec m = mlp();
  m.layers.push_back(layer(LayerKind::Linear, "linear1"));
  const ModelDiagnosis d = diagnose_model(m);
  EXPECT_FALSE(d.complete());
  for (const char* id : {"input", "fc1", "relu", "fc2", "loss"})
    EXPECT_NE(d.find(id), nullptr) << id;
  EXPECT_EQ(d.find("fc2")->output_shape, Shape({10}));
  EXPECT_EQ(d.find("linear1"), nullptr);
  const auto problems = d.problems_of("linear1");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0]->message, "Linear takes exactly 1 input, got 0");
  EXPECT_FALSE(problems[0]->warning);
  EXPECT_EQ(problems[1]->message,
            "output is not used by any layer; every layer must lead to the loss 'loss'");
  EXPECT_TRUE(problems[1]->warning);
  for (const char* id : {"input", "fc1", "relu", "fc2", "loss"})
    EXPECT_TRUE(d.problems_of(id).empty()) << id;
}

// The real error of a dangling branch shows at once, beside the warning, and
// in words: no file name, no JSON path, no "layer '...':" prefix.
TEST(ModelDiagnosis, ADanglingBranchShowsItsShapeErrorAndAWarning) {
  ModelSpec m = mlp();
  LayerSpec conv = layer(LayerKind::Conv2d, "conv", {"fc2"});
  m.layers.push_back(conv);
  const ModelDiagnosis d = diagnose_model(m);
  EXPECT_EQ(messages_of(d, "conv"),
            (std::vector<std::string>{
                "output is not used by any layer; every layer must lead to the loss 'loss'",
                "Conv2d needs a [channels, height, width] input, got 10 from 'fc2'"}));
  EXPECT_EQ(d.find("conv"), nullptr);
  EXPECT_NE(d.find("loss"), nullptr);
  // Training still refuses the model, with the file and path.
  try {
    analyze_model(m, "m.json");
    ADD_FAILURE() << "a dangling layer was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "m.json: /model/nodes/5: layer 'conv': output is not used by any layer; every "
              "layer must lead to the loss 'loss'");
  }
}

// Two broken branches: both errors at once, and the layers after a broken
// one are not inferred (their problem is upstream), while a parallel good
// branch is.
TEST(ModelDiagnosis, EveryShapeErrorShowsOnItsOwnLayer) {
  ModelSpec m;
  m.layers = {input({3, 8, 8}),
              linear("bad_a", "input", 4),  // Linear needs [features]
              layer(LayerKind::Flatten, "flat", {"input"}),
              linear("good", "flat", 5),
              layer(LayerKind::GlobalAvgPool, "bad_b", {"good"}),  // needs [C, H, W]
              layer(LayerKind::ReLU, "after_b", {"bad_b"}),
              layer(LayerKind::Add, "sum", {"bad_a", "after_b"}),
              layer(LayerKind::MSE, "loss", {"sum"})};
  const ModelDiagnosis d = diagnose_model(m);
  ASSERT_NE(d.find("good"), nullptr);
  EXPECT_EQ(d.find("good")->output_shape, Shape({5}));
  EXPECT_EQ(d.find("flat")->output_shape, Shape({192}));
  std::vector<std::string> errored;
  for (const ModelProblem& p : d.problems) {
    EXPECT_FALSE(p.warning) << p.message;
    EXPECT_EQ(p.message.find("/model"), std::string::npos) << p.message;
    EXPECT_EQ(p.message.find("layer '"), std::string::npos) << p.message;
    errored.push_back(p.layer_id);
  }
  EXPECT_EQ(errored, (std::vector<std::string>{"bad_a", "bad_b"}))
      << "the layers after a broken one carry no error of their own";
  for (const char* id : {"after_b", "sum", "loss"}) EXPECT_EQ(d.find(id), nullptr) << id;
}

TEST(ModelDiagnosis, StructuralProblemsAreAllReportedWithoutThrowing) {
  ModelSpec m = mlp();
  m.layers[3].inputs = {"rleu"};              // fc2: unknown input
  m.layers.push_back(input({2}));             // a second Input with a duplicate id
  m.layers.push_back(linear("c1", "c2", 4));  // a cycle c1 <-> c2
  m.layers.push_back(linear("c2", "c1", 4));
  const ModelDiagnosis d = diagnose_model(m);
  EXPECT_EQ(messages_of(d, "fc2").front(), "input 'rleu' does not exist (did you mean 'relu'?)");
  EXPECT_FALSE(messages_of(d, "input").empty());
  EXPECT_FALSE(messages_of(d, "c1").empty());
  EXPECT_FALSE(messages_of(d, "c2").empty());
  EXPECT_NE(d.find("relu"), nullptr) << "the part before the broken input is still inferred";
  EXPECT_EQ(d.find("fc2"), nullptr);
  EXPECT_EQ(d.find("c1"), nullptr);
}

TEST(ModelDiagnosis, AnEmptyOrHalfStartedModelSaysWhatIsMissing) {
  const ModelDiagnosis empty = diagnose_model(ModelSpec{});
  ASSERT_EQ(empty.problems.size(), 1u);
  EXPECT_EQ(empty.problems[0].layer_id, "");
  EXPECT_EQ(empty.problems[0].message, "the model has no layers");

  ModelSpec started;
  started.layers = {input({4}), linear("fc", "input", 3)};
  const ModelDiagnosis d = diagnose_model(started);
  EXPECT_EQ(d.find("fc")->output_shape, Shape({3}));
  bool says_no_loss = false;
  for (const ModelProblem& p : d.problems)
    if (p.layer_id.empty() && p.message.rfind("the model has no loss layer", 0) == 0)
      says_no_loss = true;
  EXPECT_TRUE(says_no_loss);
}

// Every sample project is complete, and its diagnosis is its summary.
TEST(ModelDiagnosis, EverySampleProjectIsComplete) {
  int seen = 0;
  for (const auto& f : std::filesystem::directory_iterator(
           std::filesystem::path(MANTISSA_SOURCE_DIR) / "projects")) {
    if (f.path().extension() != ".json") continue;
    const Project p = load_project(f.path());
    const ModelDiagnosis d = diagnose_model(p.model);
    EXPECT_TRUE(d.complete()) << f.path();
    EXPECT_EQ(d.layers.size(), p.model.layers.size()) << f.path();
    ++seen;
  }
  EXPECT_GE(seen, 3);
}

}  // namespace
}  // namespace mantissa
