#pragma once
// concat / split along axis 1: strided row copies between a part and the
// whole, converting dtype when they differ.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// Copies `rows` rows of `row_elements` elements between strided buffers
// (strides and offsets in elements), converting dtype when they differ:
// the data movement of concat and split.
void launch_copy_rows(const void* src, DType src_type, std::int64_t src_stride,
                      std::int64_t src_offset, void* dst, DType dst_type, std::int64_t dst_stride,
                      std::int64_t dst_offset, std::int64_t rows, std::int64_t row_elements,
                      cudaStream_t stream);

}  // namespace mantissa::cuda
