#pragma once
// Group norm over x (N, C, S) in G groups, every tensor fp32 (a forced-fp32
// op). A group's C / G channels are contiguous, so (n, g) is one run of
// P = (C / G) * S values: one block per (n, g) for the statistics, y and dx;
// one block per channel for dgamma / dbeta. Sums are in double with a fixed
// reduction tree (deterministic); the element formulas are the CPU backend's
// term for term, so results differ from it only where a double sum's order
// moves its rounding to fp32.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace mantissa::cuda {

struct GroupShape {
  std::int64_t N, C, S, G;
};

void launch_groupnorm_forward(const float* x, const float* gamma, const float* beta, float* y,
                              float* save_mean, float* save_invstd, const GroupShape& d, float eps,
                              cudaStream_t stream);
void launch_groupnorm_backward(const float* x, const float* dy, const float* gamma,
                               const float* save_mean, const float* save_invstd, float* dx,
                               float* dgamma, float* dbeta, const GroupShape& d,
                               cudaStream_t stream);

}  // namespace mantissa::cuda
