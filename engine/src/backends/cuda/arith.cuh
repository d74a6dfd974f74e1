#pragma once
// Elementwise arithmetic: add (also gradient accumulation), mul and scale.
// Inputs and output may each have any dtype: values are widened to fp32,
// combined, and rounded once into the output. Outputs may alias inputs.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

enum class BinaryOp : int { Add, Mul };

// out = a (op) b
void launch_binary(BinaryOp op, const void* a, DType a_type, const void* b, DType b_type, void* out,
                   DType out_type, std::int64_t n, cudaStream_t stream);
// t *= s
void launch_scale(void* data, DType dtype, std::int64_t n, float s, cudaStream_t stream);

}  // namespace mantissa::cuda
