// Max / average pooling over H×W, and global average pooling.
// x (N, C, H, W) -> y (N, C, H', W'); GlobalAvgPool emits (N, C).
#include "model/layers/layer_util.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::layers {

void Pool2d::create_state(Backend&, Policy, const std::vector<Shape>& input_shapes, std::uint64_t) {
  const Shape& in = input_shapes.at(0);  // (C, H, W)
  if (global_) {
    params_ = Pool2dParams{int(in[1]), int(in[2]), int(in[1]), int(in[2]), 0, 0};
  } else {
    params_ = Pool2dParams{spec_.kernel_h, spec_.kernel_w, spec_.stride_h,
                           spec_.stride_w, spec_.pad_h,    spec_.pad_w};
  }
  out_h_ = (in[1] + 2 * params_.pad_h - params_.kernel_h) / params_.stride_h + 1;
  out_w_ = (in[2] + 2 * params_.pad_w - params_.kernel_w) / params_.stride_w + 1;
}

Tensor Pool2d::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  x_ = inputs[0];
  y_ = Tensor::empty(ctx.backend, Shape{x_.dim(0), x_.dim(1), out_h_, out_w_}, dtype_);
  workspace_ = Tensor();
  ctx.backend.pool2d_forward(kind_, x_, y_, workspace_, params_);
  if (global_) return y_.reshaped(Shape{x_.dim(0), x_.dim(1)});
  return y_;
}

std::vector<Tensor> Pool2d::backward(ExecContext& ctx, const Tensor& dy,
                                     const std::vector<bool>& need_input_grad) {
  std::vector<Tensor> dx(1);
  if (!need_input_grad[0]) return dx;
  dx[0] = empty_like(x_);
  ctx.backend.pool2d_backward(kind_, x_, y_, dy.reshaped(y_.shape()), workspace_, dx[0], params_);
  return dx;
}

void Pool2d::clear_saved() {
  x_ = Tensor();
  y_ = Tensor();
  workspace_ = Tensor();
}

}  // namespace mantissa::layers
