// Sample projects, shape inference, costs, dtypes per policy, topological
// order and the project_to_json -> parse_project round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "engine/model_compare.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"

namespace mantissa {
namespace {

const std::filesystem::path kProjects = std::filesystem::path(MANTISSA_SOURCE_DIR) / "projects";
constexpr std::size_t kF32 = 0, kF16 = 1, kBF16 = 2;  // indices of kSummaryPolicies

std::map<std::string, LayerInfo> by_id(const ModelSummary& s) {
  std::map<std::string, LayerInfo> m;
  for (const auto& l : s.layers) m.emplace(l.id, l);
  return m;
}

std::int64_t flops_of_kind(const ModelSummary& s, LayerKind kind) {
  std::int64_t n = 0;
  for (const auto& l : s.layers)
    if (l.kind == kind) n += l.forward_flops;
  return n;
}

TEST(ProjectSamples, MnistMlp) {
  Project p = load_project(kProjects / "mnist-mlp.json");
  EXPECT_EQ(p.name, "mnist-mlp");
  EXPECT_EQ(p.dataset.kind, "mnist");
  EXPECT_EQ(p.training.policy, Policy::Float32);
  EXPECT_EQ(p.training.optimizer.kind, OptimizerKind::Sgd);
  EXPECT_DOUBLE_EQ(p.training.optimizer.lr, 0.05);
  EXPECT_DOUBLE_EQ(p.training.optimizer.momentum, 0.9);
  EXPECT_EQ(p.training.batch_size, 128);
  EXPECT_EQ(p.training.epochs, 5);

  ModelSummary s = analyze_model(p.model, p.file);
  EXPECT_EQ(s.total_params, 669'706);
  EXPECT_EQ(s.output_id, "fc3");
  EXPECT_EQ(s.loss_id, "loss");
  auto l = by_id(s);
  EXPECT_EQ(l["input"].output_shape, (Shape{784}));
  EXPECT_EQ(l["fc1"].output_shape, (Shape{512}));
  EXPECT_EQ(l["fc3"].output_shape, (Shape{10}));
  EXPECT_EQ(l["loss"].output_shape.rank(), 0u);
  EXPECT_EQ(l["fc1"].params, 784 * 512 + 512);
  EXPECT_EQ(l["fc1"].input_shapes, (std::vector<Shape>{Shape{784}}));
  EXPECT_EQ(flops_of_kind(s, LayerKind::Linear), 2 * (784 * 512 + 512 * 512 + 512 * 10));
  EXPECT_EQ(l["relu1"].forward_flops, 512);
  EXPECT_EQ(l["input"].forward_flops, 0);

  // fp32 activations are 4 bytes everywhere; under mixed_float16 the linear
  // outputs and the ReLUs after them halve, the input and the loss do not.
  EXPECT_EQ(l["fc1"].activation_bytes[kF32], 512 * 4);
  EXPECT_EQ(l["fc1"].activation_bytes[kF16], 512 * 2);
  EXPECT_EQ(l["relu2"].activation_bytes[kBF16], 512 * 2);
  EXPECT_EQ(l["input"].activation_bytes[kF16], 784 * 4);
  EXPECT_EQ(l["loss"].activation_bytes[kF16], 4);
  std::int64_t sum = 0;
  for (const auto& info : s.layers) sum += info.activation_bytes[kF16];
  EXPECT_EQ(s.total_activation_bytes[kF16], sum);
  EXPECT_LT(s.total_activation_bytes[kF16], s.total_activation_bytes[kF32]);
}

TEST(ProjectSamples, MnistCnnShapesAndParams) {
  Project p = load_project(kProjects / "mnist-cnn.json");
  ModelSummary s = analyze_model(p.model, p.file);
  auto l = by_id(s);
  EXPECT_EQ(l["input"].output_shape, (Shape{1, 28, 28}));
  EXPECT_EQ(l["conv1"].output_shape, (Shape{16, 28, 28}));
  EXPECT_EQ(l["pool1"].output_shape, (Shape{16, 14, 14}));
  EXPECT_EQ(l["conv2"].output_shape, (Shape{32, 14, 14}));
  EXPECT_EQ(l["pool2"].output_shape, (Shape{32, 7, 7}));
  EXPECT_EQ(l["flatten"].output_shape, (Shape{1568}));
  EXPECT_EQ(l["fc"].output_shape, (Shape{10}));
  EXPECT_EQ(l["conv1"].params, 160);
  EXPECT_EQ(l["conv2"].params, 4'640);
  EXPECT_EQ(l["fc"].params, 15'690);
  EXPECT_EQ(s.total_params, 20'490);
  EXPECT_EQ(l["conv1"].forward_flops, 2 * 16 * 28 * 28 * (1 * 3 * 3));
  EXPECT_EQ(l["conv2"].forward_flops, 2 * 32 * 14 * 14 * (16 * 3 * 3));
  EXPECT_EQ(l["pool1"].forward_flops, 16 * 14 * 14 * 4);
  EXPECT_EQ(l["flatten"].forward_flops, 0);
  EXPECT_EQ(l["conv2"].output_dtype[kBF16], DType::BF16);
  EXPECT_EQ(l["pool2"].output_dtype[kBF16], DType::BF16);
  EXPECT_EQ(s.output_id, "fc");
}

TEST(ProjectSamples, Spirals) {
  Project p = load_project(kProjects / "spirals.json");
  EXPECT_EQ(p.dataset.kind, "spirals");
  EXPECT_EQ(p.dataset.classes, 2);
  EXPECT_EQ(p.dataset.seed, 7u);
  EXPECT_EQ(p.training.optimizer.kind, OptimizerKind::AdamW);
  EXPECT_DOUBLE_EQ(p.training.optimizer.lr, 0.01);
  EXPECT_EQ(p.training.batch_size, 64);
  ModelSummary s = analyze_model(p.model, p.file);
  EXPECT_EQ(s.total_params, (2 * 64 + 64) + (64 * 64 + 64) + (64 * 2 + 2));
  EXPECT_EQ(s.layers.back().id, "loss");
}

TEST(ProjectSamples, ResidualMlp) {
  Project p = load_project(kProjects / "residual-mlp.json");
  EXPECT_EQ(p.training.policy, Policy::MixedFloat16);
  ModelSummary s = analyze_model(p.model, p.file);
  auto l = by_id(s);
  const std::int64_t linear256 = 256 * 256 + 256;
  const std::int64_t block = 2 * 256 + 2 * linear256;
  EXPECT_EQ(s.total_params, (784 * 256 + 256) + 2 * block + (256 * 10 + 10));
  EXPECT_EQ(l["block1_add"].output_shape, (Shape{256}));
  EXPECT_EQ(l["block2_norm"].params, 512);
  // LayerNorm is forced fp32; the Linear after it is fp16 again; both Add
  // inputs are fp16, so the sum is too; the pinned head stays fp32.
  EXPECT_EQ(l["block1_norm"].output_dtype[kF16], DType::F32);
  EXPECT_EQ(l["block1_fc1"].output_dtype[kF16], DType::F16);
  EXPECT_EQ(l["block1_add"].output_dtype[kF16], DType::F16);
  EXPECT_EQ(l["head"].output_dtype[kF16], DType::F32);
  EXPECT_EQ(l["head"].output_dtype[kBF16], DType::F32);
  EXPECT_EQ(l["loss"].output_dtype[kBF16], DType::F32);
}

LayerSpec layer(LayerKind kind, bool pin = false) {
  return LayerSpec{.id = "x", .kind = kind, .pin_fp32 = pin};
}

TEST(ProjectDtype, LinearAndConvComputeInThePolicyDtype) {
  for (LayerKind k : {LayerKind::Linear, LayerKind::Conv2d}) {
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::Float32, {DType::F32}), DType::F32);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedFloat16, {DType::F32}), DType::F16);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedBFloat16, {DType::F32}), DType::BF16);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::Float16, {DType::F16}), DType::F16);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::BFloat16, {DType::BF16}), DType::BF16);
    EXPECT_EQ(layer_output_dtype(layer(k, true), Policy::MixedFloat16, {DType::F16}), DType::F32);
    EXPECT_EQ(layer_output_dtype(layer(k, true), Policy::BFloat16, {DType::BF16}), DType::F32);
  }
}

