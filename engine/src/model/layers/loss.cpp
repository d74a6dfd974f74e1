// Losses: always fp32 (the graph upcasts the predictions), mean over the batch.
#include "model/layers/layers.hpp"

#include "mantissa/error.hpp"

namespace mantissa {

Tensor LossLayer::forward(ExecContext&, std::span<const Tensor>) {
  MANTISSA_ASSERT(false, "a loss layer runs through loss_and_grad()");
  return {};
}

std::vector<Tensor> LossLayer::backward(ExecContext&, const Tensor&, const std::vector<bool>&) {
  MANTISSA_ASSERT(false, "a loss layer runs through loss_and_grad()");
  return {};
}

namespace layers {

void SoftmaxCrossEntropy::loss_and_grad(ExecContext& ctx, const Tensor& pred, const Tensor& targets,
                                        const Tensor& scale, Tensor& loss, Tensor& dpred) {
  ctx.backend.softmax_cross_entropy(pred, targets, loss, dpred, scale);
}

void MeanSquaredError::loss_and_grad(ExecContext& ctx, const Tensor& pred, const Tensor& targets,
                                     const Tensor& scale, Tensor& loss, Tensor& dpred) {
  ctx.backend.mse_loss(pred, targets.reshaped(pred.shape()), loss, dpred, scale);
}

}  // namespace layers
}  // namespace mantissa
