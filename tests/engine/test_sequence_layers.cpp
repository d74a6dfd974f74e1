// Sequence models: embeddings, attention (fp32 scores, causal mask), token
// losses, the project errors of the new kinds, and a small transformer that
// learns on the CPU under float32 and mixed_bfloat16.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <cmath>
#include <functional>
#include <random>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/sample.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

LayerSpec layer(LayerKind kind, std::string id, std::vector<std::string> inputs) {
  LayerSpec l;
  l.kind = kind;
  l.id = std::move(id);
  l.inputs = std::move(inputs);
  return l;
}

// tokens [T] -> embed -> pos -> ln -> attn -> add -> ln2 -> fc -> gelu -> fc2
// -> add2 -> head [T, V] -> loss: one pre-norm block of a GPT.
ModelSpec tiny_gpt(std::int64_t T, std::int64_t V, std::int64_t C, std::int64_t heads) {
  ModelSpec m;
  LayerSpec in = layer(LayerKind::Input, "tokens", {});
  in.shape = {T};
  in.tokens = true;
  m.layers.push_back(in);
  LayerSpec e = layer(LayerKind::Embedding, "embed", {"tokens"});
  e.vocab = V;
  e.width = C;
  m.layers.push_back(e);
  LayerSpec pos = layer(LayerKind::PositionalEmbedding, "pos", {"embed"});
  pos.max_length = T;
  m.layers.push_back(pos);
  m.layers.push_back(layer(LayerKind::LayerNorm, "ln1", {"pos"}));
  LayerSpec attn = layer(LayerKind::MultiHeadAttention, "attn", {"ln1"});
  attn.heads = heads;
  attn.p = 0.0f;
  m.layers.push_back(attn);
  m.layers.push_back(layer(LayerKind::Add, "res1", {"pos", "attn"}));
  m.layers.push_back(layer(LayerKind::LayerNorm, "ln2", {"res1"}));
  LayerSpec fc = layer(LayerKind::Linear, "fc", {"ln2"});
  fc.out_features = 4 * C;
  m.layers.push_back(fc);
  m.layers.push_back(layer(LayerKind::GELU, "gelu", {"fc"}));
  LayerSpec fc2 = layer(LayerKind::Linear, "fc2", {"gelu"});
  fc2.out_features = C;
  m.layers.push_back(fc2);
  m.layers.push_back(layer(LayerKind::Add, "res2", {"res1", "fc2"}));
  LayerSpec head = layer(LayerKind::Linear, "head", {"res2"});
  head.out_features = V;
  head.bias = false;
  m.layers.push_back(head);
  m.layers.push_back(layer(LayerKind::SoftmaxCrossEntropy, "loss", {"head"}));
  return m;
}

