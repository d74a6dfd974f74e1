#include "backends/cuda/cast.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class S, class D>
__global__ void cast_kernel(const typename S::raw* src, typename D::raw* dst, std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += global_stride())
    D::store(dst, i, S::load(src, i));
}

}  // namespace

void launch_cast(const void* src, DType src_type, void* dst, DType dst_type, std::int64_t n,
                 cudaStream_t stream) {
  if (n <= 0) return;
  if (src_type == dst_type) {
    if (src != dst) {
      MANTISSA_CUDA_CHECK(cudaMemcpyAsync(dst, src, std::size_t(n) * dtype_size(src_type),
                                          cudaMemcpyDeviceToDevice, stream));
    }
    return;
  }
  with_storage(src_type, [&](auto s) {
    with_storage(dst_type, [&](auto d) {
      using S = decltype(s);
      using D = decltype(d);
      cast_kernel<S, D><<<blocks_for(n), kThreads, 0, stream>>>(
          static_cast<const typename S::raw*>(src), static_cast<typename D::raw*>(dst), n);
    });
  });
  MANTISSA_CUDA_CHECK_LAUNCH("cast");
}

}  // namespace mantissa::cuda
