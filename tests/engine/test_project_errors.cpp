// Every kind of bad project file gives one InputError that names the file, the
// JSON pointer of the offending value and, where there is one, the layer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/model.hpp"

namespace mantissa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr const char* kFile = "projects/bad.json";

// A valid MLP; tests replace one part of it at a time.
constexpr const char* kMlpNodes = R"([
  {"id": "input", "type": "Input", "params": {"shape": [784]}},
  {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 512}},
  {"id": "relu1", "type": "ReLU", "inputs": ["fc1"]},
  {"id": "fc2", "type": "Linear", "inputs": ["relu1"], "params": {"out_features": 10}},
  {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}
])";

std::string project_text(const std::string& nodes = kMlpNodes, const std::string& training = "{}",
                         const std::string& dataset = R"({"kind": "mnist"})") {
  return R"({"format": "mantissa-project", "version": 1, "name": "t", "dataset": )" + dataset +
         R"(, "model": {"nodes": )" + nodes + R"(}, "training": )" + training + "}";
}

// The message parse_project throws for `text`, or a test failure if it accepts it.
std::string error_of(const std::string& text) {
  try {
    parse_project(text, kFile);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

std::string training_error(const std::string& training) {
  return error_of(project_text(kMlpNodes, training));
}

std::string nodes_error(const std::string& nodes) {
  return error_of(project_text(nodes));
}

TEST(ProjectErrors, ValidBaseProjectParses) {
  Project p = parse_project(project_text(), kFile);
  EXPECT_EQ(p.model.layers.size(), 5u);
  EXPECT_EQ(p.name, "t");
}

TEST(ProjectErrors, NotJsonGivesLineAndColumn) {
  std::string msg = error_of("{\n  \"format\": \"mantissa-project\",\n  \"version\": 1,,\n}");
  EXPECT_THAT(msg, AllOf(HasSubstr("projects/bad.json: "), HasSubstr("line 3, column"),
                         HasSubstr("not valid JSON")));
  EXPECT_THAT(error_of(""), AllOf(HasSubstr("bad.json: line 1"), HasSubstr("not valid JSON")));
}

TEST(ProjectErrors, DuplicateJsonKeyIsRejected) {
  std::string msg = training_error(R"({"batch_size": 64, "batch_size": 32})");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /training/batch_size: "),
                         HasSubstr("duplicate key 'batch_size'")));
}

// Nesting deeper than any project (100,000 brackets) is one error with its
// place, not a crash while the value is written back into a message.
TEST(ProjectErrors, DeepNestingIsRefusedNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(error_of(deep), HasSubstr("bad.json: /: nested more than 256 arrays or objects deep"));
  const std::string ok = std::string(200, '[') + std::string(200, ']');
  EXPECT_THAT(error_of(ok), HasSubstr("expected an object, got array [[[["));
}

// A project's name becomes its runs' names: one printable line.
TEST(ProjectErrors, ANameWithALineBreakIsRefused) {
  std::string text = project_text();
  const auto at = text.find("\"name\": \"t\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 11, "\"name\": \"t\\u001b[2J\"");
  EXPECT_THAT(error_of(text), HasSubstr("bad.json: /name: the name holds a terminal escape at byte 2"));
}

TEST(ProjectErrors, WrongFormat) {
  std::string text = project_text();
  text.replace(text.find("mantissa-project"), 16, "keras-model");
  EXPECT_THAT(error_of(text),
              AllOf(HasSubstr("bad.json: /format: "), HasSubstr("mantissa-project")));
  EXPECT_THAT(error_of(R"({"layers": []})"),
              AllOf(HasSubstr("bad.json: /format: "), HasSubstr("not a Mantissa project")));
  EXPECT_THAT(error_of("[1, 2]"),
              AllOf(HasSubstr("bad.json: /: "), HasSubstr("expected an object")));
}

TEST(ProjectErrors, UnsupportedVersion) {
  std::string text = project_text();
  text.replace(text.find("\"version\": 1"), 12, "\"version\": 7");
  EXPECT_THAT(
      error_of(text),
      HasSubstr("bad.json: /version: version 7 is not supported (this build reads version 1)"));
}