std::string error_of(const ModelSpec& m) {
  try {
    analyze_model(m, "seq.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

LayerSpec& find(ModelSpec& m, const std::string& id) {
  for (auto& l : m.layers)
    if (l.id == id) return l;
  throw std::runtime_error("no layer " + id);
}

TEST(SequenceModel, ShapesAndCountsOfAGptBlock) {
  const ModelSummary s = analyze_model(tiny_gpt(16, 32, 24, 4), "seq.json");
  auto info = [&](const std::string& id) {
    for (const auto& l : s.layers)
      if (l.id == id) return l;
    throw std::runtime_error(id);
  };
  EXPECT_EQ(info("embed").output_shape, (Shape{16, 24}));
  EXPECT_EQ(info("embed").params, 32 * 24);
  EXPECT_EQ(info("pos").params, 16 * 24);
  EXPECT_EQ(info("attn").output_shape, (Shape{16, 24}));
  EXPECT_EQ(info("attn").params, 4 * 24 * 24 + 4 * 24);
  EXPECT_EQ(info("fc").output_shape, (Shape{16, 96}));
  EXPECT_EQ(info("head").output_shape, (Shape{16, 32}));
  // PRECISION.md: the embedding emits fp32 under mixed policies, 16-bit under pure ones;
  // token ids are never narrowed.
  const auto idx = [](Policy p) { return std::size_t(p == Policy::MixedFloat16 ? 1 : 2); };
  EXPECT_EQ(info("embed").output_dtype[idx(Policy::MixedBFloat16)], DType::F32);
  EXPECT_EQ(info("attn").output_dtype[idx(Policy::MixedBFloat16)], DType::BF16);
  EXPECT_EQ(info("tokens").output_dtype[idx(Policy::MixedFloat16)], DType::F32);
  ModelSpec pure = tiny_gpt(16, 32, 24, 4);
  EXPECT_EQ(layer_output_dtype(find(pure, "embed"), Policy::BFloat16, {DType::F32}), DType::BF16);
  EXPECT_EQ(layer_output_dtype(find(pure, "tokens"), Policy::BFloat16, {}), DType::F32);
}

TEST(SequenceModel, BadSequenceModelsAreNamed) {
  {
    ModelSpec m = tiny_gpt(16, 32, 24, 5);
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("layer 'attn'"),
                                   HasSubstr("5 heads do not divide the width 24")));
  }
  {
    ModelSpec m = tiny_gpt(16, 32, 24, 4);
    find(m, "pos").max_length = 8;
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("layer 'pos'"), HasSubstr("16 positions"),
                                   HasSubstr("rows for 8"), HasSubstr("max_length")));
  }
  {
    ModelSpec m = tiny_gpt(16, 32, 24, 4);
    find(m, "tokens").tokens = false;
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("layer 'embed'"), HasSubstr("takes token ids"),
                                   HasSubstr("\"tokens\": true")));
  }
  {
    ModelSpec m = tiny_gpt(16, 32, 24, 4);
    find(m, "tokens").shape = {1, 4, 4};
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("layer 'tokens'"), HasSubstr("[positions]")));
  }
}

// A Reshape gives rows a sequence axis, as its help says ("e.g. [16, 49]"):
// the project file takes [positions, channels], and a Linear after it acts on
// the last axis; four axes are none of the per-sample shapes.
TEST(SequenceModel, AReshapeMakesASequence) {
  const auto project = [](const std::string& shape) {
    return R"({"format": "mantissa-project", "version": 1, "name": "r",
      "dataset": {"kind": "mnist"},
      "model": {"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}},
        {"id": "seq", "type": "Reshape", "inputs": ["input"], "params": {"shape": )" +
           shape + R"(}},
        {"id": "fc", "type": "Linear", "inputs": ["seq"], "params": {"out_features": 10}},
        {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]}})";
  };
  const Project p = parse_project(project("[16, 49]"), "r.json");
  const ModelSummary s = analyze_model(p.model, p.file);
  EXPECT_EQ(s.layers[1].output_shape, Shape({16, 49}));
  EXPECT_EQ(s.layers[2].output_shape, Shape({16, 10}));
  EXPECT_THROW(
      {
        try {
          parse_project(project("[1, 1, 16, 49]"), "r.json");
        } catch (const InputError& e) {
          EXPECT_THAT(std::string(e.what()),
                      AllOf(HasSubstr("r.json: /model/nodes/1/params/shape: layer 'seq'"),
                            HasSubstr("[positions, channels]")));
          throw;
        }
      },
      InputError);
}

TEST(SequenceOps, EmbeddingLooksUpRowsAndSumsGradientsPerToken) {
  auto be = create_backend("cpu");
  const std::vector<float> table{0, 1, 10, 11, 20, 21};  // 3 tokens × 2
  const std::vector<float> ids{2, 0, 2, 2};
  Tensor t = Tensor::from_host(*be, Shape{3, 2}, DType::F32, table.data());
  Tensor i = Tensor::from_host(*be, Shape{4}, DType::F32, ids.data());
  Tensor out = Tensor::empty(*be, Shape{4, 2}, DType::F32);
  be->embedding_forward(t, i, out);
  EXPECT_EQ(out.to_host(), (std::vector<float>{20, 21, 0, 1, 20, 21, 20, 21}));
  const std::vector<float> dout{1, 2, 3, 4, 5, 6, 7, 8};
  Tensor d = Tensor::from_host(*be, Shape{4, 2}, DType::F32, dout.data());
  Tensor dt = Tensor::empty(*be, Shape{3, 2}, DType::F32);
  be->fill(dt, 99.0f);  // overwritten, never accumulated into
  be->embedding_backward(i, d, dt);
  EXPECT_EQ(dt.to_host(), (std::vector<float>{3, 4, 0, 0, 1 + 5 + 7, 2 + 6 + 8}));
}

