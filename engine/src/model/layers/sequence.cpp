// Sequence layers over per-sample [T, C] tensors: token and positional
// embeddings, multi-head self-attention, softmax and reshape (PRECISION.md,
// "Sequences, embeddings and attention").
#include <cmath>

#include "core/rng.hpp"
#include "model/layers/layer_util.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::layers {

namespace {

// PyTorch's nn.Embedding default: N(0, 1).
std::vector<float> normal_values(std::int64_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = float(rng.normal());
  return v;
}

// Each layer that draws a dropout mask mixes its id (and a purpose) into the
// step's seed, as Dropout does.
std::uint64_t layer_seed(std::uint64_t seed, const std::string& text) {
  for (unsigned char c : text) seed = (seed ^ c) * 1099511628211ull;
  return seed;
}

}  // namespace

// ---- Embedding ------------------------------------------------------------

void Embedding::create_state(Backend& backend, Policy policy, const std::vector<Shape>&,
                             std::uint64_t seed) {
  const std::int64_t count = spec_.vocab * spec_.width;
  // The lookup emits the table's compute copy: fp32 under the mixed policies
  // (the master itself), the 16-bit type under the pure ones.
  table_ = make_param(backend, policy, id() + ".weight", Shape{spec_.vocab, spec_.width},
                      normal_values(count, seed_for(seed, id() + ".weight")), dtype_, true);
}

Tensor Embedding::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  ids_ = inputs[0];  // (N, T) fp32 token ids: the graph never narrows them
  const std::int64_t n = ids_.dim(0), t = ids_.numel() / ids_.dim(0);
  Tensor y = Tensor::empty(ctx.backend, Shape{n, t, spec_.width}, dtype_);
  ctx.backend.embedding_forward(table_.compute, ids_, y);
  return y;
}

std::vector<Tensor> Embedding::backward(ExecContext& ctx, const Tensor& dy,
                                        const std::vector<bool>&) {
  ctx.backend.embedding_backward(ids_, dy, table_.grad);
  return {Tensor()};  // token ids have no gradient
}

void Embedding::clear_saved() { ids_ = Tensor(); }

// ---- PositionalEmbedding --------------------------------------------------

void PositionalEmbedding::create_state(Backend& backend, Policy policy,
                                       const std::vector<Shape>& input_shapes, std::uint64_t seed) {
  const std::int64_t width = input_shapes.at(0)[1];
  table_ = make_param(backend, policy, id() + ".weight", Shape{spec_.max_length, width},
                      normal_values(spec_.max_length * width, seed_for(seed, id() + ".weight")),
                      DType::F32, true);
}

Tensor PositionalEmbedding::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  shape_ = inputs[0].shape();  // (N, T, C)
  const std::int64_t n = shape_[0], tc = inputs[0].numel() / n;
  // Row t of the table is added to position t: over the (N, T·C) view the
  // first T rows of the table are one bias vector, summed before the rounding.
  Tensor y = empty_like(inputs[0]);
  ctx.backend.cast(inputs[0], y);
  Tensor flat = y.reshaped(Shape{n, tc});
  ctx.backend.bias_add(flat, table_.compute.slice(0, Shape{tc}));
  return y;
}

std::vector<Tensor> PositionalEmbedding::backward(ExecContext& ctx, const Tensor& dy,
                                                  const std::vector<bool>& need_input_grad) {
  const std::int64_t n = shape_[0], tc = dy.numel() / n;
  Tensor used = table_.grad.slice(0, Shape{tc});
  ctx.backend.bias_grad(dy.reshaped(Shape{n, tc}), used, 0.0f);
  const std::int64_t rest = table_.grad.numel() - tc;
  if (rest > 0) {
    Tensor unused = table_.grad.slice(tc, Shape{rest});
    ctx.backend.fill(unused, 0.0f);
  }
  std::vector<Tensor> dx(1);
  if (need_input_grad[0]) dx[0] = dy;
  return dx;
}

// ---- MultiHeadAttention ---------------------------------------------------

