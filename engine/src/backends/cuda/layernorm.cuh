#pragma once
// Layer norm over the last axis of a (rows, D) fp32 tensor: one block per row
// for the forward pass and for dx, one thread per feature for dgamma / dbeta
// (rows summed in order, in double), so every result is deterministic.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace mantissa::cuda {

void launch_layernorm_forward(const float* x, const float* gamma, const float* beta, float* y,
                              float* save_mean, float* save_invstd, std::int64_t rows,
                              std::int64_t D, float eps, cudaStream_t stream);
void launch_layernorm_backward(const float* x, const float* dy, const float* gamma,
                               const float* save_mean, const float* save_invstd, float* dx,
                               float* dgamma, float* dbeta, std::int64_t rows, std::int64_t D,
                               cudaStream_t stream);

}  // namespace mantissa::cuda