TEST(ProjectDtype, ForcedFp32Layers) {
  for (LayerKind k : {LayerKind::LayerNorm, LayerKind::SoftmaxCrossEntropy, LayerKind::MSE}) {
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedFloat16, {DType::F16}), DType::F32);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedBFloat16, {DType::BF16}), DType::F32);
  }
}

TEST(ProjectDtype, OtherLayersFollowTheirInput) {
  for (LayerKind k : {LayerKind::ReLU, LayerKind::GELU, LayerKind::BatchNorm, LayerKind::Dropout,
                      LayerKind::MaxPool2d, LayerKind::Flatten}) {
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedFloat16, {DType::F16}), DType::F16);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedBFloat16, {DType::BF16}), DType::BF16);
    EXPECT_EQ(layer_output_dtype(layer(k), Policy::MixedFloat16, {DType::F32}), DType::F32);
    EXPECT_EQ(layer_output_dtype(layer(k, true), Policy::MixedFloat16, {DType::F16}), DType::F32);
  }
  EXPECT_EQ(
      layer_output_dtype(layer(LayerKind::Add), Policy::MixedFloat16, {DType::F16, DType::F16}),
      DType::F16);
  EXPECT_EQ(
      layer_output_dtype(layer(LayerKind::Add), Policy::MixedFloat16, {DType::F16, DType::F32}),
      DType::F32);
  EXPECT_EQ(layer_output_dtype(layer(LayerKind::Concat), Policy::MixedBFloat16,
                               {DType::BF16, DType::BF16, DType::F16}),
            DType::F32);
}

