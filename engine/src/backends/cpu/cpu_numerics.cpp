// Per-tensor numerics on the CPU (numerics_bits.hpp): one pass over a
// tensor's fp32 bit patterns, block by block, with integer compares that
// vectorise; the histogram, on sampled steps, in the same pass.
#include <array>
#include <bit>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <bit>
#include <cstring>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/cpu_numerics_kernels.hpp"
#include "backends/numerics_checks.hpp"
#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"

namespace mantissa::cpu {

namespace {

namespace nb = numerics_bits;

// Counts of one chunk: words kPosInf .. kSaturateF16 of numerics_bits, and
// the largest finite |x|'s bits. Signed compares (|x|'s bits are below 2^31)
// so that every ISA has them; the clones let the loop use AVX2 or AVX-512
// where the CPU has them.
struct Counts {
  std::int32_t amax = 0;
  std::int32_t pos = 0, neg = 0, nan = 0, zero = 0, f16 = 0, bf16 = 0, sub = 0, sat = 0;
};

#define MANTISSA_COUNT_BODY(load)                                               \
  std::int32_t amax = 0, pos = 0, neg = 0, nan = 0, zero = 0, f16 = 0, bf16 = 0, \
               sub = 0, sat = 0;                                                 \
  _Pragma("omp simd reduction(max : amax) reduction(+ : pos, neg, nan, zero, f16, bf16, sub, sat)") \
  for (std::int64_t i = 0; i < n; ++i) {                                        \
    const std::int32_t bits = std::int32_t(load);                               \
    const std::int32_t a = bits & 0x7FFFFFFF;                                   \
    constexpr std::int32_t inf = std::int32_t(nb::kInf);                        \
    amax = std::max(amax, a < inf ? a : 0);                                     \
    nan += a > inf;                                                             \
    pos += bits == inf;                                                         \
    neg += bits == std::int32_t(nb::kInf | 0x80000000u);                        \
    zero += a == 0;                                                             \
    f16 += (a > 0) & (a < std::int32_t(nb::kFlushF16Below));                    \
    bf16 += (a > 0) & (a < std::int32_t(nb::kFlushBF16Below));                  \
    sub += (a >= std::int32_t(nb::kFlushF16Below)) & (a < std::int32_t(nb::kNormalF16From)); \
    sat += (a >= std::int32_t(nb::kSaturateF16From)) & (a < inf);               \
  }                                                                             \
  return {amax, pos, neg, nan, zero, f16, bf16, sub, sat};

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
Counts count_bits32(const std::uint32_t* x, std::int64_t n) {
  MANTISSA_COUNT_BODY(x[i])
}

// bf16 is the top half of an fp32: its bits widen by a shift.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
Counts count_bits16(const std::uint16_t* x, std::int64_t n) {
  MANTISSA_COUNT_BODY(std::uint32_t(x[i]) << 16)
}

#undef MANTISSA_COUNT_BODY

#define MANTISSA_GLANCE_BODY(load)                                              \
  std::int32_t hi = 0, zero = 0, lo0 = 0, lo1 = 0, lo2 = 0;                     \
  _Pragma("omp simd reduction(max : hi) reduction(+ : zero, lo0, lo1, lo2)")    \
  for (std::int64_t i = 0; i < n; ++i) {                                        \
    const std::int32_t a = std::int32_t(load) & 0x7FFFFFFF;                     \
    hi = std::max(hi, a);                                                       \
    zero += a == 0;                                                             \
    lo0 += a < std::int32_t(nb::kFlushBF16Below);                              \
    lo1 += a < std::int32_t(nb::kFlushF16Below);                               \
    lo2 += a < std::int32_t(nb::kNormalF16From);                               \
  }                                                                             \
  return {hi, zero, lo0, lo1, lo2};

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
Glance portable_glance32(const std::uint32_t* x, std::int64_t n) {
  MANTISSA_GLANCE_BODY(x[i])
}

#undef MANTISSA_GLANCE_BODY

// bf16 in its own 16-bit lanes (twice the values per vector): its bits are
// the top half of the fp32 pattern, so each threshold compares as its top
// half (the bf16 flush threshold catches only 0). n must stay below 2^16.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
Glance portable_glance16(const std::uint16_t* x, std::int64_t n) {
  std::uint16_t hi = 0, zero = 0, lo1 = 0, lo2 = 0;
#pragma omp simd reduction(max : hi) reduction(+ : zero, lo1, lo2)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto a = std::uint16_t(x[i] & 0x7FFF);
    hi = std::max(hi, a);
    zero = std::uint16_t(zero + (a == 0));
    lo1 = std::uint16_t(lo1 + (a < std::uint16_t(nb::kFlushF16Below >> 16)));
    lo2 = std::uint16_t(lo2 + (a < std::uint16_t(nb::kNormalF16From >> 16)));
  }
  static_assert((nb::kFlushF16Below & 0xFFFF) == 0 && (nb::kNormalF16From & 0xFFFF) == 0 &&
                nb::kFlushBF16Below <= 0x10000);
  return {std::int32_t(std::uint32_t(hi) << 16), zero, zero, lo1, lo2};
}

#if defined(__x86_64__)
// GCC 12's AVX-512 headers start some intrinsics from an "undefined" vector,
// which its -Wuninitialized reports at every inlined call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define MANTISSA_WIDE __attribute__((target("avx512f,avx512bw,popcnt")))

// fp32 as two 16-bit views of 32 values at a time: the low view packs |x|
// with unsigned saturation (0 stays 0, and only |x| < 2^-134 stays below
// 0x8000), the high view packs |x| >> 16 (fp16's thresholds lie on 16-bit
// boundaries). The packs interleave lanes, which counts do not mind; the
// maximum is taken on the full 32 bits.
MANTISSA_WIDE Glance wide_glance32(const std::uint32_t* x, std::int64_t n) {
  static_assert((nb::kFlushF16Below & 0xFFFF) == 0 && (nb::kNormalF16From & 0xFFFF) == 0 &&
                nb::kFlushBF16Below < 0xFFFF);
  const __m512i abs = _mm512_set1_epi32(0x7FFFFFFF);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i t_bf16 = _mm512_set1_epi16(std::int16_t(nb::kFlushBF16Below));
  const __m512i t_f16 = _mm512_set1_epi16(std::int16_t(nb::kFlushF16Below >> 16));
  const __m512i t_normal = _mm512_set1_epi16(std::int16_t(nb::kNormalF16From >> 16));
  __m512i mx = zero;
  std::int32_t zeros = 0, lo0 = 0, lo1 = 0, lo2 = 0;
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i a0 = _mm512_and_si512(_mm512_loadu_si512(x + i), abs);
    const __m512i a1 = _mm512_and_si512(_mm512_loadu_si512(x + i + 16), abs);
    mx = _mm512_max_epu32(mx, _mm512_max_epu32(a0, a1));
    const __m512i low = _mm512_packus_epi32(a0, a1);
    const __m512i high = _mm512_packus_epi32(_mm512_srli_epi32(a0, 16), _mm512_srli_epi32(a1, 16));
    zeros += std::popcount(_mm512_cmpeq_epu16_mask(low, zero));
    lo0 += std::popcount(_mm512_cmplt_epu16_mask(low, t_bf16));
    lo1 += std::popcount(_mm512_cmplt_epu16_mask(high, t_f16));
    lo2 += std::popcount(_mm512_cmplt_epu16_mask(high, t_normal));
  }
  Glance g{std::int32_t(_mm512_reduce_max_epu32(mx)), zeros, lo0, lo1, lo2};
  if (i < n) {
    const Glance t = portable_glance32(x + i, n - i);
    g.max_bits = std::max(g.max_bits, t.max_bits);
    g.zeros += t.zeros;
    g.below_bf16 += t.below_bf16;
    g.below_f16 += t.below_f16;
    g.below_f16_normal += t.below_f16_normal;
  }
  return g;
}