// PRECISION.md: Q Kᵀ is a 16-bit matmul with fp32 output; scale, mask and
// softmax in fp32. Scores far past fp16's 65504 still give finite,
// correct probabilities.
TEST(SequenceOps, AttentionScoresStayFp32PastTheFp16Range) {
  auto be = create_backend("cpu");
  const std::int64_t T = 3, D = 4;
  std::vector<float> q(T * D, 200.0f), k(T * D, 200.0f);
  k[0] = 201.0f;  // row 0 of K differs a little: its score is 800 above the others
  Tensor qh = Tensor::from_host(*be, Shape{1, T, D}, DType::F16, q.data());
  Tensor kh = Tensor::from_host(*be, Shape{1, T, D}, DType::F16, k.data());
  Tensor scores = Tensor::empty(*be, Shape{1, T, T}, DType::F32);
  be->batched_matmul(qh, false, kh, true, scores, 1.0f, 0.0f);
  for (float s : scores.to_host()) EXPECT_GE(s, 160000.0f);  // far past fp16's 65504
  Tensor probs = Tensor::empty(*be, Shape{1, T, T}, DType::F16);
  be->softmax_forward(scores, probs, 1.0f / std::sqrt(float(D)), /*causal=*/true);
  const std::vector<float> p = probs.to_host();
  for (float v : p) EXPECT_TRUE(std::isfinite(v));
  // Causal: row 0 sees only itself; row 1 sees 0 and 1, where column 0 is
  // 200/√4 · 1 = 100 logits ahead: all its mass. Masked entries are exactly 0.
  EXPECT_EQ(p[0], 1.0f);
  EXPECT_EQ(p[1], 0.0f);
  EXPECT_EQ(p[2], 0.0f);
  EXPECT_EQ(p[3], 1.0f);
  EXPECT_EQ(p[4], 0.0f);
  EXPECT_EQ(p[5], 0.0f);
  EXPECT_EQ(p[6], 1.0f);
}

// The CPU softmax runs oneDNN's vectorised kernel on scaled, masked fp32
// scores: at a real attention size it matches a double reference, masked
// entries are exactly 0, and the backward pass matches its formula too.
TEST(SequenceOps, CausalSoftmaxMatchesADoubleReferenceAtFullSize) {
  auto be = create_backend("cpu");
  const std::int64_t B = 6, T = 64;
  const float scale = 0.125f;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 20.0f);
  std::vector<float> x(std::size_t(B * T * T)), dy(x.size());
  for (float& v : x) v = normal(rng);
  for (float& v : dy) v = normal(rng) / 20.0f;
  Tensor xs = Tensor::from_host(*be, Shape{B, T, T}, DType::F32, x.data());
  Tensor ys = Tensor::empty(*be, Shape{B, T, T}, DType::F32);
  be->softmax_forward(xs, ys, scale, /*causal=*/true);
  const std::vector<float> y = ys.to_host();
  Tensor dys = Tensor::from_host(*be, Shape{B, T, T}, DType::F32, dy.data());
  Tensor dxs = Tensor::empty(*be, Shape{B, T, T}, DType::F32);
  be->softmax_backward(ys, dys, dxs, scale);
  const std::vector<float> dx = dxs.to_host();
  for (std::int64_t r = 0; r < B * T; ++r) {
    const std::int64_t seen = r % T + 1;
    const float* xr = x.data() + r * T;
    double mx = -INFINITY, sum = 0.0, dot = 0.0;
    for (std::int64_t j = 0; j < seen; ++j) mx = std::max(mx, double(xr[j]) * scale);
    for (std::int64_t j = 0; j < seen; ++j) sum += std::exp(double(xr[j]) * scale - mx);
    for (std::int64_t j = 0; j < T; ++j) dot += double(y[std::size_t(r * T + j)]) * dy[std::size_t(r * T + j)];
    for (std::int64_t j = 0; j < T; ++j) {
      const std::size_t i = std::size_t(r * T + j);
      if (j >= seen) {
        ASSERT_EQ(y[i], 0.0f) << "row " << r << " column " << j << " is masked";
        ASSERT_EQ(dx[i], 0.0f) << "row " << r << " column " << j << " is masked";
        continue;
      }
      const double want = std::exp(double(xr[j]) * scale - mx) / sum;
      ASSERT_NEAR(y[i], want, 2e-6 * want + 1e-30) << "row " << r << " column " << j;
      const double dwant = scale * double(y[i]) * (double(dy[i]) - dot);
      ASSERT_NEAR(dx[i], dwant, 1e-5 * std::abs(dwant) + 1e-7) << "row " << r << " column " << j;
    }
  }
}