TEST(ProjectDtype, InputEmitsFp32UnlessThePolicyIsPure16Bit) {
  EXPECT_EQ(layer_output_dtype(layer(LayerKind::Input), Policy::Float32, {}), DType::F32);
  EXPECT_EQ(layer_output_dtype(layer(LayerKind::Input), Policy::MixedFloat16, {}), DType::F32);
  EXPECT_EQ(layer_output_dtype(layer(LayerKind::Input), Policy::MixedBFloat16, {}), DType::F32);
  EXPECT_EQ(layer_output_dtype(layer(LayerKind::Input), Policy::Float16, {}), DType::F16);
  EXPECT_EQ(layer_output_dtype(layer(LayerKind::Input), Policy::BFloat16, {}), DType::BF16);
}

TEST(ProjectDtype, PinnedLayerIsFp32InTheSummary) {
  Project p = load_project(kProjects / "mnist-mlp.json");
  for (auto& l : p.model.layers)
    if (l.id == "fc2") l.pin_fp32 = true;
  auto l = by_id(analyze_model(p.model, p.file));
  EXPECT_EQ(l["fc1"].output_dtype[kF16], DType::F16);
  EXPECT_EQ(l["fc2"].output_dtype[kF16], DType::F32);
  EXPECT_EQ(l["fc2"].activation_bytes[kF16], 512 * 4);
  EXPECT_EQ(l["relu2"].output_dtype[kF16], DType::F32);  // follows its fp32 input
  EXPECT_EQ(l["fc3"].output_dtype[kF16], DType::F16);
}

// A residual block written consumers-first: the file order is not an order
// the graph can run in.
constexpr const char* kOutOfOrder = R"({"format": "mantissa-project", "version": 1,
  "dataset": {"kind": "mnist"},
  "model": {"nodes": [
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]},
    {"id": "head", "type": "Linear", "inputs": ["sum"], "params": {"out_features": 10}},
    {"id": "sum", "type": "Add", "inputs": ["branch", "stem"]},
    {"id": "branch", "type": "GELU", "inputs": ["inner"]},
    {"id": "inner", "type": "Linear", "inputs": ["stem"], "params": {"out_features": 64}},
    {"id": "stem", "type": "Linear", "inputs": ["input"], "params": {"out_features": 64}},
    {"id": "input", "type": "Input", "params": {"shape": [784]}}]}})";