MANTISSA_WIDE Glance wide_glance16(const std::uint16_t* x, std::int64_t n) {
  const __m512i abs = _mm512_set1_epi16(0x7FFF);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i t_f16 = _mm512_set1_epi16(std::int16_t(nb::kFlushF16Below >> 16));
  const __m512i t_normal = _mm512_set1_epi16(std::int16_t(nb::kNormalF16From >> 16));
  __m512i mx = zero;
  std::int32_t zeros = 0, lo1 = 0, lo2 = 0;
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i a = _mm512_and_si512(_mm512_loadu_si512(x + i), abs);
    mx = _mm512_max_epu16(mx, a);
    zeros += std::popcount(_mm512_cmpeq_epu16_mask(a, zero));
    lo1 += std::popcount(_mm512_cmplt_epu16_mask(a, t_f16));
    lo2 += std::popcount(_mm512_cmplt_epu16_mask(a, t_normal));
  }
  // The widest 16-bit lane: fold the 32 lanes' maxima through 32-bit lanes.
  const __m512i folded = _mm512_max_epu32(_mm512_srli_epi32(mx, 16),
                                          _mm512_and_si512(mx, _mm512_set1_epi32(0xFFFF)));
  Glance g{std::int32_t(_mm512_reduce_max_epu32(folded) << 16), zeros, zeros, lo1, lo2};
  if (i < n) {
    const Glance t = portable_glance16(x + i, n - i);
    g.max_bits = std::max(g.max_bits, t.max_bits);
    g.zeros += t.zeros;
    g.below_bf16 += t.below_bf16;
    g.below_f16 += t.below_f16;
    g.below_f16_normal += t.below_f16_normal;
  }
  return g;
}
#undef MANTISSA_WIDE
#pragma GCC diagnostic pop
#endif