// The same rule inside the layer: under mixed_float16, Q Kᵀ of 524,288 (far
// past fp16's 65,504) leaves the output and every gradient finite, because
// the scores are never stored in fp16.
TEST(SequenceOps, AttentionLayerKeepsLargeScoresFinite) {
  auto be = create_backend("cpu");
  const std::int64_t T = 4, C = 8;
  LayerSpec s = layer(LayerKind::MultiHeadAttention, "attn", {"x"});
  s.heads = 1;
  s.p = 0.0f;
  auto attn = create_layer(s);
  attn->set_dtype(DType::F16);
  attn->create_state(*be, Policy::MixedFloat16, {Shape{T, C}}, 1);
  // Q = K = V = 16·x: with x = 16 everywhere each score is C · 256² = 524,288.
  for (Param* p : attn->params()) {
    std::vector<float> v(std::size_t(p->master.numel()), 0.0f);
    if (p->name == "attn.qkv.weight")
      for (std::int64_t r = 0; r < 3 * C; ++r) v[std::size_t(r * C + r % C)] = 16.0f;
    if (p->name == "attn.proj.weight")
      for (std::int64_t r = 0; r < C; ++r) v[std::size_t(r * C + r)] = 1.0f / 256.0f;
    p->master.copy_from_host(v.data());
    if (p->compute.data() != p->master.data()) be->cast(p->master, p->compute);
  }
  std::vector<float> x(std::size_t(T * C), 16.0f);
  Tensor xt = Tensor::from_host(*be, Shape{1, T, C}, DType::F16, x.data());
  ExecContext ctx{*be, true, 0};
  const Tensor y = attn->forward(ctx, std::vector<Tensor>{xt});
  for (float v : y.to_host()) EXPECT_FLOAT_EQ(v, 1.0f);  // V = 16 · 16, / 256 by the projection
  std::vector<float> ones(std::size_t(T * C), 1.0f);
  Tensor dy = Tensor::from_host(*be, Shape{1, T, C}, DType::F16, ones.data());
  const std::vector<Tensor> dx = attn->backward(ctx, dy, {true});
  for (float v : dx[0].to_host()) EXPECT_TRUE(std::isfinite(v));
  for (Param* p : attn->params())
    for (float v : p->grad.to_host()) EXPECT_TRUE(std::isfinite(v)) << p->name;
}

