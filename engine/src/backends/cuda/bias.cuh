#pragma once
// Per-channel bias on axis 1 of a tensor viewed as (outer, channels, inner):
// bias_add (y += bias[c], fp32 bias, any y) and bias_grad (dbias[c] = sum of
// dy over outer and inner, + beta * dbias; double accumulation, one block per
// channel, so the sum is deterministic).
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

void launch_bias_add(void* y, DType y_type, const float* bias, std::int64_t outer,
                     std::int64_t channels, std::int64_t inner, cudaStream_t stream);
void launch_bias_grad(const void* dy, DType dy_type, float* dbias, std::int64_t outer,
                      std::int64_t channels, std::int64_t inner, float beta, cudaStream_t stream);

}  // namespace mantissa::cuda
