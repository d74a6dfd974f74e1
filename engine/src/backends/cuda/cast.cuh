#pragma once
// cast: dst = src element by element, widening exactly and rounding with
// PRECISION.md's round-to-nearest-even (canonical NaN). Equal dtypes copy.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

void launch_cast(const void* src, DType src_type, void* dst, DType dst_type, std::int64_t n,
                 cudaStream_t stream);

}  // namespace mantissa::cuda