// A later token never changes an earlier position's output.
TEST(SequenceModel, CausalAttentionIgnoresLaterPositions) {
  auto be = create_backend("cpu");
  Graph g(tiny_gpt(6, 10, 8, 2), *be, Policy::Float32, 5);
  ExecContext ctx{*be, false, 0};
  g.prepare_step();
  std::vector<float> a{1, 2, 3, 4, 5, 6}, b{1, 2, 3, 9, 0, 7};
  const auto logits = [&](const std::vector<float>& ids) {
    Tensor x = Tensor::from_host(*be, Shape{1, 6}, DType::F32, ids.data());
    std::vector<float> out = g.forward(ctx, x).to_host();
    g.clear_saved();
    return out;
  };
  const std::vector<float> la = logits(a), lb = logits(b);
  ASSERT_EQ(la.size(), 6u * 10u);
  for (std::size_t i = 0; i < 3 * 10; ++i) EXPECT_EQ(la[i], lb[i]) << "position " << i / 10;
  bool later_differs = false;
  for (std::size_t i = 3 * 10; i < la.size(); ++i) later_differs |= la[i] != lb[i];
  EXPECT_TRUE(later_differs);
}

// Next-token prediction of a repeating pattern: one GPT block learns it in
// a few dozen SGD steps, in float32 and in mixed_bfloat16.
// Token k of the pattern: `first` + (k mod period).
double train_pattern(Graph& g, Backend& be_ref, int steps, std::int64_t period, int first) {
  Backend* be = &be_ref;
  const std::int64_t T = g.input_shape()[0], N = 8;
  std::vector<float> x(std::size_t(N * T)), y(std::size_t(N * T));
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t t = 0; t < T; ++t) {
      x[std::size_t(n * T + t)] = float(first + (n + t) % period);
      y[std::size_t(n * T + t)] = float(first + (n + t + 1) % period);
    }
  Tensor xt = Tensor::from_host(*be, Shape{N, T}, DType::F32, x.data());
  Tensor yt = Tensor::from_host(*be, Shape{N, T}, DType::F32, y.data());
  float one = 1.0f;
  Tensor scale = Tensor::from_host(*be, Shape{1}, DType::F32, &one);
  Tensor loss = Tensor::empty(*be, Shape{1}, DType::F32);
  double last = 0;
  for (int s = 0; s < steps; ++s) {
    ExecContext ctx{*be, true, 0};
    g.prepare_step();
    g.forward(ctx, xt);
    g.loss_and_backward(ctx, yt, scale, loss);
    last = loss.to_host()[0];
    for (Param* p : g.params()) {  // plain SGD on the masters
      std::vector<float> m = p->master.to_host(), gr = p->grad.to_host();
      for (std::size_t i = 0; i < m.size(); ++i) m[i] -= 0.1f * gr[i];
      p->master.copy_from_host(m.data());
    }
    g.clear_saved();
  }
  return last;
}

double train_pattern(Policy policy, int steps) {
  auto be = create_backend("cpu");
  Graph g(tiny_gpt(8, 5, 16, 2), *be, policy, 3);
  return train_pattern(g, *be, steps, 5, 0);
}

TEST(SequenceModel, OneBlockLearnsANextTokenPattern) {
  const double start = std::log(5.0);  // uniform over 5 tokens
  const double f32 = train_pattern(Policy::Float32, 60);
  const double bf16 = train_pattern(Policy::MixedBFloat16, 60);
  EXPECT_LT(f32, 0.2 * start);
  EXPECT_LT(bf16, 0.3 * start);
}

// N sequences of T tokens of a vocabulary of V for a next-token step: token
// i is (i * stride) mod V and its target the next id; loss scale 1.
struct TokenStep {
  Tensor x, y, scale, loss;
  TokenStep(Backend& be, std::int64_t N, std::int64_t T, std::int64_t V, std::size_t stride) {
    std::vector<float> xs(std::size_t(N * T)), ys(std::size_t(N * T));
    for (std::size_t i = 0; i < xs.size(); ++i) {
      xs[i] = float((i * stride) % std::size_t(V));
      ys[i] = float((i * stride + 1) % std::size_t(V));
    }
    x = Tensor::from_host(be, Shape{N, T}, DType::F32, xs.data());
    y = Tensor::from_host(be, Shape{N, T}, DType::F32, ys.data());
    const float one = 1.0f;
    scale = Tensor::from_host(be, Shape{1}, DType::F32, &one);
    loss = Tensor::empty(be, Shape{1}, DType::F32);
  }
};

