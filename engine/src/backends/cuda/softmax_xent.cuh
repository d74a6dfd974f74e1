#pragma once
// Softmax cross-entropy, forward and backward fused: one block per row finds
// the row maximum, the exponent sum, the row's loss and its gradient
// (softmax - onehot) / N * scale; a second one-block kernel adds the row
// losses in order (double) into the mean. The scale is read on the device.
// A label that is not a class index gives a NaN loss and NaN gradients for
// its row (so the step shows up as non-finite) instead of reading out of bounds.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// row_loss: scratch for N doubles.
// logits in any storage type, read as fp32.
void launch_softmax_cross_entropy(const void* logits, DType logits_type, const float* labels,
                                  std::int64_t N, std::int64_t C, void* dlogits,
                                  DType dlogits_type, const float* scale, double* row_loss,
                                  float* loss, cudaStream_t stream);

}  // namespace mantissa::cuda
