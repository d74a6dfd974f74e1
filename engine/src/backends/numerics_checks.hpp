#pragma once
// The argument rules of Backend::tensor_stats, shared by every backend.
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa {

inline void check_tensor_stats_args(const Tensor& stats, const Tensor* histogram) {
  namespace nb = numerics_bits;
  MANTISSA_ASSERT(stats.numel() == nb::kWords && stats.dtype() == DType::F32,
                  "tensor_stats: stats must be " + std::to_string(nb::kWords) +
                      " f32 words, got " + stats.describe());
  MANTISSA_ASSERT(histogram == nullptr ||
                      (histogram->numel() == nb::kBins && histogram->dtype() == DType::F32),
                  "tensor_stats: the histogram must be " + std::to_string(nb::kBins) + " f32 words");
}

}  // namespace mantissa