TEST(ProjectErrors, UnknownTopLevelKey) {
  std::string text = project_text();
  text.insert(1, R"("nmae": "x", )");
  EXPECT_THAT(error_of(text), AllOf(HasSubstr("bad.json: /nmae: "), HasSubstr("unknown key 'nmae'"),
                                    HasSubstr("did you mean 'name'?")));
}

TEST(ProjectErrors, UnknownLayerTypeSuggestsClosestName) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}},
    {"id": "c1", "type": "Conv2D", "inputs": ["input"], "params": {"out_channels": 4, "kernel": 3}}])");
  EXPECT_THAT(msg,
              AllOf(HasSubstr("bad.json: /model/nodes/1/type: layer 'c1': "),
                    HasSubstr("unknown layer type 'Conv2D'"), HasSubstr("did you mean 'Conv2d'?")));
  msg = nodes_error(R"([{"id": "x", "type": "Transformer"}])");
  EXPECT_THAT(
      msg, AllOf(HasSubstr("/model/nodes/0/type: layer 'x': "), HasSubstr("valid: Input, Linear")));
}

TEST(ProjectErrors, DuplicateId) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [784]}},
    {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 10}},
    {"id": "fc1", "type": "ReLU", "inputs": ["fc1"]},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc1"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes/2/id: layer 'fc1': "),
                         HasSubstr("duplicate id"), HasSubstr("/model/nodes/1")));
}

TEST(ProjectErrors, MissingInputReference) {
  std::string text = kMlpNodes;
  text.replace(text.find("[\"fc1\"]"), 7, "[\"fc9\"]");
  EXPECT_THAT(nodes_error(text),
              AllOf(HasSubstr("bad.json: /model/nodes/2/inputs/0: layer 'relu1': "),
                    HasSubstr("input 'fc9' does not exist"), HasSubstr("did you mean 'fc1'?")));
}

TEST(ProjectErrors, CycleNamesTheLayersOnIt) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [8]}},
    {"id": "mix", "type": "Add", "inputs": ["input", "back"]},
    {"id": "act", "type": "ReLU", "inputs": ["mix"]},
    {"id": "back", "type": "Tanh", "inputs": ["act"]},
    {"id": "fc", "type": "Linear", "inputs": ["act"], "params": {"out_features": 2}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes/"), HasSubstr("cycle"),
                         HasSubstr("'mix' -> 'act' -> 'back' -> 'mix'")));
  // A layer fed by itself is the shortest cycle.
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [8]}},
    {"id": "a", "type": "Add", "inputs": ["input", "a"]},
    {"id": "loss", "type": "MSE", "inputs": ["a"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1: layer 'a': "), HasSubstr("'a' -> 'a'")));
}

TEST(ProjectErrors, InputLayerCount) {
  std::string msg = nodes_error(R"([
    {"id": "fc", "type": "Linear", "params": {"out_features": 2}},
    {"id": "loss", "type": "MSE", "inputs": ["fc"]}])");
  // A Linear without inputs is caught first, by its arity.
  EXPECT_THAT(
      msg, AllOf(HasSubstr("/model/nodes/0/inputs: layer 'fc': "), HasSubstr("exactly 1 input")));
  msg = nodes_error(R"([{"id": "loss", "type": "Add", "inputs": ["loss", "loss"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes: "), HasSubstr("no Input layer")));
  msg = nodes_error(R"([
    {"id": "a", "type": "Input", "params": {"shape": [4]}},
    {"id": "b", "type": "Input", "params": {"shape": [4]}},
    {"id": "sum", "type": "Add", "inputs": ["a", "b"]},
    {"id": "loss", "type": "MSE", "inputs": ["sum"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes/1: layer 'b': "),
                         HasSubstr("more than one Input")));
}

