#pragma once
// Attention's data movement and softmax: the 4-D transpose of axes 1 and 2
// that moves heads in and out of the batch, and the softmax over the last
// axis in fp32 (scale and causal mask inside) with its backward pass. One
// block per row for the softmax: its maximum, then its exponent sum (double,
// a fixed reduction tree, so every run gives the same bits), then the
// probabilities; a masked position is exactly 0. x, y, dy and dx may each
// have any dtype (widened to fp32 on load, rounded once on store).
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// y (A, C, B, D) = x (A, B, C, D) with axes 1 and 2 swapped; element_size 2 or 4.
void launch_swap_axes12(const void* x, void* y, std::size_t element_size, std::int64_t A,
                        std::int64_t B, std::int64_t C, std::int64_t D, cudaStream_t stream);

// y = softmax(x * scale) over rows of L values. causal_T > 0: the rows are
// (T, T) matrices (L == T) and row r keeps only its first r % T + 1 values.
void launch_softmax_forward(const void* x, DType x_type, void* y, DType y_type, std::int64_t rows,
                            std::int64_t L, float scale, std::int64_t causal_T,
                            cudaStream_t stream);
// dx = scale * y * (dy - sum(dy * y)) per row (the dot product in double).
void launch_softmax_backward(const void* y, DType y_type, const void* dy, DType dy_type, void* dx,
                             DType dx_type, std::int64_t rows, std::int64_t L, float scale,
                             cudaStream_t stream);

}  // namespace mantissa::cuda
