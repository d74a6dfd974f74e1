#pragma once
// 2-D max and average pooling over NCHW. Max pooling records, per output, the
// index within the input plane of the first maximum of its window (padding
// never wins); backward gathers, for each input, the gradients of the outputs
// that chose it, so no atomics are needed and results are deterministic.
// Average pooling divides by the number of real (non-padding) inputs.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

struct PoolGeometry {
  std::int64_t N, C, H, W, OH, OW;
  int kh, kw, sh, sw, ph, pw;
};

// argmax: one int32 per output (max pooling only; null for average).
void launch_pool_forward(bool max_pool, const void* x, void* y, std::int32_t* argmax, DType dtype,
                         const PoolGeometry& g, cudaStream_t stream);
void launch_pool_backward(bool max_pool, const void* dy, const std::int32_t* argmax, void* dx,
                          DType dtype, const PoolGeometry& g, cudaStream_t stream);

}  // namespace mantissa::cuda