TEST(ProjectErrors, LossCountAndPlace) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [4]}},
    {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes: "), HasSubstr("no loss layer")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [4]}},
    {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
    {"id": "l1", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]},
    {"id": "l2", "type": "MSE", "inputs": ["fc"]}])");
  EXPECT_THAT(msg,
              AllOf(HasSubstr("/model/nodes/3: layer 'l2': "), HasSubstr("more than one loss")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [4]}},
    {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
    {"id": "loss", "type": "MSE", "inputs": ["fc"]},
    {"id": "after", "type": "ReLU", "inputs": ["loss"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/3/inputs/0: layer 'after': "),
                         HasSubstr("the loss must be the last layer")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [4]}},
    {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
    {"id": "spare", "type": "Tanh", "inputs": ["fc"]},
    {"id": "loss", "type": "MSE", "inputs": ["fc"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/2: layer 'spare': "), HasSubstr("not used")));
}

TEST(ProjectErrors, WrongArity) {
  std::string text = kMlpNodes;
  text.replace(text.find("[\"fc1\"]"), 7, "[\"fc1\", \"input\"]");
  EXPECT_THAT(nodes_error(text), AllOf(HasSubstr("/model/nodes/2/inputs: layer 'relu1': "),
                                       HasSubstr("ReLU takes exactly 1 input, got 2")));
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [4]}},
    {"id": "sum", "type": "Add", "inputs": ["input"]},
    {"id": "loss", "type": "MSE", "inputs": ["sum"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1/inputs: layer 'sum': "),
                         HasSubstr("Add needs at least 2 inputs, got 1")));
}

TEST(ProjectErrors, AddShapeMismatchShowsBothShapes) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [784]}},
    {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 512}},
    {"id": "fc2", "type": "Linear", "inputs": ["input"], "params": {"out_features": 256}},
    {"id": "add1", "type": "Add", "inputs": ["fc1", "fc2"]},
    {"id": "loss", "type": "MSE", "inputs": ["add1"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes/3: "),
                         HasSubstr("layer 'add1': input shapes 512 and 256 differ")));
}

TEST(ProjectErrors, ConcatNeedsMatchingTrailingDims) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [3, 8, 8]}},
    {"id": "a", "type": "Conv2d", "inputs": ["input"], "params": {"out_channels": 4, "kernel": 3}},
    {"id": "b", "type": "Conv2d", "inputs": ["input"], "params": {"out_channels": 4, "kernel": 1}},
    {"id": "cat", "type": "Concat", "inputs": ["a", "b"]},
    {"id": "flat", "type": "Flatten", "inputs": ["cat"]},
    {"id": "loss", "type": "MSE", "inputs": ["flat"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/3: layer 'cat': "), HasSubstr("4×6×6 and 4×8×8")));
}

TEST(ProjectErrors, LinearOnImageNeedsFlatten) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}},
    {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 10}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /model/nodes/1: layer 'fc': "), HasSubstr("1×28×28"),
                         HasSubstr("Flatten")));
}

TEST(ProjectErrors, LossNeedsClassScores) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [1, 4, 4]}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["input"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1: layer 'loss': "),
                         HasSubstr("[classes] or [positions, classes]"), HasSubstr("1×4×4")));
}

