#include "backends/cuda/bias.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class T>
__global__ void bias_add_kernel(typename T::raw* y, const float* bias, std::int64_t total,
                                std::int64_t channels, std::int64_t inner) {
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    const std::int64_t c = (i / inner) % channels;
    T::store(y, i, T::load(y, i) + bias[c]);
  }
}

template <class T>
__global__ void bias_grad_kernel(const typename T::raw* dy, float* dbias, std::int64_t outer,
                                 std::int64_t channels, std::int64_t inner, float beta) {
  const std::int64_t c = blockIdx.x;
  const std::int64_t count = outer * inner;
  double sum = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t n = j / inner;
    const std::int64_t s = j - n * inner;
    sum += double(T::load(dy, (n * channels + c) * inner + s));
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) {
    const float g = float(sum);
    dbias[c] = beta == 0.0f ? g : g + beta * dbias[c];
  }
}

}  // namespace

void launch_bias_add(void* y, DType y_type, const float* bias, std::int64_t outer,
                     std::int64_t channels, std::int64_t inner, cudaStream_t stream) {
  const std::int64_t total = outer * channels * inner;
  if (total <= 0) return;
  with_storage(y_type, [&](auto t) {
    using T = decltype(t);
    bias_add_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(static_cast<typename T::raw*>(y),
                                                                   bias, total, channels, inner);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("bias_add");
}

void launch_bias_grad(const void* dy, DType dy_type, float* dbias, std::int64_t outer,
                      std::int64_t channels, std::int64_t inner, float beta, cudaStream_t stream) {
  if (channels <= 0) return;
  with_storage(dy_type, [&](auto t) {
    using T = decltype(t);
    bias_grad_kernel<T><<<unsigned(channels), kThreads, 0, stream>>>(
        static_cast<const typename T::raw*>(dy), dbias, outer, channels, inner, beta);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("bias_grad");
}

}  // namespace mantissa::cuda