TEST(ProjectTopology, OrderPutsEveryLayerAfterItsInputs) {
  Project p = parse_project(kOutOfOrder, "out-of-order.json");
  auto order = topological_order(p.model);
  ASSERT_EQ(order.size(), p.model.layers.size());
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < order.size(); ++i) position[order[i]->id] = i;
  EXPECT_EQ(position.size(), order.size());
  for (const auto& l : p.model.layers)
    for (const auto& in : l.inputs)
      EXPECT_LT(position.at(in), position.at(l.id)) << in << " -> " << l.id;
  EXPECT_EQ(order.front()->id, "input");
  EXPECT_EQ(order.back()->id, "loss");

  ModelSummary s = analyze_model(p.model, p.file);
  EXPECT_EQ(s.layers.front().id, "input");
  EXPECT_EQ(by_id(s)["sum"].input_shapes, (std::vector<Shape>{Shape{64}, Shape{64}}));
  EXPECT_EQ(s.output_id, "head");
}

TEST(ProjectTopology, OrderedFileKeepsItsOrder) {
  Project p = load_project(kProjects / "residual-mlp.json");
  auto order = topological_order(p.model);
  ASSERT_EQ(order.size(), p.model.layers.size());
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], &p.model.layers[i]);
}

using testing::expect_same_layers;

void expect_same_project(const Project& a, const Project& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.version, b.version);
  const DatasetSpec &d = a.dataset, &e = b.dataset;
  EXPECT_EQ(d.kind, e.kind);
  EXPECT_EQ(d.images, e.images);
  EXPECT_EQ(d.labels, e.labels);
  EXPECT_EQ(d.path, e.path);
  EXPECT_EQ(d.label_column, e.label_column);
  EXPECT_EQ(d.normalize, e.normalize);
  EXPECT_EQ(d.samples, e.samples);
  EXPECT_EQ(d.classes, e.classes);
  EXPECT_EQ(d.noise, e.noise);
  EXPECT_EQ(d.seed, e.seed);
  EXPECT_EQ(d.validation_fraction, e.validation_fraction);
  expect_same_layers(a.model, b.model);
  const TrainingSpec &t = a.training, &u = b.training;
  EXPECT_EQ(t.policy, u.policy);
  EXPECT_EQ(t.loss_scale.mode, u.loss_scale.mode);
  EXPECT_EQ(t.loss_scale.init_scale, u.loss_scale.init_scale);
  EXPECT_EQ(t.loss_scale.growth_factor, u.loss_scale.growth_factor);
  EXPECT_EQ(t.loss_scale.backoff_factor, u.loss_scale.backoff_factor);
  EXPECT_EQ(t.loss_scale.growth_interval, u.loss_scale.growth_interval);
  EXPECT_EQ(t.loss_scale.min_scale, u.loss_scale.min_scale);
  EXPECT_EQ(t.loss_scale.max_scale, u.loss_scale.max_scale);
  EXPECT_EQ(t.loss_scale.skip_nonfinite, u.loss_scale.skip_nonfinite);
  EXPECT_EQ(t.optimizer.kind, u.optimizer.kind);
  EXPECT_EQ(t.optimizer.lr, u.optimizer.lr);
  EXPECT_EQ(t.optimizer.momentum, u.optimizer.momentum);
  EXPECT_EQ(t.optimizer.nesterov, u.optimizer.nesterov);
  EXPECT_EQ(t.optimizer.weight_decay, u.optimizer.weight_decay);
  EXPECT_EQ(t.optimizer.beta1, u.optimizer.beta1);
  EXPECT_EQ(t.optimizer.beta2, u.optimizer.beta2);
  EXPECT_EQ(t.optimizer.eps, u.optimizer.eps);
  EXPECT_EQ(t.schedule.kind, u.schedule.kind);
  EXPECT_EQ(t.schedule.warmup_steps, u.schedule.warmup_steps);
  EXPECT_EQ(t.schedule.step_size, u.schedule.step_size);
  EXPECT_EQ(t.schedule.gamma, u.schedule.gamma);
  EXPECT_EQ(t.schedule.min_lr, u.schedule.min_lr);
  EXPECT_EQ(t.batch_size, u.batch_size);
  EXPECT_EQ(t.epochs, u.epochs);
  EXPECT_EQ(t.steps, u.steps);
  EXPECT_EQ(t.seed, u.seed);
  EXPECT_EQ(t.clip_grad_norm, u.clip_grad_norm);
  EXPECT_EQ(t.checkpoint_every, u.checkpoint_every);
  EXPECT_EQ(t.backend, u.backend);
  EXPECT_EQ(t.allow_tf32, u.allow_tf32);
  EXPECT_EQ(t.capture_graphs, u.capture_graphs);
  EXPECT_EQ(t.sync_batch_norm, u.sync_batch_norm);
}

