#pragma once
// Per-tensor numerics (numerics_bits.hpp): statistics words of a tensor, and
// its binade histogram when the device word `enable` is non-zero.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

void launch_tensor_stats(DType type, const void* x, std::int64_t n, std::uint32_t* stats,
                         std::uint32_t* histogram, const std::uint32_t* enable,
                         cudaStream_t stream);

}  // namespace mantissa::cuda