// The loss reads bf16 logits as they are: the step's memory peak past the
// forward pass holds the bf16 gradient of the logits, not an fp32 copy of
// them as well (with a vocabulary of 1024, the largest tensor of the step).
TEST(SequenceModel, Bf16LossHoldsNoFp32CopyOfTheLogits) {
  auto be = create_backend("cpu");
  const std::int64_t T = 16, V = 1024, N = 8;
  Graph g(tiny_gpt(T, V, 16, 2), *be, Policy::MixedBFloat16, 3);
  TokenStep s(*be, N, T, V, 7);
  ExecContext ctx{*be, true, 0};
  g.prepare_step();
  g.forward(ctx, s.x);
  const std::size_t before = be->memory_stats().in_use;
  be->reset_peak_memory();
  g.loss_and_backward(ctx, s.y, s.scale, s.loss);
  const std::size_t extra = be->memory_stats().peak - before;
  const std::size_t logits = std::size_t(N * T * V);
  EXPECT_GE(extra, logits * 2) << "the bf16 gradient of the logits is part of the peak";
  EXPECT_LT(extra, logits * 4) << "an fp32 copy of the logits would add " << logits * 4;
  EXPECT_TRUE(std::isfinite(s.loss.to_host()[0]));
  g.clear_saved();
}

// The gradient of the logits lives until the head's backward pass has read
// it, not through the whole backward pass (on gpt2 it is 0.8 GB in bf16).
TEST(SequenceModel, TheLogitsGradientIsReleasedAfterTheHeadsBackwardPass) {
  auto be = create_backend("cpu");
  const std::int64_t T = 16, V = 1024, N = 8;
  Graph g(tiny_gpt(T, V, 16, 2), *be, Policy::MixedBFloat16, 3);
  TokenStep s(*be, N, T, V, 5);
  std::vector<std::size_t> in_use;  // after each node's backward pass, last node first
  const std::function<void(int)> done = [&](int) { in_use.push_back(be->memory_stats().in_use); };
  ExecContext ctx{*be, true, 0};
  ctx.backward_done = &done;
  g.prepare_step();
  g.forward(ctx, s.x);
  const std::size_t with_logits = be->memory_stats().in_use;
  g.loss_and_backward(ctx, s.y, s.scale, s.loss);
  ASSERT_FALSE(in_use.empty());
  const std::size_t logits = std::size_t(N * T * V) * 2;  // bf16
  // After the head: the logits and their gradient are gone; what the head's
  // input gradient and the blocks' saved tensors hold is far smaller.
  EXPECT_LT(in_use.front() + logits / 2, with_logits)
      << "in use after the head's backward pass: " << in_use.front() << " bytes, with the logits "
      << with_logits;
  g.clear_saved();
}

// An inference forward pass (validation, evaluate, sample) keeps nothing
// for a backward pass: after it only the logits are held, where a training
// forward keeps every block's saved tensors. (A data-parallel run validates
// the whole batch on rank 0, whose shard in training was a fraction of it.)
TEST(SequenceModel, AnInferenceForwardPassKeepsOnlyItsOutput) {
  auto be = create_backend("cpu");
  const std::int64_t T = 16, V = 64, N = 8;
  Graph g(tiny_gpt(T, V, 32, 2), *be, Policy::MixedBFloat16, 3);
  TokenStep s(*be, N, T, V, 5);
  g.prepare_step();
  const std::size_t before = be->memory_stats().in_use;
  const std::size_t logits = std::size_t(N * T * V) * 2;  // bf16
  for (const bool training : {true, false}) {
    ExecContext ctx{*be, training, 0};
    const Tensor out = g.forward(ctx, s.x);
    ASSERT_EQ(out.bytes(), logits);
    const std::size_t held = be->memory_stats().in_use - before;
    if (training)
      EXPECT_GT(held, 4 * logits) << "a training forward keeps the blocks' saved tensors";
    else
      EXPECT_EQ(held, logits) << "an inference forward pass kept " << held - logits
                              << " bytes beyond its logits";
    g.clear_saved();
  }
}

