#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/loss_scale.cuh"

namespace mantissa::cuda {

namespace {

__global__ void loss_scale_kernel(StepState* state, rules::ScalerParams params) {
  rules::apply_scaler_rule(*state, params);
}

}  // namespace

void launch_update_loss_scale(StepState* state, const rules::ScalerParams& params, cudaStream_t stream) {
  loss_scale_kernel<<<1, 1, 0, stream>>>(state, params);
  MANTISSA_CUDA_CHECK_LAUNCH("update_loss_scale");
}

}  // namespace mantissa::cuda