// A chunk's counts: from the glance when no value reaches fp16's saturation
// (then there is no inf, NaN or saturated value), else counted in full.
template <class Raw, class GlanceFn, class CountFn>
Counts chunk_counts(const Raw* x, std::int64_t n, GlanceFn glance, CountFn count) {
  const Glance g = glance(x, n);
  if (g.max_bits >= std::int32_t(nb::kSaturateF16From)) return count(x, n);
  Counts c;
  c.amax = g.max_bits;
  c.zero = g.zeros;
  c.bf16 = g.below_bf16 - g.zeros;
  c.f16 = g.below_f16 - g.zeros;
  c.sub = g.below_f16_normal - g.below_f16;
  return c;
}

// Chunks of at most this many values keep every count exact (the bf16
// glance counts in 16 bits).
constexpr std::int64_t kChunk = std::int64_t(1) << 15;

std::uint32_t word(std::uint64_t v) {
  return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : std::uint32_t(v);
}

}  // namespace

bool has_wide_glance() {
#if defined(__x86_64__)
  static const bool wide = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("popcnt");
  return wide;
#else
  return false;
#endif
}

Glance glance_bits32(const std::uint32_t* x, std::int64_t n, GlanceIsa isa) {
#if defined(__x86_64__)
  if (isa == GlanceIsa::Wide && has_wide_glance()) return wide_glance32(x, n);
#endif
  (void)isa;
  return portable_glance32(x, n);
}

Glance glance_bits16(const std::uint16_t* x, std::int64_t n, GlanceIsa isa) {
#if defined(__x86_64__)
  if (isa == GlanceIsa::Wide && has_wide_glance()) return wide_glance16(x, n);
#endif
  (void)isa;
  return portable_glance16(x, n);
}

