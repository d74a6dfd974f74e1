// Per-tensor numerics on the GPU: two small kernels per tensor, no host work,
// so a captured step records them like any other op.
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/numerics.cuh"
#include "backends/numerics_checks.hpp"

namespace mantissa::cuda {

void CudaBackend::tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                               const Tensor* enable) {
  check_tensor_stats_args(stats, histogram);
  launch_tensor_stats(x.dtype(), x.data(), x.numel(), stats.data_as<std::uint32_t>(),
                      histogram != nullptr ? histogram->data_as<std::uint32_t>() : nullptr,
                      enable != nullptr ? enable->data_as<const std::uint32_t>() : nullptr,
                      stream());
}

}  // namespace mantissa::cuda
