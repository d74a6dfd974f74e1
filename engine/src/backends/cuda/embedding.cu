#include "backends/cuda/embedding.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

// The row an id names, or -1 when it is not an integer in [0, V) (NaN too).
__device__ inline std::int64_t token_row(float id, std::int64_t V) {
  if (!(id >= 0.0f && id < 9.0e18f) || floorf(id) != id) return -1;
  const auto v = std::int64_t(id);
  return v < V ? v : -1;
}

template <class R>
__global__ void embedding_forward_kernel(const R* table, const float* ids, R* out, std::int64_t V,
                                         std::int64_t C, std::int64_t n, R nan) {
  for (std::int64_t i = global_index(); i < n; i += global_stride()) {
    const std::int64_t m = i / C;
    const std::int64_t c = i - m * C;
    const std::int64_t v = token_row(ids[m], V);
    out[i] = v >= 0 ? table[v * C + c] : nan;
  }
}

// See embedding.cuh. Every branch on `m` is uniform across the block, so the
// block moves through positions together (__syncthreads_or needs all of it).
__global__ void embedding_backward_kernel(const float* ids, const void* dout, DType dt,
                                          float* dtable, std::int64_t V, std::int64_t C,
                                          std::int64_t M) {
  for (std::int64_t m = blockIdx.x; m < M; m += gridDim.x) {
    const float id = ids[m];
    const std::int64_t v = token_row(id, V);
    if (v < 0) continue;
    int earlier = 0;
    for (std::int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      if (ids[j] == id) {  // equal valid ids are equal floats
        earlier = 1;
        break;
      }
    }
    if (__syncthreads_or(earlier)) continue;  // an earlier position owns this row
    float* row = dtable + v * C;
    for (std::int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      float acc = 0.0f;  // as the CPU: the zeroed row, then each position's value in order
      for (std::int64_t k = m; k < M; ++k)
        if (ids[k] == id) acc += load_any(dout, dt, k * C + c);
      row[c] = acc;
    }
  }
}

constexpr std::int64_t kMaxPositionBlocks = 65535;

}  // namespace

void launch_embedding_forward(const void* table, DType table_type, const float* ids, void* out,
                              std::int64_t V, std::int64_t C, std::int64_t M, cudaStream_t stream) {
  const std::int64_t n = M * C;
  if (n <= 0) return;
  if (table_type == DType::F32) {
    embedding_forward_kernel<std::uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const std::uint32_t*>(table), ids, static_cast<std::uint32_t*>(out), V, C, n,
        0x7FC00000u);
  } else {
    // The canonical NaN of each 16-bit type (storage.hpp).
    const std::uint16_t nan = table_type == DType::F16 ? 0x7E00 : 0x7FC0;
    embedding_forward_kernel<std::uint16_t>
        <<<blocks_for(n), kThreads, 0, stream>>>(static_cast<const std::uint16_t*>(table), ids,
                                                 static_cast<std::uint16_t*>(out), V, C, n, nan);
  }
  MANTISSA_CUDA_CHECK_LAUNCH("embedding forward");
}

void launch_embedding_backward(const float* ids, const void* dout, DType dout_type, float* dtable,
                               std::int64_t V, std::int64_t C, std::int64_t M,
                               cudaStream_t stream) {
  if (V <= 0 || C <= 0) return;
  // Rows never looked up stay 0 (a memset node under capture).
  MANTISSA_CUDA_CHECK(
      cudaMemsetAsync(dtable, 0, std::size_t(V) * std::size_t(C) * sizeof(float), stream));
  if (M <= 0) return;
  const std::int64_t t = (C + 31) / 32 * 32;
  const int threads = int(t > kThreads ? kThreads : t);
  const auto blocks = unsigned(M < kMaxPositionBlocks ? M : kMaxPositionBlocks);
  embedding_backward_kernel<<<blocks, threads, 0, stream>>>(ids, dout, dout_type, dtable, V, C, M);
  MANTISSA_CUDA_CHECK_LAUNCH("embedding backward");
}

}  // namespace mantissa::cuda
