// Graph structure: Add (residual connections) and Concat (along axis 1).
#include "model/layers/layer_util.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::layers {

Tensor Add::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  arity_ = inputs.size();
  Tensor y = empty_like(inputs[0]);
  ctx.backend.add(inputs[0], inputs[1], y);
  for (std::size_t i = 2; i < inputs.size(); ++i) ctx.backend.accumulate(inputs[i], y);
  return y;
}

std::vector<Tensor> Add::backward(ExecContext&, const Tensor& dy,
                                  const std::vector<bool>& need_input_grad) {
  // Every input receives dy itself; the graph never writes into a gradient it
  // was handed, so sharing the tensor is safe.
  std::vector<Tensor> dx(arity_);
  for (std::size_t i = 0; i < arity_; ++i)
    if (need_input_grad[i]) dx[i] = dy;
  return dx;
}

Tensor Concat::forward(ExecContext& ctx, std::span<const Tensor> inputs) {
  input_shapes_.clear();
  std::int64_t channels = 0;
  for (const auto& t : inputs) {
    input_shapes_.push_back(t.shape());
    channels += t.dim(1);
  }
  std::vector<std::int64_t> dims = inputs[0].shape().dims();
  dims[1] = channels;
  Tensor y = Tensor::empty(ctx.backend, Shape(dims), dtype_);
  ctx.backend.concat(inputs, y);
  return y;
}

std::vector<Tensor> Concat::backward(ExecContext& ctx, const Tensor& dy, const std::vector<bool>&) {
  std::vector<Tensor> dx;
  for (const auto& s : input_shapes_) dx.push_back(Tensor::empty(ctx.backend, s, dtype_));
  ctx.backend.split(dy, dx);
  return dx;
}

}  // namespace mantissa::layers
