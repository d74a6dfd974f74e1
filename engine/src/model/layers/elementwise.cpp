// Shape-preserving layers: activations, dropout, flatten. They run in their
// input dtype (PRECISION.md "everything else").
#include "mantissa/error.hpp"
#include "model/layers/layer_util.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::layers {

void ActivationLayer::applied_by_producer() {
  MANTISSA_ASSERT(act_ == Activation::Relu, "only ReLU is fused into its producer");
  by_producer_ = true;
}

Tensor ActivationLayer::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  const Tensor& x = inputs[0];
  Tensor y = x;
  if (!by_producer_) {
    y = empty_like(x);
    ctx.backend.activation_forward_stats(act_, spec_.negative_slope, x, y, ctx.stats_in,
                                         ctx.stats_out);
  }
  // Backward reads one of the two: holding the other would keep a tensor of
  // the layer's size alive for nothing (a Tanh's input, a GELU's output once
  // the next layer is done with it).
  const bool reads_y = activation_reads_output(act_);
  x_ = reads_y ? Tensor() : x;
  y_ = reads_y ? y : Tensor();
  return y;
}

std::vector<Tensor> ActivationLayer::backward(ExecContext& ctx, const Tensor& dy,
                                              const std::vector<bool>& need_input_grad) {
  std::vector<Tensor> dx(1);
  if (!need_input_grad[0]) {
    if (ctx.stats_in != nullptr) ctx.backend.take_stats(dy, *ctx.stats_in);
    return dx;
  }
  dx[0] = empty_like(activation_reads_output(act_) ? y_ : x_);
  ctx.backend.activation_backward_stats(act_, spec_.negative_slope, x_, y_, dy, dx[0],
                                        ctx.stats_in, ctx.stats_out);
  return dx;
}

void ActivationLayer::clear_saved() {
  x_ = Tensor();
  y_ = Tensor();
}

Tensor Dropout::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  if (!ctx.training || spec_.p == 0.0f) {
    mask_ = Tensor();
    return inputs[0];
  }
  // Each layer draws its own mask: mix the layer id into the step's seed.
  std::uint64_t seed = ctx.dropout_seed;
  for (unsigned char c : id()) seed = (seed ^ c) * 1099511628211ull;
  Tensor y = empty_like(inputs[0]);
  mask_ = empty_like(inputs[0]);
  ctx.backend.dropout_forward(inputs[0], y, mask_, spec_.p, seed, ctx.step_state);
  return y;
}

std::vector<Tensor> Dropout::backward(ExecContext& ctx, const Tensor& dy,
                                      const std::vector<bool>& need_input_grad) {
  std::vector<Tensor> dx(1);
  if (!need_input_grad[0]) return dx;
  if (!mask_.defined()) {
    dx[0] = dy;
    return dx;
  }
  dx[0] = empty_like(dy);
  ctx.backend.mul(dy, mask_, dx[0]);
  return dx;
}

void Dropout::clear_saved() { mask_ = Tensor(); }

Tensor Flatten::forward(ExecContext&, std::span<const Tensor> inputs) {
  input_shape_ = inputs[0].shape();
  return inputs[0].reshaped(Shape{inputs[0].dim(0), inputs[0].numel() / inputs[0].dim(0)});
}

std::vector<Tensor> Flatten::backward(ExecContext&, const Tensor& dy, const std::vector<bool>&) {
  return {dy.reshaped(input_shape_)};
}

}  // namespace mantissa::layers
