// Per-tensor numerics on the GPU: two small kernels per tensor, no host work,
// so a captured step records them like any other op.
#include <string>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/numerics.cuh"
#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"

namespace mantissa::cuda {

void CudaBackend::tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                               const Tensor* enable) {
  namespace nb = numerics_bits;
  MANTISSA_ASSERT(stats.numel() == nb::kWords && stats.dtype() == DType::F32,
                  "tensor_stats: stats must be " + std::to_string(nb::kWords) +
                      " f32 words, got " + stats.describe());
  MANTISSA_ASSERT(histogram == nullptr ||
                      (histogram->numel() == nb::kBins && histogram->dtype() == DType::F32),
                  "tensor_stats: the histogram must be " + std::to_string(nb::kBins) + " f32 words");
  launch_tensor_stats(x.dtype(), x.data(), x.numel(), stats.data_as<std::uint32_t>(),
                      histogram != nullptr ? histogram->data_as<std::uint32_t>() : nullptr,
                      enable != nullptr ? enable->data_as<const std::uint32_t>() : nullptr,
                      stream());
}

}  // namespace mantissa::cuda