void MultiHeadAttention::create_state(Backend& backend, Policy policy,
                                      const std::vector<Shape>& input_shapes, std::uint64_t seed) {
  T_ = input_shapes.at(0)[0];
  C_ = input_shapes.at(0)[1];
  H_ = spec_.heads;
  D_ = C_ / H_;
  const auto weight = [&](const std::string& name, std::int64_t out) {
    return make_param(backend, policy, id() + name, Shape{out, C_},
                      init_weights(Init::Default, out * C_, C_, out, seed_for(seed, id() + name)),
                      dtype_, true);
  };
  const auto bias = [&](const std::string& name, std::int64_t out) {
    return make_param(backend, policy, id() + name, Shape{out},
                      init_bias(Init::Default, out, C_, seed_for(seed, id() + name)), DType::F32,
                      false);
  };
  w_in_ = weight(".qkv.weight", 3 * C_);
  b_in_ = bias(".qkv.bias", 3 * C_);
  w_out_ = weight(".proj.weight", C_);
  b_out_ = bias(".proj.bias", C_);
}

Tensor MultiHeadAttention::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  Backend& be = ctx.backend;
  N_ = inputs[0].dim(0);
  const std::int64_t rows = N_ * T_, nh = N_ * H_;
  x_ = inputs[0].reshaped(Shape{rows, C_});
  // Q, K, V in one matmul: (N·T, 3C), each row [q | k | v].
  Tensor qkv = Tensor::empty(be, Shape{rows, 3 * C_}, dtype_);
  be.linear_forward(x_, w_in_.compute, &b_in_.compute, qkv, false);
  // Apart: (N·T, 3, C) -> (3, N·T, C); then each (N, T, H, D) -> (N, H, T, D).
  Tensor apart = Tensor::empty(be, Shape{1, 3, rows, C_}, dtype_);
  be.swap_axes12(qkv.reshaped(Shape{1, rows, 3, C_}), apart);
  qkv = Tensor();
  const auto heads_first = [&](int k) {
    Tensor out = Tensor::empty(be, Shape{N_, H_, T_, D_}, dtype_);
    be.swap_axes12(apart.slice(k * rows * C_, Shape{N_, T_, H_, D_}), out);
    return out.reshaped(Shape{nh, T_, D_});
  };
  q_ = heads_first(0);
  k_ = heads_first(1);
  v_ = heads_first(2);
  apart = Tensor();

  // Scores stay fp32; scale, mask and softmax run in fp32; the probabilities
  // are rounded to the compute dtype once, for P V.
  Tensor scores = Tensor::empty(be, Shape{nh, T_, T_}, DType::F32);
  be.batched_matmul(q_, false, k_, true, scores, 1.0f, 0.0f);
  probs_ = Tensor::empty(be, Shape{nh, T_, T_}, dtype_);
  be.softmax_forward(scores, probs_, 1.0f / std::sqrt(float(D_)), spec_.causal);
  scores = Tensor();
  Tensor p = probs_;
  drop_mask_ = Tensor();
  if (ctx.training && spec_.p > 0.0f) {
    p = empty_like(probs_);
    drop_mask_ = empty_like(probs_);
    be.dropout_forward(probs_, p, drop_mask_, spec_.p, layer_seed(ctx.dropout_seed, id() + ".attn"),
                       ctx.step_state);
  }
  Tensor heads = Tensor::empty(be, Shape{nh, T_, D_}, dtype_);
  be.batched_matmul(p, false, v_, false, heads, 1.0f, 0.0f);
  // Heads merged back: (N, H, T, D) -> (N, T, H, D) = (N·T, C).
  ctx_ = Tensor::empty(be, Shape{N_, T_, H_, D_}, dtype_);
  be.swap_axes12(heads.reshaped(Shape{N_, H_, T_, D_}), ctx_);
  ctx_ = ctx_.reshaped(Shape{rows, C_});
  Tensor y = Tensor::empty(be, Shape{rows, C_}, dtype_);
  be.linear_forward(ctx_, w_out_.compute, &b_out_.compute, y, false);
  return y.reshaped(Shape{N_, T_, C_});
}

