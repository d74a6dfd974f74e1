#pragma once
// Mean squared error, forward and backward: dpred = 2 (pred - target) /
// numel * scale (scale read on the device), per-block partial sums of the
// squared differences (double) added in order by a one-block kernel.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// Number of partial sums launch_mse_loss needs scratch for.
int mse_partials(std::int64_t n);
void launch_mse_loss(const float* pred, const float* target, std::int64_t n, void* dpred,
                     DType dpred_type, const float* scale, double* partials, float* loss,
                     cudaStream_t stream);

}  // namespace mantissa::cuda