void expect_round_trip(const Project& p) {
  std::string text = project_to_json(p);
  Project q = parse_project(text, p.file);
  expect_same_project(p, q);
  EXPECT_EQ(project_to_json(q), text);
}

TEST(ProjectRoundTrip, SampleProjects) {
  for (const char* name :
       {"mnist-mlp.json", "mnist-cnn.json", "spirals.json", "residual-mlp.json"}) {
    SCOPED_TRACE(name);
    expect_round_trip(load_project(kProjects / name));
  }
}

// Every layer kind and a non-default value for every setting.
constexpr const char* kEverything = R"({"format": "mantissa-project", "version": 1, "name": "all",
  "dataset": {"kind": "idx", "images": "data/train-images.idx3-ubyte",
              "labels": "../shared/labels.idx1-ubyte", "normalize": false, "validation_fraction": 0.1},
  "model": {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [3, 16, 16]}},
    {"id": "conv_a", "type": "Conv2d", "inputs": ["input"], "params": {"out_channels": 8,
      "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2], "bias": false, "init": "xavier_normal"}},
    {"id": "bn", "type": "BatchNorm", "inputs": ["conv_a"], "params": {"eps": 0.001, "momentum": 0.05}},
    {"id": "lrelu", "type": "LeakyReLU", "inputs": ["bn"], "params": {"negative_slope": 0.2}},
    {"id": "pool_a", "type": "AvgPool2d", "inputs": ["lrelu"], "params": {"kernel": 2}},
    {"id": "conv_b", "type": "Conv2d", "inputs": ["lrelu"], "params": {"out_channels": 4, "kernel": 1}},
    {"id": "pool_b", "type": "MaxPool2d", "inputs": ["conv_b"], "params": {"kernel": 3, "stride": 2, "padding": 1}},
    {"id": "cat", "type": "Concat", "inputs": ["pool_a", "pool_b"]},
    {"id": "gap", "type": "GlobalAvgPool", "inputs": ["cat"]},
    {"id": "ln", "type": "LayerNorm", "inputs": ["gap"], "params": {"eps": 1e-6}},
    {"id": "drop", "type": "Dropout", "inputs": ["ln"], "params": {"p": 0.3}},
    {"id": "gate", "type": "Sigmoid", "inputs": ["drop"]},
    {"id": "mixed", "type": "Add", "inputs": ["drop", "gate"]},
    {"id": "fc", "type": "Linear", "inputs": ["mixed"], "params": {"out_features": 6, "init": "kaiming_normal"},
     "pin_fp32": true},
    {"id": "act", "type": "GELU", "inputs": ["fc"]},
    {"id": "squash", "type": "Tanh", "inputs": ["act"]},
    {"id": "relu", "type": "ReLU", "inputs": ["squash"]},
    {"id": "flat", "type": "Flatten", "inputs": ["relu"]},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["flat"]}]},
  "training": {"policy": "mixed_bfloat16",
    "loss_scale": {"mode": "fixed", "init_scale": 128, "min_scale": 1, "max_scale": 1e6,
                   "skip_nonfinite": true, "growth_interval": 100},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.8, "nesterov": true, "weight_decay": 0.0005},
    "schedule": {"type": "step", "warmup_steps": 10, "step_size": 300, "gamma": 0.5},
    "batch_size": 32, "epochs": 2, "steps": 500, "seed": 42, "clip_grad_norm": 5,
    "checkpoint_every": 100, "backend": "cuda:0", "allow_tf32": true,
    "cuda_graphs": false, "sync_batch_norm": true}})";