// A byte model that learned "abcd" repeated continues a prompt with it:
// greedily, and, with a seed, the same text every time.
TEST(SequenceModel, GenerateTextContinuesWhatItLearned) {
  auto be = create_backend("cpu");
  Graph g(tiny_gpt(8, 256, 16, 2), *be, Policy::Float32, 3);
  train_pattern(g, *be, 80, 4, 'a');
  SampleOptions greedy;
  greedy.prompt = "bcdab";
  greedy.tokens = 11;
  greedy.temperature = 0;
  EXPECT_EQ(generate_text(g, greedy), "cdabcdabcda");
  // Longer than the context (8): the window slides.
  greedy.prompt = "abcdabcdabcdabcdabc";
  EXPECT_EQ(generate_text(g, greedy), "dabcdabcdab");
  SampleOptions seeded = greedy;
  seeded.temperature = 1.0;
  seeded.seed = 7;
  const std::string a = generate_text(g, seeded);
  EXPECT_EQ(a.size(), 11u);
  EXPECT_EQ(generate_text(g, seeded), a);
  SampleOptions bad = greedy;
  bad.temperature = -1;
  EXPECT_THROW(generate_text(g, bad), InputError);
}

// A model over a small vocabulary (5 token ids) cannot read a prompt of
// letters: the byte is named, nothing is looked up out of its table.
TEST(SequenceModel, GenerateTextNamesAPromptByteOutsideTheVocabulary) {
  auto be = create_backend("cpu");
  Graph g(tiny_gpt(8, 5, 16, 2), *be, Policy::Float32, 3);
  SampleOptions o;
  o.prompt = std::string("\x01\x02") + "a";
  o.tokens = 3;
  try {
    generate_text(g, o);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("byte 2 (97)"), HasSubstr("vocabulary of 5")));
  }
  o.prompt = "\x01\x02\x03";
  EXPECT_EQ(generate_text(g, o).size(), 3u);
  o.prompt.clear();  // a fresh start: token 0 here, as there is no new line (10)
  EXPECT_EQ(generate_text(g, o).size(), 3u);
}

TEST(SequenceModel, GenerateTextRefusesAModelOnFeatures) {
  auto be = create_backend("cpu");
  ModelSpec m;
  LayerSpec in = layer(LayerKind::Input, "in", {});
  in.shape = {4};
  m.layers.push_back(in);
  LayerSpec fc = layer(LayerKind::Linear, "fc", {"in"});
  fc.out_features = 3;
  m.layers.push_back(fc);
  m.layers.push_back(layer(LayerKind::SoftmaxCrossEntropy, "loss", {"fc"}));
  Graph g(m, *be, Policy::Float32, 1);
  try {
    generate_text(g, SampleOptions{});
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a language model: its input is not token ids"));
  }
}

// Every sequence layer has an ONNX form (opset 17); tests/io checks what the
// files compute against the engine. Here: the export writes the operators the
// attention and embedding layers are made of.
TEST(SequenceModel, OnnxExportWritesTheSequenceLayers) {
  auto be = create_backend("cpu");
  Graph g(tiny_gpt(6, 10, 8, 2), *be, Policy::Float32, 5);
  const auto file = std::filesystem::temp_directory_path() / "mantissa-seq-export.onnx";
  std::filesystem::remove(file);
  export_onnx(g, file, OnnxExportOptions{});
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* op : {"Gather", "Slice", "Softmax", "MatMul", "Transpose", "Reshape"})
    EXPECT_THAT(bytes, HasSubstr(op));
  EXPECT_THAT(bytes, HasSubstr("causal_mask"));
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace mantissa
