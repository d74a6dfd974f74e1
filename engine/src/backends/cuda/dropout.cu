#include "backends/cuda/dropout.cuh"
#include "backends/cuda/elementwise_math.hpp"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class Y>
__global__ void dropout_kernel(const void* x, DType xt, typename Y::raw* y, void* mask, DType mt,
                               std::int64_t n, float p, float keep_scale, std::uint64_t seed_in,
                               const StepState* step) {
  const std::uint64_t seed =
      step == nullptr ? seed_in : splitmix64_at(seed_in, std::uint64_t(step->steps_taken));
  for (std::int64_t i = global_index(); i < n; i += global_stride()) {
    const float m = dropout_keep(seed, std::uint64_t(i), p) ? keep_scale : 0.0f;
    store_any(mask, mt, i, m);
    Y::store(y, i, load_any(x, xt, i) * m);
  }
}

}  // namespace

void launch_dropout(const void* x, DType x_type, void* y, DType y_type, void* mask, DType mask_type,
                    std::int64_t n, float p, float keep_scale, std::uint64_t seed,
                    const StepState* step, cudaStream_t stream) {
  if (n <= 0) return;
  with_storage(y_type, [&](auto t) {
    using Y = decltype(t);
    dropout_kernel<Y><<<blocks_for(n), kThreads, 0, stream>>>(
        x, x_type, static_cast<typename Y::raw*>(y), mask, mask_type, n, p, keep_scale, seed, step);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("dropout");
}

}  // namespace mantissa::cuda
