#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/sequence.cuh"

namespace mantissa::cuda {

namespace {

// ---- swap_axes12 --------------------------------------------------------------------

// One thread per output element, so writes are coalesced along d; reads are
// too whenever D is more than a few elements.
template <class R>
__global__ void swap_axes12_kernel(const R* x, R* y, std::int64_t B, std::int64_t C, std::int64_t D,
                                   std::int64_t n) {
  for (std::int64_t o = global_index(); o < n; o += global_stride()) {
    std::int64_t t = o / D;
    const std::int64_t d = o - t * D;
    const std::int64_t b = t % B;  // y is (A, C, B, D)
    t /= B;
    const std::int64_t c = t % C;
    const std::int64_t a = t / C;
    y[o] = x[((a * B + b) * C + c) * D + d];
  }
}

// ---- softmax ------------------------------------------------------------------------

// Threads per row: a warp for short rows, up to kThreads for long ones.
int row_threads(std::int64_t L) {
  const std::int64_t t = (L + 31) / 32 * 32;
  return int(t < 32 ? 32 : t > kThreads ? kThreads : t);
}

// Rows beyond the grid are taken by grid-stride (the whole block moves on
// together, so the block reductions stay in step).
constexpr std::int64_t kMaxRowBlocks = 65535;

unsigned row_blocks(std::int64_t rows) {
  return unsigned(rows < kMaxRowBlocks ? rows : kMaxRowBlocks);
}

// The CPU backend's arithmetic term for term: v = x * scale in fp32, the
// maximum over the unmasked values, e = expf(v - max) in fp32, their sum in
// double, and y = e * float(1 / sum).
__global__ void softmax_forward_kernel(const void* x, DType xt, void* y, DType yt,
                                       std::int64_t rows, std::int64_t L, float scale,
                                       std::int64_t T) {
  const float neg_inf = -__int_as_float(0x7F800000);
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int64_t base = r * L;
    const std::int64_t seen = T > 0 ? r % T + 1 : L;  // causal: positions after r % T masked
    float m = neg_inf;
    for (std::int64_t j = threadIdx.x; j < seen; j += blockDim.x) {
      const float v = load_any(x, xt, base + j) * scale;
      m = v > m ? v : m;
    }
    m = block_max(m);
    double sum = 0.0;
    for (std::int64_t j = threadIdx.x; j < seen; j += blockDim.x)
      sum += double(expf(load_any(x, xt, base + j) * scale - m));
    sum = block_sum(sum);
    const float inv = float(1.0 / sum);
    for (std::int64_t j = threadIdx.x; j < L; j += blockDim.x) {
      const float p = j < seen ? expf(load_any(x, xt, base + j) * scale - m) * inv : 0.0f;
      store_any(y, yt, base + j, p);
    }
  }
}

__global__ void softmax_backward_kernel(const void* y, DType yt, const void* dy, DType dyt,
                                        void* dx, DType dxt, std::int64_t rows, std::int64_t L,
                                        float scale) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int64_t base = r * L;
    double dot = 0.0;  // products of two floats are exact in double
    for (std::int64_t j = threadIdx.x; j < L; j += blockDim.x)
      dot += double(load_any(y, yt, base + j)) * double(load_any(dy, dyt, base + j));
    dot = block_sum(dot);
    const float d = float(dot);
    for (std::int64_t j = threadIdx.x; j < L; j += blockDim.x) {
      const float p = load_any(y, yt, base + j);
      const float g = load_any(dy, dyt, base + j);
      store_any(dx, dxt, base + j, scale * p * (g - d));
    }
  }
}

}  // namespace

void launch_swap_axes12(const void* x, void* y, std::size_t element_size, std::int64_t A,
                        std::int64_t B, std::int64_t C, std::int64_t D, cudaStream_t stream) {
  const std::int64_t n = A * B * C * D;
  if (n <= 0) return;
  if (element_size == 4) {
    swap_axes12_kernel<std::uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const std::uint32_t*>(x), static_cast<std::uint32_t*>(y), B, C, D, n);
  } else {
    swap_axes12_kernel<std::uint16_t><<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const std::uint16_t*>(x), static_cast<std::uint16_t*>(y), B, C, D, n);
  }
  MANTISSA_CUDA_CHECK_LAUNCH("swap_axes12");
}

void launch_softmax_forward(const void* x, DType x_type, void* y, DType y_type, std::int64_t rows,
                            std::int64_t L, float scale, std::int64_t causal_T,
                            cudaStream_t stream) {
  if (rows <= 0 || L <= 0) return;
  softmax_forward_kernel<<<row_blocks(rows), row_threads(L), 0, stream>>>(x, x_type, y, y_type,
                                                                          rows, L, scale, causal_T);
  MANTISSA_CUDA_CHECK_LAUNCH("softmax forward");
}

void launch_softmax_backward(const void* y, DType y_type, const void* dy, DType dy_type, void* dx,
                             DType dx_type, std::int64_t rows, std::int64_t L, float scale,
                             cudaStream_t stream) {
  if (rows <= 0 || L <= 0) return;
  softmax_backward_kernel<<<row_blocks(rows), row_threads(L), 0, stream>>>(
      y, y_type, dy, dy_type, dx, dx_type, rows, L, scale);
  MANTISSA_CUDA_CHECK_LAUNCH("softmax backward");
}

}  // namespace mantissa::cuda
