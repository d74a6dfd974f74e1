#include "backends/cuda/activation.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class Y>
__global__ void activation_forward_kernel(ActKind act, float alpha, const void* x, DType xt,
                                          typename Y::raw* y, std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += global_stride())
    Y::store(y, i, activation_value(act, alpha, load_any(x, xt, i)));
}

template <class D>
__global__ void activation_backward_kernel(ActKind act, float alpha, const void* a, DType at,
                                           const void* dy, DType gt, typename D::raw* dx,
                                           std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += global_stride())
    D::store(dx, i, activation_grad(act, alpha, load_any(a, at, i), load_any(dy, gt, i)));
}

}  // namespace

void launch_activation_forward(ActKind act, float alpha, const void* x, DType x_type, void* y,
                               DType y_type, std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  with_storage(y_type, [&](auto t) {
    using Y = decltype(t);
    activation_forward_kernel<Y><<<blocks_for(n), kThreads, 0, stream>>>(
        act, alpha, x, x_type, static_cast<typename Y::raw*>(y), n);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("activation_forward");
}

void launch_activation_backward(ActKind act, float alpha, const void* a, DType a_type,
                                const void* dy, DType dy_type, void* dx, DType dx_type,
                                std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  with_storage(dx_type, [&](auto t) {
    using D = decltype(t);
    activation_backward_kernel<D><<<blocks_for(n), kThreads, 0, stream>>>(
        act, alpha, a, a_type, dy, dy_type, static_cast<typename D::raw*>(dx), n);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("activation_backward");
}

}  // namespace mantissa::cuda
