#pragma once
// fill: every element of a buffer set to one value (rounded once, on the host,
// with PRECISION.md rounding).
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// cudaSuccess when this build holds kernel code the current device can run
// (cudaErrorNoKernelImageForDevice for a GPU older than the built architectures).
cudaError_t probe_kernel_image();

void launch_fill(void* data, DType dtype, std::int64_t n, float value, cudaStream_t stream);

}  // namespace mantissa::cuda
