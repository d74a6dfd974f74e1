// Conv2d: x (N, C_in, H, W) * W (C_out, C_in, kh, kw) + b -> y (N, C_out, H', W').
// Low precision like Linear; weight and bias gradients are fp32.
#include "core/rng.hpp"
#include "model/layers/layer_util.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::layers {

void Conv2d::create_state(Backend& backend, Policy policy, const std::vector<Shape>& input_shapes,
                          std::uint64_t seed) {
  const Shape& in = input_shapes.at(0);  // (C_in, H, W)
  const std::int64_t cin = in[0], cout = spec_.out_channels;
  const std::int64_t ksize = std::int64_t(spec_.kernel_h) * spec_.kernel_w;
  params_.stride_h = spec_.stride_h;
  params_.stride_w = spec_.stride_w;
  params_.pad_h = spec_.pad_h;
  params_.pad_w = spec_.pad_w;
  out_h_ = (in[1] + 2 * spec_.pad_h - spec_.kernel_h) / spec_.stride_h + 1;
  out_w_ = (in[2] + 2 * spec_.pad_w - spec_.kernel_w) / spec_.stride_w + 1;
  weight_ = make_param(backend, policy, id() + ".weight",
                       Shape{cout, cin, spec_.kernel_h, spec_.kernel_w},
                       init_weights(spec_.init, cout * cin * ksize, cin * ksize, cout * ksize,
                                    seed_for(seed, id() + ".weight")),
                       dtype_, true);
  if (spec_.bias) {
    bias_ = make_param(backend, policy, id() + ".bias", Shape{cout},
                       init_bias(spec_.init, cout, cin * ksize, seed_for(seed, id() + ".bias")),
                       DType::F32, false);
  }
}

std::vector<Param*> Conv2d::params() {
  if (spec_.bias) return {&weight_, &bias_};
  return {&weight_};
}

Tensor Conv2d::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  x_ = inputs[0];
  Tensor y = Tensor::empty(ctx.backend, Shape{x_.dim(0), spec_.out_channels, out_h_, out_w_}, dtype_);
  ctx.backend.conv2d_forward(x_, weight_.compute, spec_.bias ? &bias_.compute : nullptr, y, params_);
  return y;
}

std::vector<Tensor> Conv2d::backward(ExecContext& ctx, const Tensor& dy,
                                     const std::vector<bool>& need_input_grad) {
  ctx.backend.conv2d_backward_weights(x_, dy, weight_.grad, spec_.bias ? &bias_.grad : nullptr,
                                      params_);
  std::vector<Tensor> dx(1);
  if (need_input_grad[0]) {
    dx[0] = empty_like(x_);
    ctx.backend.conv2d_backward_data(dy, weight_.compute, dx[0], params_);
  }
  return dx;
}

void Conv2d::clear_saved() { x_ = Tensor(); }

}  // namespace mantissa::layers