TEST(ProjectErrors, KernelLargerThanPaddedInput) {
  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [1, 4, 4]}},
    {"id": "conv", "type": "Conv2d", "inputs": ["input"],
     "params": {"out_channels": 2, "kernel": 7, "padding": 1}},
    {"id": "flat", "type": "Flatten", "inputs": ["conv"]},
    {"id": "loss", "type": "MSE", "inputs": ["flat"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1: layer 'conv': "),
                         HasSubstr("kernel 7×7 is larger than the padded input 6×6")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [2, 3, 9]}},
    {"id": "pool", "type": "MaxPool2d", "inputs": ["input"], "params": {"kernel": [4, 2]}},
    {"id": "flat", "type": "Flatten", "inputs": ["pool"]},
    {"id": "loss", "type": "MSE", "inputs": ["flat"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1: layer 'pool': "), HasSubstr("kernel 4×2")));
}

TEST(ProjectErrors, BadLayerParameterValues) {
  auto with_fc1_params = [](const std::string& params) {
    std::string text = kMlpNodes;
    text.replace(text.find(R"({"out_features": 512})"), 21, params);
    return nodes_error(text);
  };
  const std::string at = "bad.json: /model/nodes/1/params/";
  EXPECT_THAT(with_fc1_params(R"({"out_features": 0})"),
              AllOf(HasSubstr(at + "out_features: layer 'fc1': "), HasSubstr(">= 1, got 0")));
  EXPECT_THAT(
      with_fc1_params(R"({"out_features": 2.5})"),
      AllOf(HasSubstr(at + "out_features: layer 'fc1': "), HasSubstr("expected an integer")));
  EXPECT_THAT(with_fc1_params(R"({"out_features": "512"})"),
              AllOf(HasSubstr(at + "out_features: layer 'fc1': "), HasSubstr("got string")));
  EXPECT_THAT(with_fc1_params(R"({"out_feature": 512})"),
              AllOf(HasSubstr(at + "out_feature"), HasSubstr("layer 'fc1'")));
  EXPECT_THAT(with_fc1_params(R"({"out_features": 8, "outfeatures": 8})"),
              AllOf(HasSubstr(at + "outfeatures: layer 'fc1': "), HasSubstr("unknown key"),
                    HasSubstr("did you mean 'out_features'?")));
  EXPECT_THAT(with_fc1_params(R"({"out_features": 8, "bias": "yes"})"),
              AllOf(HasSubstr(at + "bias: layer 'fc1': "), HasSubstr("true or false")));
  EXPECT_THAT(with_fc1_params(R"({"out_features": 8, "init": "he"})"),
              AllOf(HasSubstr(at + "init: layer 'fc1': "), HasSubstr("kaiming_uniform")));
  EXPECT_THAT(with_fc1_params(R"({"out_features": 8, "p": 0.5})"),
              AllOf(HasSubstr(at + "p: layer 'fc1': "), HasSubstr("unknown key 'p' for Linear")));

  std::string msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [16]}},
    {"id": "drop", "type": "Dropout", "inputs": ["input"], "params": {"p": 1.0}},
    {"id": "loss", "type": "MSE", "inputs": ["drop"]}])");
  EXPECT_THAT(msg,
              AllOf(HasSubstr("/model/nodes/1/params/p: layer 'drop': "), HasSubstr("[0, 1)")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [1, 8, 8]}},
    {"id": "conv", "type": "Conv2d", "inputs": ["input"],
     "params": {"out_channels": 2, "kernel": 3, "padding": [1, -1]}},
    {"id": "loss", "type": "MSE", "inputs": ["conv"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1/params/padding/1: layer 'conv': "),
                         HasSubstr(">= 0, got -1")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [1, 8, 8]}},
    {"id": "conv", "type": "Conv2d", "inputs": ["input"], "params": {"out_channels": 2}},
    {"id": "loss", "type": "MSE", "inputs": ["conv"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1/params/kernel: layer 'conv': "),
                         HasSubstr("missing required key 'kernel'")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [784, 2]}},
    {"id": "loss", "type": "MSE", "inputs": ["input"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/0/params/shape: layer 'input': "),
                         HasSubstr("[channels, height, width]")));
  msg = nodes_error(R"([
    {"id": "input", "type": "Input", "params": {"shape": [16]}},
    {"id": "act", "type": "ReLU", "inputs": ["input"], "params": {"inplace": true}},
    {"id": "loss", "type": "MSE", "inputs": ["act"]}])");
  EXPECT_THAT(msg, AllOf(HasSubstr("/model/nodes/1/params/inplace: layer 'act': "),
                         HasSubstr("takes no keys")));
}

TEST(ProjectErrors, BadNodeStructure) {
  EXPECT_THAT(nodes_error(R"([{"id": "input", "type": "Input", "params": {"shape": [4]}}, 3])"),
              AllOf(HasSubstr("bad.json: /model/nodes/1: "), HasSubstr("expected an object")));
  EXPECT_THAT(nodes_error(R"([{"type": "Input", "params": {"shape": [4]}}])"),
              AllOf(HasSubstr("/model/nodes/0/id: "), HasSubstr("missing required key 'id'")));
  EXPECT_THAT(nodes_error(R"([{"id": "in put", "type": "Input", "params": {"shape": [4]}}])"),
              AllOf(HasSubstr("/model/nodes/0/id: "), HasSubstr("'in put'")));
  EXPECT_THAT(
      nodes_error(R"([{"id": "in", "type": "Input", "input": [], "params": {"shape": [4]}}])"),
      AllOf(HasSubstr("/model/nodes/0/input: layer 'in': "), HasSubstr("did you mean 'inputs'?")));
  EXPECT_THAT(error_of(project_text("{}")),
              AllOf(HasSubstr("/model/nodes: "), HasSubstr("expected an array")));
}

