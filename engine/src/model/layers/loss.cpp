// Losses: always computed in fp32, mean over the batch. Cross-entropy reads
// 16-bit logits as they are (its backend op widens them value by value); the
// squared error takes an fp32 copy.
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
  // [T, V] logits per sample: every position is a row, the mean runs over
  // every token of the batch.
  const std::int64_t classes = pred.dim(pred.rank() - 1), rows = pred.numel() / classes;
  Tensor d = dpred.reshaped(Shape{rows, classes});
  ctx.backend.softmax_cross_entropy(pred.reshaped(Shape{rows, classes}),
                                    targets.reshaped(Shape{rows}), loss, d, scale);
}

void MeanSquaredError::loss_and_grad(ExecContext& ctx, const Tensor& pred, const Tensor& targets,
                                     const Tensor& scale, Tensor& loss, Tensor& dpred) {
  Tensor pred32 = pred;
  if (pred.dtype() != DType::F32) {
    pred32 = Tensor::empty(ctx.backend, pred.shape(), DType::F32);
    ctx.backend.cast(pred, pred32);
  }
  ctx.backend.mse_loss(pred32, targets.reshaped(pred.shape()), loss, dpred, scale);
}

}  // namespace layers
}  // namespace mantissa