std::vector<Tensor> MultiHeadAttention::backward(ExecContext& ctx, const Tensor& dy_in,
                                                 const std::vector<bool>& need_input_grad) {
  Backend& be = ctx.backend;
  const std::int64_t rows = N_ * T_, nh = N_ * H_;
  const Tensor dy = dy_in.reshaped(Shape{rows, C_});
  be.linear_backward_weights(dy, ctx_, w_out_.grad, &b_out_.grad);
  Tensor dctx = Tensor::empty(be, Shape{rows, C_}, dtype_);
  be.matmul(dy, false, w_out_.compute, false, dctx, 0.0f);
  Tensor dheads = Tensor::empty(be, Shape{N_, H_, T_, D_}, dtype_);
  be.swap_axes12(dctx.reshaped(Shape{N_, T_, H_, D_}), dheads);
  dctx = Tensor();
  dheads = dheads.reshaped(Shape{nh, T_, D_});

  // The probabilities P V saw (after dropout), and dP in fp32.
  Tensor p = probs_;
  if (drop_mask_.defined()) {
    p = empty_like(probs_);
    be.mul(probs_, drop_mask_, p);
  }
  Tensor dp = Tensor::empty(be, Shape{nh, T_, T_}, DType::F32);
  be.batched_matmul(dheads, false, v_, true, dp, 1.0f, 0.0f);
  if (drop_mask_.defined()) {
    Tensor mask32 = Tensor::empty(be, drop_mask_.shape(), DType::F32);
    be.cast(drop_mask_, mask32);
    be.mul(dp, mask32, dp);
  }
  // dS first, so that the fp32 dP is gone before the dQ, dK, dV buffers
  // exist (the backward pass's peak memory).
  Tensor ds = Tensor::empty(be, Shape{nh, T_, T_}, dtype_);
  be.softmax_backward(probs_, dp, ds, 1.0f / std::sqrt(float(D_)));
  dp = Tensor();
  // dQ, dK, dV written straight into their places of a (3, N, T, H, D) buffer.
  Tensor apart = Tensor::empty(be, Shape{1, 3, rows, C_}, dtype_);
  const auto to_rows = [&](const Tensor& g, int k) {
    Tensor dst = apart.slice(k * rows * C_, Shape{N_, T_, H_, D_});
    be.swap_axes12(g.reshaped(Shape{N_, H_, T_, D_}), dst);
  };
  {
    Tensor dv = Tensor::empty(be, Shape{nh, T_, D_}, dtype_);
    be.batched_matmul(p, true, dheads, false, dv, 1.0f, 0.0f);
    to_rows(dv, 2);
  }
  p = Tensor();
  dheads = Tensor();
  {
    Tensor dq = Tensor::empty(be, Shape{nh, T_, D_}, dtype_);
    be.batched_matmul(ds, false, k_, false, dq, 1.0f, 0.0f);
    to_rows(dq, 0);
    Tensor dk = Tensor::empty(be, Shape{nh, T_, D_}, dtype_);
    be.batched_matmul(ds, true, q_, false, dk, 1.0f, 0.0f);
    to_rows(dk, 1);
  }
  ds = Tensor();
  Tensor dqkv = Tensor::empty(be, Shape{1, rows, 3, C_}, dtype_);
  be.swap_axes12(apart, dqkv);
  apart = Tensor();
  dqkv = dqkv.reshaped(Shape{rows, 3 * C_});
  be.linear_backward_weights(dqkv, x_, w_in_.grad, &b_in_.grad);
  std::vector<Tensor> dx(1);
  if (need_input_grad[0]) {
    dx[0] = Tensor::empty(be, Shape{rows, C_}, dtype_);
    be.matmul(dqkv, false, w_in_.compute, false, dx[0], 0.0f);
    dx[0] = dx[0].reshaped(Shape{N_, T_, C_});
  }
  return dx;
}

void MultiHeadAttention::clear_saved() {
  x_ = q_ = k_ = v_ = probs_ = drop_mask_ = ctx_ = Tensor();
}

// ---- Softmax and Reshape --------------------------------------------------

Tensor Softmax::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  y_ = empty_like(inputs[0], dtype_);
  ctx.backend.softmax_forward(inputs[0], y_, 1.0f, false);
  return y_;
}

std::vector<Tensor> Softmax::backward(ExecContext& ctx, const Tensor& dy,
                                      const std::vector<bool>& need_input_grad) {
  std::vector<Tensor> dx(1);
  if (!need_input_grad[0]) return dx;
  dx[0] = empty_like(y_);
  ctx.backend.softmax_backward(y_, dy, dx[0], 1.0f);
  return dx;
}

void Softmax::clear_saved() { y_ = Tensor(); }

Tensor Reshape::forward(ExecContext&, std::span<const Tensor> inputs) {
  input_shape_ = inputs[0].shape();
  return inputs[0].reshaped(batched(inputs[0].dim(0), Shape(spec_.shape)));
}

std::vector<Tensor> Reshape::backward(ExecContext&, const Tensor& dy, const std::vector<bool>&) {
  return {dy.reshaped(input_shape_)};
}

}  // namespace mantissa::layers
