// Losses and the gradient pass. Labels are not checked on the host (that
// would read them back); a label that is not a class index makes its row's
// loss and gradient NaN on the device instead.
#include <string>
#include <vector>

#include "backends/cuda/count_correct.cuh"
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/grad_pass.cuh"
#include "backends/cuda/mse.cuh"
#include "backends/cuda/softmax_xent.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

void check_scalar(const Tensor& t, const char* what) {
  MANTISSA_ASSERT(t.dtype() == DType::F32 && t.numel() == 1,
                  std::string(what) + " must be a one-element f32 tensor, got " + t.describe());
}

void check_logits_labels(const Tensor& logits, const Tensor& labels, bool f32_only = true) {
  MANTISSA_ASSERT(logits.rank() == 2 && (!f32_only || logits.dtype() == DType::F32),
                  "logits must be (N, C) f32, got " + logits.describe());
  MANTISSA_ASSERT(labels.dtype() == DType::F32 && labels.numel() == logits.dim(0),
                  "labels must be N f32 class indices, got " + labels.describe());
}

}  // namespace

void CudaBackend::softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor& loss,
                                        Tensor& dlogits, const Tensor& scale) {
  check_logits_labels(logits, labels, /*f32_only=*/false);
  check_scalar(loss, "cross-entropy loss");
  check_scalar(scale, "loss scale");
  MANTISSA_ASSERT(dlogits.shape() == logits.shape(), "dlogits must have logits' shape");
  const std::int64_t N = logits.dim(0);
  const std::int64_t C = logits.dim(1);
  MANTISSA_ASSERT(N > 0 && C > 0, "cross-entropy over an empty batch");
  enter();
  DeviceBuffer row_loss = scratch(std::size_t(N) * sizeof(double));
  launch_softmax_cross_entropy(logits.data(), logits.dtype(), labels.data_as<const float>(), N, C,
                               dlogits.data(), dlogits.dtype(), scale.data_as<const float>(),
                               row_loss.as<double>(), loss.data_as<float>(), stream());
}

void CudaBackend::mse_loss(const Tensor& pred, const Tensor& target, Tensor& loss, Tensor& dpred,
                           const Tensor& scale) {
  MANTISSA_ASSERT(pred.dtype() == DType::F32 && target.dtype() == DType::F32 &&
                      pred.shape() == target.shape() && dpred.shape() == pred.shape(),
                  "mse_loss: pred and target must be f32 of one shape, got " + pred.describe() +
                      " and " + target.describe());
  check_scalar(loss, "mse loss");
  check_scalar(scale, "loss scale");
  const std::int64_t n = pred.numel();
  MANTISSA_ASSERT(n > 0, "mse_loss over an empty batch");
  enter();
  DeviceBuffer partials = scratch(std::size_t(mse_partials(n)) * sizeof(double));
  launch_mse_loss(pred.data_as<const float>(), target.data_as<const float>(), n, dpred.data(),
                  dpred.dtype(), scale.data_as<const float>(), partials.as<double>(),
                  loss.data_as<float>(), stream());
}

void CudaBackend::count_correct(const Tensor& logits, const Tensor& labels, Tensor& correct) {
  check_logits_labels(logits, labels);
  check_scalar(correct, "correct count");
  enter();
  launch_count_correct(logits.data_as<const float>(), labels.data_as<const float>(), logits.dim(0),
                       logits.dim(1), correct.data_as<float>(), stream());
}

TableView CudaBackend::grad_table(std::span<const Tensor> grads) {
  std::vector<TensorSlot> slots(grads.size());
  for (std::size_t k = 0; k < grads.size(); ++k) {
    slots[k].ptr[0] = grads[k].data();
    slots[k].numel = grads[k].numel();
    slots[k].dtype[0] = std::int32_t(grads[k].dtype());
  }
  return tables_.get(slots);
}

void CudaBackend::unscale_and_check(std::span<const Tensor> grads, const Tensor& scale,
                                    Tensor& found_inf) {
  check_scalar(scale, "loss scale");
  check_scalar(found_inf, "found_inf");
  enter();
  GradPassOutputs out;
  out.scale = scale.data_as<const float>();
  out.found_inf = found_inf.data_as<float>();
  launch_grad_pass(grad_table(grads), out, stream());
}

void CudaBackend::sum_squares(std::span<const Tensor> grads, Tensor& result) {
  check_scalar(result, "sum_squares output");
  enter();
  GradPassOutputs out;
  out.sum_squares = result.data_as<float>();
  launch_grad_pass(grad_table(grads), out, stream());
}

void CudaBackend::unscale_check_and_norm(std::span<const Tensor> grads, const Tensor& scale,
                                         Tensor& found_inf, Tensor& sum_squares) {
  check_scalar(scale, "loss scale");
  check_scalar(found_inf, "found_inf");
  check_scalar(sum_squares, "sum_squares output");
  enter();
  GradPassOutputs out;
  out.scale = scale.data_as<const float>();
  out.found_inf = found_inf.data_as<float>();
  out.sum_squares = sum_squares.data_as<float>();
  launch_grad_pass(grad_table(grads), out, stream());
}

}  // namespace mantissa::cuda
