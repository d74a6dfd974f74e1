#include "cli/bench_workloads.hpp"

#include <algorithm>
#include <random>

#include "mantissa/error.hpp"

namespace mantissa::cli {

namespace {

// The random pool holds up to 16 batches (the peer's pool) within this many bytes.
constexpr std::int64_t kPoolBytes = std::int64_t(512) << 20;

std::string linear_chain(std::int64_t in, const std::vector<std::int64_t>& outs) {
  std::string j =
      R"({"id": "input", "type": "Input", "params": {"shape": [)" + std::to_string(in) + "]}}";
  std::string prev = "input";
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const std::string fc = "fc" + std::to_string(i + 1);
    j += R"(, {"id": ")" + fc + R"(", "type": "Linear", "inputs": [")" + prev +
         R"("], "params": {"out_features": )" + std::to_string(outs[i]) + "}}";
    prev = fc;
    if (i + 1 < outs.size()) {
      const std::string act = "relu" + std::to_string(i + 1);
      j += R"(, {"id": ")" + act + R"(", "type": "ReLU", "inputs": [")" + prev + R"("]})";
      prev = act;
    }
  }
  return j + R"(, {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": [")" + prev + R"("]})";
}

// The peer's `gpt`: byte tokens, learned positions, pre-norm blocks of causal
// attention and a 4× GELU MLP, a final LayerNorm and an untied head.
std::string gpt_nodes(std::int64_t vocab, std::int64_t ctx, std::int64_t d, std::int64_t heads,
                      int blocks) {
  const auto node = [](const std::string& id, const std::string& type,
                       const std::vector<std::string>& inputs, const std::string& params) {
    std::string j = R"(, {"id": ")" + id + R"(", "type": ")" + type + R"(", "inputs": [)";
    for (std::size_t i = 0; i < inputs.size(); ++i) j += (i ? ", \"" : "\"") + inputs[i] + "\"";
    j += "]";
    if (!params.empty()) j += R"(, "params": {)" + params + "}";
    return j + "}";
  };
  const std::string D = std::to_string(d);
  std::string j = R"({"id": "tokens", "type": "Input", "params": {"shape": [)" +
                  std::to_string(ctx) + R"(], "tokens": true}})";
  j += node("embed", "Embedding", {"tokens"},
            R"("vocab": )" + std::to_string(vocab) + R"(, "width": )" + D);
  j += node("pos", "PositionalEmbedding", {"embed"}, R"("max_length": )" + std::to_string(ctx));
  std::string x = "pos";
  for (int b = 1; b <= blocks; ++b) {
    const std::string p = "b" + std::to_string(b) + "_";
    j += node(p + "ln1", "LayerNorm", {x}, "");
    j += node(p + "attn", "MultiHeadAttention", {p + "ln1"},
              R"("heads": )" + std::to_string(heads) + R"(, "causal": true)");
    j += node(p + "res1", "Add", {x, p + "attn"}, "");
    j += node(p + "ln2", "LayerNorm", {p + "res1"}, "");
    j += node(p + "fc", "Linear", {p + "ln2"}, R"("out_features": )" + std::to_string(4 * d));
    j += node(p + "gelu", "GELU", {p + "fc"}, "");
    j += node(p + "fc2", "Linear", {p + "gelu"}, R"("out_features": )" + D);
    j += node(p + "res2", "Add", {p + "res1", p + "fc2"}, "");
    x = p + "res2";
  }
  j += node("ln_f", "LayerNorm", {x}, "");
  j += node("head", "Linear", {"ln_f"},
            R"("out_features": )" + std::to_string(vocab) + R"(, "bias": false)");
  j += node("loss", "SoftmaxCrossEntropy", {"head"}, "");
  return j;
}

}  // namespace

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> all = {
      {.name = "mlp",
       .description = "784-512-512-10 MLP, ReLU",
       .batch = 128,
       .sample_shape = {784},
       .classes = 10,
       .nodes = linear_chain(784, {512, 512, 10}),
       .default_steps = 900,
       .default_warmup = 20},
      {.name = "cnn",
       .description =
           "conv 1→16 3×3, ReLU, maxpool 2, conv 16→32 3×3, ReLU, maxpool 2, linear 1568→10",
       .batch = 128,
       .sample_shape = {1, 28, 28},
       .classes = 10,
       .nodes =
           R"({"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}},
           {"id": "conv1", "type": "Conv2d", "inputs": ["input"],
            "params": {"out_channels": 16, "kernel": 3, "padding": 1}},
           {"id": "relu1", "type": "ReLU", "inputs": ["conv1"]},
           {"id": "pool1", "type": "MaxPool2d", "inputs": ["relu1"], "params": {"kernel": 2}},
           {"id": "conv2", "type": "Conv2d", "inputs": ["pool1"],
            "params": {"out_channels": 32, "kernel": 3, "padding": 1}},
           {"id": "relu2", "type": "ReLU", "inputs": ["conv2"]},
           {"id": "pool2", "type": "MaxPool2d", "inputs": ["relu2"], "params": {"kernel": 2}},
           {"id": "flatten", "type": "Flatten", "inputs": ["pool2"]},
           {"id": "fc", "type": "Linear", "inputs": ["flatten"], "params": {"out_features": 10}},
           {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]})",
       .default_steps = 450,
       .default_warmup = 20},
      {.name = "big",
       .description = "4 × linear 8192→8192, ReLU between, 8192 classes",
       .batch = 8192,
       .sample_shape = {8192},
       .classes = 8192,
       .nodes = linear_chain(8192, {8192, 8192, 8192, 8192}),
       .default_steps = 3,
       .default_warmup = 1},
      {.name = "gpt",
       .description = "byte GPT: context 64, width 128, 4 heads, 4 pre-norm blocks, vocab 256",
       .batch = 32,
       .sample_shape = {64},
       .classes = 256,
       .nodes = gpt_nodes(256, 64, 128, 4, 4),
       .default_steps = 150,
       .default_warmup = 5,
       .positions = 64},
      {.name = "gpt2",
       .description = "GPT-2 small shape: context 1024, width 768, 12 heads, 12 blocks, vocab 50257",
       .batch = 8,
       .sample_shape = {1024},
       .classes = 50257,
       .nodes = gpt_nodes(50257, 1024, 768, 12, 12),
       .default_steps = 20,
       .default_warmup = 3,
       .positions = 1024},
  };
  return all;
}

