// Linear: y = x W^T + b over the last axis.  x (N, in) or (N, T, in), W (out, in), b (out); the
// bias is added before the one rounding to y's dtype (Backend::linear_forward).
// A low-precision op: x and W arrive in the compute dtype, products accumulate
// in fp32 and the weight gradient is produced directly in fp32.
#include "model/layers/layers.hpp"

#include "core/rng.hpp"
#include "model/layers/layer_util.hpp"

namespace mantissa::layers {

void Linear::create_state(Backend& backend, Policy policy, const std::vector<Shape>& input_shapes,
                          std::uint64_t seed) {
  const Shape& in = input_shapes.at(0);
  in_ = in[in.rank() - 1];  // the last axis: features, or channels per position
  const std::int64_t out = spec_.out_features;
  weight_ = make_param(backend, policy, id() + ".weight", Shape{out, in_},
                       init_weights(spec_.init, out * in_, in_, out, seed_for(seed, id() + ".weight")),
                       dtype_, true);
  if (spec_.bias) {
    bias_ = make_param(backend, policy, id() + ".bias", Shape{out},
                       init_bias(spec_.init, out, in_, seed_for(seed, id() + ".bias")),
                       DType::F32, false);
  }
}

std::vector<Param*> Linear::params() {
  if (spec_.bias) return {&weight_, &bias_};
  return {&weight_};
}

Tensor Linear::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  // Every row of the last axis is a sample of the matmul: (N, in) or (N·T, in).
  input_shape_ = inputs[0].shape();
  x_ = inputs[0].reshaped(Shape{inputs[0].numel() / in_, in_});
  Tensor y = Tensor::empty(ctx.backend, Shape{x_.dim(0), spec_.out_features}, dtype_);
  ctx.backend.linear_forward(x_, weight_.compute, spec_.bias ? &bias_.compute : nullptr, y, relu_);
  std::vector<std::int64_t> out = input_shape_.dims();
  out.back() = spec_.out_features;
  return y.reshaped(Shape(out));
}

std::vector<Tensor> Linear::backward(ExecContext& ctx, const Tensor& dy,
                                     const std::vector<bool>& need_input_grad) {
  // dW (out, in) = dy^T x, straight into the fp32 gradient, with db beside it.
  const Tensor dy2 = dy.reshaped(Shape{x_.dim(0), spec_.out_features});
  ctx.backend.linear_backward_weights(dy2, x_, weight_.grad, spec_.bias ? &bias_.grad : nullptr);
  std::vector<Tensor> dx(1);
  if (need_input_grad[0]) {
    dx[0] = Tensor::empty(ctx.backend, x_.shape(), dtype_);  // (N, in) = dy W
    ctx.backend.matmul(dy2, false, weight_.compute, false, dx[0], 0.0f);
    dx[0] = dx[0].reshaped(input_shape_);
  }
  return dx;
}

void Linear::clear_saved() { x_ = Tensor(); }

}  // namespace mantissa::layers
