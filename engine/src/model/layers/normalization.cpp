// BatchNorm (activations in their dtype, statistics and affine fp32) and
// LayerNorm (a forced-fp32 op: the graph upcasts its input).
#include "model/layers/layer_util.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::layers {

namespace {
std::vector<float> filled(std::int64_t n, float v) { return std::vector<float>(std::size_t(n), v); }
}  // namespace

void BatchNorm::create_state(Backend& backend, Policy policy,
                             const std::vector<Shape>& input_shapes, std::uint64_t) {
  const std::int64_t c = input_shapes.at(0)[0];
  gamma_ = make_param(backend, policy, id() + ".weight", Shape{c}, filled(c, 1.0f), DType::F32, false);
  beta_ = make_param(backend, policy, id() + ".bias", Shape{c}, filled(c, 0.0f), DType::F32, false);
  running_mean_ = Buffer{id() + ".running_mean", Tensor::zeros(backend, Shape{c}, DType::F32)};
  running_var_ = Buffer{id() + ".running_var",
                        Tensor::from_host(backend, Shape{c}, DType::F32, filled(c, 1.0f).data())};
}

Tensor BatchNorm::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  x_ = inputs[0];
  Tensor y = empty_like(x_);
  if (!ctx.training) {
    ctx.backend.batchnorm_forward_infer(x_, gamma_.compute, beta_.compute, running_mean_.value,
                                        running_var_.value, y, spec_.eps);
    return y;
  }
  const Shape c{x_.dim(1)};
  save_mean_ = Tensor::empty(ctx.backend, c, DType::F32);
  save_invstd_ = Tensor::empty(ctx.backend, c, DType::F32);
  ctx.backend.batchnorm_forward_train(x_, gamma_.compute, beta_.compute, y, running_mean_.value,
                                      running_var_.value, save_mean_, save_invstd_,
                                      spec_.momentum, spec_.eps, ctx.rank_sum);
  return y;
}

std::vector<Tensor> BatchNorm::backward(ExecContext& ctx, const Tensor& dy,
                                        const std::vector<bool>&) {
  // The input gradient comes out of the same fused pass as dgamma / dbeta.
  std::vector<Tensor> dx{empty_like(x_)};
  ctx.backend.batchnorm_backward(x_, dy, gamma_.compute, save_mean_, save_invstd_, dx[0],
                                 gamma_.grad, beta_.grad, ctx.rank_sum);
  return dx;
}

void BatchNorm::clear_saved() {
  x_ = Tensor();
  save_mean_ = Tensor();
  save_invstd_ = Tensor();
}

void LayerNorm::create_state(Backend& backend, Policy policy,
                             const std::vector<Shape>& input_shapes, std::uint64_t) {
  const Shape& in = input_shapes.at(0);
  width_ = in[in.rank() - 1];
  gamma_ = make_param(backend, policy, id() + ".weight", Shape{width_}, filled(width_, 1.0f),
                      DType::F32, false);
  beta_ = make_param(backend, policy, id() + ".bias", Shape{width_}, filled(width_, 0.0f),
                     DType::F32, false);
}

Tensor LayerNorm::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  input_shape_ = inputs[0].shape();
  const std::int64_t rows = inputs[0].numel() / width_;
  x_ = inputs[0].reshaped(Shape{rows, width_});
  Tensor y = empty_like(x_);
  save_mean_ = Tensor::empty(ctx.backend, Shape{rows}, DType::F32);
  save_invstd_ = Tensor::empty(ctx.backend, Shape{rows}, DType::F32);
  ctx.backend.layernorm_forward(x_, gamma_.compute, beta_.compute, y, save_mean_, save_invstd_,
                                spec_.eps);
  return y.reshaped(input_shape_);
}

std::vector<Tensor> LayerNorm::backward(ExecContext& ctx, const Tensor& dy,
                                        const std::vector<bool>&) {
  std::vector<Tensor> dx{empty_like(x_)};
  ctx.backend.layernorm_backward(x_, dy.reshaped(x_.shape()), gamma_.compute, save_mean_,
                                 save_invstd_, dx[0], gamma_.grad, beta_.grad);
  dx[0] = dx[0].reshaped(input_shape_);
  return dx;
}

void LayerNorm::clear_saved() {
  x_ = Tensor();
  save_mean_ = Tensor();
  save_invstd_ = Tensor();
}

}  // namespace mantissa::layers

namespace mantissa::layers {

void GroupNorm::create_state(Backend& backend, Policy policy,
                             const std::vector<Shape>& input_shapes, std::uint64_t) {
  const std::int64_t c = input_shapes.at(0)[0];
  gamma_ = make_param(backend, policy, id() + ".weight", Shape{c},
                      std::vector<float>(std::size_t(c), 1.0f), DType::F32, false);
  beta_ = make_param(backend, policy, id() + ".bias", Shape{c},
                     std::vector<float>(std::size_t(c), 0.0f), DType::F32, false);
}

Tensor GroupNorm::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  x_ = inputs[0];
  Tensor y = empty_like(x_);
  const Shape stats{x_.dim(0), spec_.groups};
  save_mean_ = Tensor::empty(ctx.backend, stats, DType::F32);
  save_invstd_ = Tensor::empty(ctx.backend, stats, DType::F32);
  ctx.backend.groupnorm_forward(x_, gamma_.compute, beta_.compute, y, save_mean_, save_invstd_,
                                spec_.groups, spec_.eps);
  return y;
}

std::vector<Tensor> GroupNorm::backward(ExecContext& ctx, const Tensor& dy,
                                        const std::vector<bool>&) {
  std::vector<Tensor> dx{empty_like(x_)};
  ctx.backend.groupnorm_backward(x_, dy, gamma_.compute, save_mean_, save_invstd_, dx[0],
                                 gamma_.grad, beta_.grad, spec_.groups);
  return dx;
}

void GroupNorm::clear_saved() {
  x_ = Tensor();
  save_mean_ = Tensor();
  save_invstd_ = Tensor();
}

}  // namespace mantissa::layers
