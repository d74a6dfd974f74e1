#include "backends/cuda/concat.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class S, class D>
__global__ void copy_rows_kernel(const typename S::raw* src, std::int64_t src_stride,
                                 typename D::raw* dst, std::int64_t dst_stride, std::int64_t rows,
                                 std::int64_t row_elements) {
  const std::int64_t total = rows * row_elements;
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    const std::int64_t r = i / row_elements;
    const std::int64_t j = i - r * row_elements;
    D::store(dst, r * dst_stride + j, S::load(src, r * src_stride + j));
  }
}

}  // namespace

void launch_copy_rows(const void* src, DType src_type, std::int64_t src_stride,
                      std::int64_t src_offset, void* dst, DType dst_type, std::int64_t dst_stride,
                      std::int64_t dst_offset, std::int64_t rows, std::int64_t row_elements,
                      cudaStream_t stream) {
  if (rows <= 0 || row_elements <= 0) return;
  const auto* s8 = static_cast<const char*>(src) + src_offset * std::int64_t(dtype_size(src_type));
  auto* d8 = static_cast<char*>(dst) + dst_offset * std::int64_t(dtype_size(dst_type));
  if (src_type == dst_type) {
    const std::size_t es = dtype_size(src_type);
    MANTISSA_CUDA_CHECK(cudaMemcpy2DAsync(
        d8, std::size_t(dst_stride) * es, s8, std::size_t(src_stride) * es,
        std::size_t(row_elements) * es, std::size_t(rows), cudaMemcpyDeviceToDevice, stream));
    return;
  }
  with_storage(src_type, [&](auto s) {
    with_storage(dst_type, [&](auto d) {
      using S = decltype(s);
      using D = decltype(d);
      copy_rows_kernel<S, D><<<blocks_for(rows * row_elements), kThreads, 0, stream>>>(
          reinterpret_cast<const typename S::raw*>(s8), src_stride,
          reinterpret_cast<typename D::raw*>(d8), dst_stride, rows, row_elements);
    });
  });
  MANTISSA_CUDA_CHECK_LAUNCH("copy_rows");
}

}  // namespace mantissa::cuda