TEST(ProjectRoundTrip, EveryLayerKindAndSetting) {
  auto file = std::filesystem::path("/work/projects/all.json");
  Project p = parse_project(kEverything, file);
  EXPECT_EQ(p.dataset.images, std::filesystem::path("/work/projects/data/train-images.idx3-ubyte"));
  EXPECT_EQ(p.dataset.labels, std::filesystem::path("/work/shared/labels.idx1-ubyte"));
  EXPECT_EQ(p.model.layers[1].init, Init::XavierNormal);
  EXPECT_EQ(p.model.layers[6].stride_h, 2);
  EXPECT_EQ(p.model.layers[4].stride_w, 2);  // pools default the stride to the kernel
  EXPECT_EQ(p.training.loss_scale.mode, LossScaleMode::Fixed);
  EXPECT_EQ(p.training.steps, 500);
  EXPECT_TRUE(p.training.allow_tf32);
  EXPECT_FALSE(p.training.capture_graphs);  // on unless turned off
  EXPECT_TRUE(p.training.sync_batch_norm);   // off unless turned on
  expect_round_trip(p);
  // Paths are written back relative to the project, as they were read.
  std::string text = project_to_json(p);
  EXPECT_NE(text.find("\"images\": \"data/train-images.idx3-ubyte\""), std::string::npos) << text;

  auto l = by_id(analyze_model(p.model, p.file));
  EXPECT_EQ(l["conv_a"].output_shape, (Shape{8, 8, 16}));
  EXPECT_EQ(l["conv_a"].params, 8 * 3 * 3 * 5);  // no bias
  EXPECT_EQ(l["bn"].params, 16);
  EXPECT_EQ(l["pool_a"].output_shape, (Shape{8, 4, 8}));
  EXPECT_EQ(l["pool_b"].output_shape, (Shape{4, 4, 8}));
  EXPECT_EQ(l["cat"].output_shape, (Shape{12, 4, 8}));
  EXPECT_EQ(l["gap"].output_shape, (Shape{12}));
  EXPECT_EQ(l["gap"].forward_flops, 12 * 4 * 8);
  EXPECT_EQ(l["ln"].params, 24);
  EXPECT_EQ(l["fc"].params, 12 * 6 + 6);
  EXPECT_EQ(l["bn"].output_dtype[kBF16], DType::BF16);
  EXPECT_EQ(l["ln"].output_dtype[kBF16], DType::F32);
  EXPECT_EQ(l["fc"].output_dtype[kBF16], DType::F32);  // pinned
}

TEST(ProjectRoundTrip, DefaultsFillWhatTheFileLeavesOut) {
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1,
    "dataset": {"kind": "csv", "path": "iris.csv", "label_column": "species"},
    "model": {"nodes": [{"id": "in", "type": "Input", "params": {"shape": [4]}},
                        {"id": "fc", "type": "Linear", "inputs": ["in"], "params": {"out_features": 3}},
                        {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]}})",
                            "iris.json");
  EXPECT_EQ(p.name, "iris");  // the file's stem
  EXPECT_EQ(p.dataset.path, std::filesystem::path("iris.csv"));
  EXPECT_EQ(p.training.policy, Policy::Float32);
  EXPECT_FALSE(p.training.loss_scale.mode.has_value());
  EXPECT_EQ(p.training.loss_scale.growth_interval, 2000);
  EXPECT_EQ(p.training.optimizer.kind, OptimizerKind::Sgd);
  EXPECT_EQ(p.training.batch_size, 128);
  EXPECT_FALSE(p.training.steps.has_value());
  EXPECT_EQ(p.model.layers[1].init, Init::Default);
  EXPECT_TRUE(p.model.layers[1].bias);
  expect_round_trip(p);
}

}  // namespace
}  // namespace mantissa
