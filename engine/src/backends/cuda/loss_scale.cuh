#pragma once
// The loss-scale update (PRECISION.md steps 4-5) on the step state:
// one thread applying precision/scaler_rule.hpp's apply_scaler_rule on the device.
#include <cuda_runtime_api.h>

#include "precision/scaler_rule.hpp"

namespace mantissa::cuda {

void launch_update_loss_scale(StepState* state, const rules::ScalerParams& params, cudaStream_t stream);

}  // namespace mantissa::cuda
