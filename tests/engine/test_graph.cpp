// The graph as a whole: a residual DAG (fan-out whose gradients must add up)
// checked against finite differences of the loss, and intermediate tensors
// released during forward.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <random>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"

namespace mantissa {
namespace {

const char* kResidual = R"({"format": "mantissa-project", "version": 1, "name": "residual",
  "dataset": {"kind": "blobs", "classes": 3},
  "model": {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [4]}},
    {"id": "fc0", "type": "Linear", "inputs": ["input"], "params": {"out_features": 6}},
    {"id": "norm", "type": "LayerNorm", "inputs": ["fc0"]},
    {"id": "fc1", "type": "Linear", "inputs": ["norm"], "params": {"out_features": 6}},
    {"id": "act", "type": "GELU", "inputs": ["fc1"]},
    {"id": "skip", "type": "Add", "inputs": ["act", "fc0"]},
    {"id": "head", "type": "Linear", "inputs": ["skip"], "params": {"out_features": 3}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]}})";

double loss_of(Graph& g, Backend& b, const std::vector<float>& x, const std::vector<float>& y) {
  float one = 1.0f;
  ExecContext ctx{b, true, 0};
  g.prepare_step();
  g.forward(ctx, Tensor::from_host(b, Shape{5, 4}, DType::F32, x.data()));
  Tensor loss = Tensor::empty(b, Shape{1}, DType::F32);
  g.loss_and_backward(ctx, Tensor::from_host(b, Shape{5}, DType::F32, y.data()),
                      Tensor::from_host(b, Shape{1}, DType::F32, &one), loss);
  return loss.to_host()[0];
}

TEST(Graph, ResidualGradientsMatchFiniteDifferences) {
  auto backend = create_backend("cpu");
  Project p = parse_project(kResidual, "residual.json");
  Graph g(p.model, *backend, Policy::Float32, 11);
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(20);
  for (auto& v : x) v = u(gen);
  std::vector<float> y{0, 1, 2, 1, 0};
  loss_of(g, *backend, x, y);
  for (Param* prm : g.params()) {
    std::vector<float> analytic = prm->grad.to_host();
    std::vector<float> w = prm->master.to_host();
    double num = 0, den = 0;
    for (std::size_t i = 0; i < w.size(); i += 3) {
      auto wp = w, wm = w;
      wp[i] += 1e-2f;
      wm[i] -= 1e-2f;
      prm->master.copy_from_host(wp.data());
      double lp = loss_of(g, *backend, x, y);
      prm->master.copy_from_host(wm.data());
      double lm = loss_of(g, *backend, x, y);
      prm->master.copy_from_host(w.data());
      double numeric = (lp - lm) / 2e-2;
      num += (analytic[i] - numeric) * (analytic[i] - numeric);
      den += numeric * numeric;
    }
    // fc0 feeds both the residual branch and the skip: a missing fan-out sum
    // would show here.
    EXPECT_LT(std::sqrt(num) / std::max(std::sqrt(den), 1e-6), 5e-2) << prm->name;
  }
}

TEST(Graph, ForwardReleasesIntermediatesItNoLongerNeeds) {
  auto backend = create_backend("cpu");
  Project p = parse_project(kResidual, "residual.json");
  Graph g(p.model, *backend, Policy::Float32, 11);
  std::vector<float> x(20, 0.5f), y{0, 1, 2, 1, 0};
  loss_of(g, *backend, x, y);
  g.clear_saved();
  const auto idle = backend->memory_stats().in_use;
  loss_of(g, *backend, x, y);
  g.clear_saved();
  EXPECT_EQ(backend->memory_stats().in_use, idle) << "a step must not leak device memory";
}

// An activation keeps only the tensor its derivative reads (its output for
// Tanh and Sigmoid, its input for GELU): a Tanh's input is released once the
// forward pass has moved on, a GELU's output once the next layer's backward
// is done with it.
TEST(Graph, ActivationsKeepOnlyTheTensorTheirDerivativeReads) {
  const std::int64_t N = 64, H = 256;
  const std::size_t hidden = std::size_t(N * H) * 4;
  for (const char* kind : {"Tanh", "Sigmoid", "GELU"}) {
    const std::string project =
        std::string(R"({"format": "mantissa-project", "version": 1, "name": "act",
      "dataset": {"kind": "blobs", "classes": 3},
      "model": {"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [8]}},
        {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 256}},
        {"id": "act", "type": ")") +
        kind + R"(", "inputs": ["fc"]},
        {"id": "head", "type": "Linear", "inputs": ["act"], "params": {"out_features": 3}},
        {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]}})";
    auto b = create_backend("cpu");
    Graph g(parse_project(project, "act.json").model, *b, Policy::Float32, 5);
    std::vector<float> x(std::size_t(N * 8), 0.25f), y(std::size_t(N), 1.0f);
    float one = 1.0f;
    Tensor xt = Tensor::from_host(*b, Shape{N, 8}, DType::F32, x.data());
    Tensor yt = Tensor::from_host(*b, Shape{N}, DType::F32, y.data());
    Tensor scale = Tensor::from_host(*b, Shape{1}, DType::F32, &one);
    Tensor loss = Tensor::empty(*b, Shape{1}, DType::F32);
    const std::size_t idle = b->memory_stats().in_use;
    ExecContext ctx{*b, true, 0};
    g.prepare_step();
    g.forward(ctx, xt);
    const std::size_t after_forward = b->memory_stats().in_use - idle;
    const int head = g.param_nodes().back();
    std::size_t after_head = 0;
    const std::function<void(int)> done = [&](int node) {
      if (node == head) after_head = b->memory_stats().in_use - idle;
    };
    ctx.backward_done = &done;
    g.loss_and_backward(ctx, yt, scale, loss);
    g.clear_saved();
    const std::string k = kind;
    if (k == "GELU") {
      // Forward: its input, and its output (the head's input).
      EXPECT_GE(after_forward, 2 * hidden) << k;
      // After the head: its input and the gradient of its output only.
      EXPECT_LT(after_head, 2 * hidden + hidden / 2) << k;
    } else {
      EXPECT_LT(after_forward, hidden + hidden / 2) << k << ": the input of the layer is held";
    }
  }
}

}  // namespace
}  // namespace mantissa
