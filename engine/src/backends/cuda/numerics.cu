#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/numerics.cuh"
#include "mantissa/numerics_bits.hpp"

namespace mantissa::cuda {

namespace {

namespace nb = numerics_bits;

// Zeroes the words the next kernel adds into; the histogram only when it is
// asked for this step (read on the device, so a replayed step follows it).
__global__ void stats_zero_kernel(std::uint32_t* stats, std::uint32_t* histogram,
                                  const std::uint32_t* enable) {
  const int i = int(threadIdx.x);
  if (i < nb::kWords) stats[i] = 0;
  if (histogram != nullptr && enable != nullptr && *enable != 0 && i < nb::kBins) histogram[i] = 0;
}

template <class S>
__global__ void stats_kernel(const typename S::raw* x, std::int64_t n, std::uint32_t* stats,
                             std::uint32_t* histogram, const std::uint32_t* enable) {
  __shared__ std::uint32_t bins[nb::kBins];
  const bool with_histogram = histogram != nullptr && enable != nullptr && *enable != 0;
  if (with_histogram) {
    for (int i = int(threadIdx.x); i < nb::kBins; i += blockDim.x) bins[i] = 0;
    __syncthreads();
  }
  std::uint32_t amax = 0, pos = 0, neg = 0, nan = 0, zero = 0, f16 = 0, bf16 = 0, sub = 0, sat = 0;
  for (std::int64_t k = global_index(); k < n; k += global_stride()) {
    const std::uint32_t bits = bits_of(S::load(x, k));  // 16-bit values widen exactly
    const std::uint32_t a = bits & 0x7FFFFFFFu;
    amax = max(amax, a < nb::kInf ? a : 0u);
    nan += a > nb::kInf;
    pos += bits == nb::kInf;
    neg += bits == (nb::kInf | 0x80000000u);
    zero += a == 0;
    f16 += (a - 1u) < (nb::kFlushF16Below - 1u);
    bf16 += (a - 1u) < (nb::kFlushBF16Below - 1u);
    sub += (a - nb::kFlushF16Below) < (nb::kNormalF16From - nb::kFlushF16Below);
    sat += (a - nb::kSaturateF16From) < (nb::kInf - nb::kSaturateF16From);
    if (with_histogram) atomicAdd(&bins[nb::bin_of(a)], 1u);
  }
  const std::uint32_t counts[] = {pos, neg, nan, zero, f16, bf16, sub, sat};
  const int words[] = {nb::kPosInf,    nb::kNegInf,        nb::kNaN,          nb::kZero,
                       nb::kFlushF16, nb::kFlushBF16, nb::kSubnormalF16, nb::kSaturateF16};
  for (int j = 0; j < 8; ++j) {
    const std::uint32_t c = block_sum(counts[j]);
    if (threadIdx.x == 0 && c != 0) atomicAdd(&stats[words[j]], c);
  }
  // Integer max and sums: the same words in any order of blocks.
  const std::uint32_t m = warp_max(amax);
  if ((threadIdx.x & 31) == 0 && m != 0) atomicMax(&stats[nb::kAmaxBits], m);
  if (blockIdx.x == 0 && threadIdx.x == 0) stats[nb::kCount] = std::uint32_t(n < 0xFFFFFFFFll ? n : 0xFFFFFFFFll);
  if (with_histogram) {
    __syncthreads();
    for (int i = int(threadIdx.x); i < nb::kBins; i += blockDim.x)
      if (bins[i] != 0) atomicAdd(&histogram[i], bins[i]);
  }
}

}  // namespace

void launch_tensor_stats(DType type, const void* x, std::int64_t n, std::uint32_t* stats,
                         std::uint32_t* histogram, const std::uint32_t* enable,
                         cudaStream_t stream) {
  stats_zero_kernel<<<1, 128, 0, stream>>>(stats, histogram, enable);
  MANTISSA_CUDA_CHECK_LAUNCH("tensor_stats (zero)");
  if (n <= 0) return;
  with_storage(type, [&](auto s) {
    using S = decltype(s);
    stats_kernel<S><<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const typename S::raw*>(x), n, stats, histogram, enable);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("tensor_stats");
}

}  // namespace mantissa::cuda
