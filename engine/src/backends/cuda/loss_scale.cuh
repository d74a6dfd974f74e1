#pragma once
// The loss-scale update (PRECISION.md steps 4-5) on the step-state vector:
// one thread applying step_rules.hpp's apply_scaler_rule on the device.
#include <cuda_runtime_api.h>

#include "backends/cuda/step_rules.hpp"

namespace mantissa::cuda {

void launch_update_loss_scale(float* state, const ScalerParams& params, cudaStream_t stream);

}  // namespace mantissa::cuda
