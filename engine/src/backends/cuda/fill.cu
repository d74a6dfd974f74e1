#include "backends/cuda/fill.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class Raw>
__global__ void fill_kernel(Raw* p, std::int64_t n, Raw value) {
  for (std::int64_t i = global_index(); i < n; i += global_stride()) p[i] = value;
}

}  // namespace

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attributes{};
  return cudaFuncGetAttributes(&attributes, fill_kernel<float>);
}

void launch_fill(void* data, DType dtype, std::int64_t n, float value, cudaStream_t stream) {
  if (n <= 0) return;
  const std::size_t bytes = std::size_t(n) * dtype_size(dtype);
  if (bits_of(value) == 0) {  // +0 is all-zero bits in every dtype
    MANTISSA_CUDA_CHECK(cudaMemsetAsync(data, 0, bytes, stream));
    return;
  }
  if (dtype == DType::F32) {
    fill_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<float*>(data), n, value);
  } else {
    const std::uint16_t bits = dtype == DType::F16 ? round_to_f16(value) : round_to_bf16(value);
    fill_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<std::uint16_t*>(data), n, bits);
  }
  MANTISSA_CUDA_CHECK_LAUNCH("fill");
}

}  // namespace mantissa::cuda