TEST(ProjectErrors, BadTrainingValues) {
  EXPECT_THAT(training_error(R"({"policy": "mixed_fp16"})"),
              AllOf(HasSubstr("bad.json: /training/policy: "),
                    HasSubstr("unknown policy 'mixed_fp16'"), HasSubstr("mixed_float16")));
  EXPECT_THAT(training_error(R"({"batch_size": 0})"),
              AllOf(HasSubstr("bad.json: /training/batch_size: "), HasSubstr(">= 1, got 0")));
  EXPECT_THAT(training_error(R"({"epochs": 1.5})"),
              AllOf(HasSubstr("/training/epochs: "), HasSubstr("expected an integer")));
  EXPECT_THAT(training_error(R"({"optimizer": {"lr": 0}})"),
              AllOf(HasSubstr("/training/optimizer/lr: "), HasSubstr("lr must be > 0")));
  EXPECT_THAT(training_error(R"({"optimizer": {"type": "adamww"}})"),
              AllOf(HasSubstr("/training/optimizer/type: "),
                    HasSubstr("unknown optimizer 'adamww'"), HasSubstr("did you mean 'adamw'?")));
  EXPECT_THAT(training_error(R"({"optimizer": {"type": "adam", "momentum": 0.9}})"),
              AllOf(HasSubstr("/training/optimizer"), HasSubstr("momentum")));
  EXPECT_THAT(training_error(R"({"optimizer": {"type": "sgd", "beta1": 0.9}})"),
              AllOf(HasSubstr("/training/optimizer/beta1: "), HasSubstr("for optimizer 'sgd'")));
  EXPECT_THAT(
      training_error(R"({"schedule": {"type": "linear"}})"),
      AllOf(HasSubstr("/training/schedule/type: "), HasSubstr("unknown schedule 'linear'")));
  EXPECT_THAT(training_error(R"({"loss_scale": {"growth_interval": 0}})"),
              AllOf(HasSubstr("/training/loss_scale/growth_interval: "), HasSubstr(">= 1, got 0")));
  EXPECT_THAT(training_error(R"({"loss_scale": {"backoff_factor": 1.5}})"),
              AllOf(HasSubstr("/training/loss_scale/backoff_factor: "), HasSubstr("in (0, 1)")));
  EXPECT_THAT(training_error(R"({"loss_scale": {"growth_factor": 1}})"),
              AllOf(HasSubstr("/training/loss_scale/growth_factor: "), HasSubstr("> 1")));
  EXPECT_THAT(
      training_error(R"({"loss_scale": {"mode": "auto"}})"),
      AllOf(HasSubstr("/training/loss_scale/mode: "), HasSubstr("unknown loss scale mode")));
  EXPECT_THAT(
      training_error(R"({"learning_rate": 0.1})"),
      AllOf(HasSubstr("/training/learning_rate: "), HasSubstr("unknown key 'learning_rate'")));
  EXPECT_THAT(training_error(R"({"backend": "gpu"})"),
              AllOf(HasSubstr("/training/backend: "), HasSubstr("unknown backend 'gpu'")));
  EXPECT_THAT(training_error(R"({"steps": 0})"), HasSubstr("/training/steps: "));
  EXPECT_THAT(training_error(R"({"allow_tf32": "yes"})"),
              AllOf(HasSubstr("/training/allow_tf32: "), HasSubstr("expected true or false")));
  EXPECT_THAT(training_error(R"({"cuda_graphs": 0})"),
              AllOf(HasSubstr("/training/cuda_graphs: "), HasSubstr("expected true or false")));
}