void CpuBackend::tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                              const Tensor* enable) {
  check_tensor_stats_args(stats, histogram);
  const bool with_histogram =
      histogram != nullptr && enable != nullptr && enable->data_as<const std::uint32_t>()[0] != 0;
  const std::int64_t total = x.numel();
  const std::int64_t chunks = (total + kChunk - 1) / kChunk;
  const DType type = x.dtype();
  const GlanceIsa isa = has_wide_glance() ? GlanceIsa::Wide : GlanceIsa::Portable;
  const auto glance32 = [isa](const std::uint32_t* p, std::int64_t m) {
    return glance_bits32(p, m, isa);
  };
  const auto glance16 = [isa](const std::uint16_t* p, std::int64_t m) {
    return glance_bits16(p, m, isa);
  };
  std::uint64_t sum[nb::kWords] = {};
  std::int32_t amax = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum[:nb::kWords]) reduction(max : amax) \
    if (total >= kParallelMin)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * kChunk;
    const std::int64_t n = std::min(kChunk, total - begin);
    const auto add = [&](const Counts& k) {
      amax = std::max(amax, k.amax);
      sum[nb::kPosInf] += std::uint64_t(k.pos);
      sum[nb::kNegInf] += std::uint64_t(k.neg);
      sum[nb::kNaN] += std::uint64_t(k.nan);
      sum[nb::kZero] += std::uint64_t(k.zero);
      sum[nb::kFlushF16] += std::uint64_t(k.f16);
      sum[nb::kFlushBF16] += std::uint64_t(k.bf16);
      sum[nb::kSubnormalF16] += std::uint64_t(k.sub);
      sum[nb::kSaturateF16] += std::uint64_t(k.sat);
    };
    if (type == DType::F32) {
      add(chunk_counts(static_cast<const std::uint32_t*>(x.data()) + begin, n, glance32,
                       count_bits32));
    } else if (type == DType::BF16) {
      add(chunk_counts(static_cast<const std::uint16_t*>(x.data()) + begin, n, glance16,
                       count_bits16));
    } else {  // fp16 widens exactly to fp32 first
      alignas(64) float buf[kBlock];
      for (std::int64_t j = 0; j < n; j += kBlock) {
        const std::int64_t m = std::min(kBlock, n - j);
        const float* v = read_f32(x, begin + j, m, buf);
        add(count_bits32(reinterpret_cast<const std::uint32_t*>(v), m));
      }
    }
  }
  sum[nb::kCount] = std::uint64_t(total);
  auto* w = stats.data_as<std::uint32_t>();
  for (int k = 0; k < nb::kWords; ++k) w[k] = word(sum[k]);
  w[nb::kAmaxBits] = std::uint32_t(amax);
  if (!with_histogram) return;
  // The histogram from the fp32 exponent field: counts per exponent (four
  // tables in turn, so that increments do not wait on each other), then
  // exponent 0 split into zeros and subnormals, 255 non-finite, and the rest
  // folded into the binades.
  std::uint64_t exponents[256] = {};
#pragma omp parallel for schedule(static) reduction(+ : exponents[:256]) if (total >= kParallelMin)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * kChunk;
    const std::int64_t n = std::min(kChunk, total - begin);
    std::uint32_t t[4][256] = {};
    const auto tally = [&](auto exponent_of) {
      std::int64_t i = 0;
      for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) ++t[k][exponent_of(i + k)];
      for (; i < n; ++i) ++t[0][exponent_of(i)];
    };
    if (type == DType::F32) {
      const auto* v = static_cast<const std::uint32_t*>(x.data()) + begin;
      tally([v](std::int64_t i) { return (v[i] >> 23) & 0xFFu; });
    } else if (type == DType::BF16) {
      const auto* v = static_cast<const std::uint16_t*>(x.data()) + begin;
      tally([v](std::int64_t i) { return (std::uint32_t(v[i]) >> 7) & 0xFFu; });
    } else {
      alignas(64) float buf[kChunk];
      const float* f = read_f32(x, begin, n, buf);
      tally([f](std::int64_t i) { return (std::bit_cast<std::uint32_t>(f[i]) >> 23) & 0xFFu; });
    }
    for (int e = 0; e < 256; ++e) exponents[e] += t[0][e] + t[1][e] + t[2][e] + t[3][e];
  }
  std::uint64_t bins[nb::kBins] = {};
  bins[nb::kBinZero] = sum[nb::kZero];
  bins[nb::kBinSubnormal] = exponents[0] - sum[nb::kZero];
  bins[nb::kBinNonFinite] = exponents[255];
  for (int e = 1; e < 255; ++e)
    bins[nb::bin_of(std::uint32_t(e) << 23)] += exponents[e];
  auto* h = histogram->data_as<std::uint32_t>();
  for (int k = 0; k < nb::kBins; ++k) h[k] = word(bins[k]);
}

}  // namespace mantissa::cpu
