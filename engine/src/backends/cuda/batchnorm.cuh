#pragma once
// Batch norm over x viewed as (N, C, S), S = H * W (1 for (N, C) inputs):
// per-channel statistics in double with one block per channel (two passes,
// mean then squared deviations, as the CPU backend), then an elementwise
// apply. Activations any dtype; statistics, gamma, beta and gradients fp32.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

struct ChannelShape {
  std::int64_t N, C, S;
};

// Training statistics: save_mean, save_invstd = 1/sqrt(biased var + eps), and
// the running statistics updated with `momentum` (unbiased variance; the
// biased one when a channel has a single value).
void launch_batchnorm_stats(const void* x, DType x_type, const ChannelShape& d, float* running_mean,
                            float* running_var, float* save_mean, float* save_invstd,
                            float momentum, float eps, cudaStream_t stream);
// invstd[c] = 1/sqrt(var[c] + eps) for inference from the running variance.
void launch_batchnorm_invstd(const float* var, float* invstd, std::int64_t C, float eps,
                             cudaStream_t stream);
// y = x * (gamma * invstd) + (beta - mean * gamma * invstd)
void launch_batchnorm_apply(const void* x, DType x_type, void* y, DType y_type,
                            const ChannelShape& d, const float* gamma, const float* beta,
                            const float* mean, const float* invstd, cudaStream_t stream);
// dbeta = sum dy, dgamma = sum dy * xhat; scratch gets mean(dy) (C values)
// then mean(dy * xhat) (C values).
void launch_batchnorm_backward_reduce(const void* x, DType x_type, const void* dy, DType dy_type,
                                      const ChannelShape& d, const float* mean, const float* invstd,
                                      float* dgamma, float* dbeta, float* scratch,
                                      cudaStream_t stream);
// dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
void launch_batchnorm_backward_apply(const void* x, DType x_type, const void* dy, DType dy_type,
                                     void* dx, DType dx_type, const ChannelShape& d,
                                     const float* gamma, const float* mean, const float* invstd,
                                     const float* scratch, cudaStream_t stream);

}  // namespace mantissa::cuda