TEST(ProjectErrors, BadDataset) {
  std::string msg = error_of(project_text(kMlpNodes, "{}", R"({"kind": "imagenet"})"));
  EXPECT_THAT(msg, AllOf(HasSubstr("bad.json: /dataset/kind: "),
                         HasSubstr("unknown dataset kind 'imagenet'"), HasSubstr("mnist")));
  msg = error_of(project_text(kMlpNodes, "{}", R"({"kind": "csv"})"));
  EXPECT_THAT(msg, AllOf(HasSubstr("/dataset/path: "), HasSubstr("missing required key 'path'")));
  msg = error_of(project_text(kMlpNodes, "{}", R"({"kind": "mnist", "samples": 10})"));
  EXPECT_THAT(msg, AllOf(HasSubstr("/dataset/samples: "), HasSubstr("for dataset kind 'mnist'")));
  msg = error_of(project_text(kMlpNodes, "{}", R"({"kind": "spirals", "noise": -1})"));
  EXPECT_THAT(msg, AllOf(HasSubstr("/dataset/noise: "), HasSubstr(">= 0")));
  // A NUL would cut the file name short where it is opened ("…/abc").
  msg = error_of(project_text(kMlpNodes, "{}", R"({"kind": "text", "path": "abc\u0000def"})"));
  EXPECT_THAT(msg, HasSubstr("bad.json: /dataset/path: a file name cannot hold a NUL character"));
}

TEST(ProjectErrors, LoadProjectOfMissingFileNamesIt) {
  auto missing = std::filesystem::temp_directory_path() / "mantissa-no-such-project.json";
  try {
    load_project(missing);
    FAIL() << "loaded a missing file";
  } catch (const InputError& e) {
    EXPECT_THAT(std::string(e.what()),
                AllOf(HasSubstr(missing.string() + ": "), HasSubstr("cannot open project file")));
  }
}

TEST(ProjectErrors, LoadProjectReportsErrorsWithItsPath) {
  auto dir = std::filesystem::temp_directory_path() / "mantissa-test-project-errors";
  std::filesystem::create_directories(dir);
  auto file = dir / "broken.json";
  std::ofstream(file) << project_text(kMlpNodes, R"({"batch_size": -4})");
  try {
    load_project(file);
    FAIL() << "accepted a negative batch size";
  } catch (const InputError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(file.string() + ": /training/batch_size: "));
  }
  std::filesystem::remove_all(dir);
}

// Node positions are the studio's layout: kept through a save, checked on
// read, and never part of what the model computes.
TEST(ProjectErrors, NodePositionRoundTripsAndBadOnesAreNamed) {
  Project p = parse_project(project_text(R"([
    {"id": "input", "type": "Input", "params": {"shape": [784]}, "position": [12.4, -30]},
    {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 10}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"], "position": [250, 110.6]}])"),
                            kFile);
  ASSERT_TRUE(p.model.layers[0].position.has_value());
  EXPECT_DOUBLE_EQ(p.model.layers[0].position->x, 12.4);
  EXPECT_DOUBLE_EQ(p.model.layers[0].position->y, -30);
  EXPECT_FALSE(p.model.layers[1].position.has_value());
  const Project back = parse_project(project_to_json(p), kFile);
  ASSERT_TRUE(back.model.layers[2].position.has_value());
  EXPECT_EQ(*back.model.layers[2].position, (CanvasPosition{250, 111}));  // whole units
  EXPECT_EQ(*back.model.layers[0].position, (CanvasPosition{12, -30}));
  EXPECT_FALSE(back.model.layers[1].position.has_value());
  EXPECT_THAT(nodes_error(R"([{"id": "input", "type": "Input", "params": {"shape": [4]},
                                "position": [1]}])"),
              AllOf(HasSubstr("bad.json: /model/nodes/0/position: layer 'input': "),
                    HasSubstr("expected [x, y]")));
  EXPECT_THAT(nodes_error(R"([{"id": "input", "type": "Input", "params": {"shape": [4]},
                                "position": [1, "a"]}])"),
              AllOf(HasSubstr("/model/nodes/0/position/1: layer 'input': "),
                    HasSubstr("expected a canvas coordinate")));
  EXPECT_THAT(nodes_error(R"([{"id": "input", "type": "Input", "params": {"shape": [4]},
                                "position": [1e300, 0]}])"),
              HasSubstr("/model/nodes/0/position/0: "));
}

}  // namespace
}  // namespace mantissa