const Workload& find_workload(const std::string& name) {
  for (const auto& w : workloads())
    if (w.name == name) return w;
  throw InputError("unknown workload '" + name + "' (valid: mlp, cnn, big, gpt, gpt2)");
}

Project workload_project(const Workload& w) {
  // The dataset entry is never loaded: the bench feeds its own random pool.
  const std::string json =
      R"({"format": "mantissa-project", "version": 1, "name": "bench-)" + w.name +
      R"(", "dataset": {"kind": "mnist"}, "model": {"nodes": [)" + w.nodes +
      R"(]}, "training": {"policy": "float32", "batch_size": )" + std::to_string(w.batch) +
      R"(, "seed": 0, "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9}}})";
  return parse_project(json, "bench-" + w.name);
}

Dataset random_pool(const Workload& w) {
  Dataset d;
  d.name = "random";
  d.sample_shape = w.sample_shape;
  d.num_classes = w.classes;
  const std::int64_t numel = d.sample_numel();
  const std::int64_t batch_bytes = w.batch * numel * std::int64_t(sizeof(float));
  const std::int64_t samples = w.batch * std::clamp<std::int64_t>(kPoolBytes / batch_bytes, 1, 16);
  std::mt19937_64 rng(1234);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> label(0, w.classes - 1);
  d.features.resize(std::size_t(samples * numel));
  // Token ids for a language model (uniform, as the peer's), else noise.
  for (float& v : d.features) v = w.positions > 0 ? float(label(rng)) : normal(rng);
  d.target_dim = std::max<std::int64_t>(w.positions, 1);
  d.targets.resize(std::size_t(samples * d.target_dim));
  for (float& v : d.targets) v = float(label(rng));
  return d;
}

}  // namespace mantissa::cli
