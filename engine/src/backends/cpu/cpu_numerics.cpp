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
#include <omp.h>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/cpu_numerics_kernels.hpp"
#include "backends/cpu/cpu_stats_pass.hpp"
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

// fp16 in its own 16-bit lanes. Every finite fp16 value is at least 2^-24
// (never flushed by fp16 or bf16) and at most 65,504 (never saturating), so
// of the counts only zeros and subnormals (0 < |h| < 0x0400) can be non-zero;
// |h| >= 0x7C00 is inf or NaN, which add_stats counts in full. n must
// stay below 2^16.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
Glance glance_f16(const std::uint16_t* x, std::int64_t n) {
  std::uint16_t hi = 0, zero = 0, below_normal = 0;
#pragma omp simd reduction(max : hi) reduction(+ : zero, below_normal)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto a = std::uint16_t(x[i] & 0x7FFF);
    hi = std::max(hi, a);
    zero = std::uint16_t(zero + (a == 0));
    below_normal = std::uint16_t(below_normal + (a < 0x0400));
  }
  // max_bits as fp32 bits (widening keeps the order of magnitudes); every
  // non-zero value lies above both flush thresholds.
  return {std::int32_t(float_bits(f16_to_f32(hi))), zero, zero, zero, below_normal};
}

#if defined(__x86_64__)
// fp32 as two 16-bit views of 16 values at a time, as wide_glance32 below but
// with AVX2's signed 16-bit compares: the low view (|x| packed with unsigned
// saturation) is below 0x8000 exactly when it is non-negative as a signed
// lane, and the high view (|x| >> 16) never reaches 0x8000. Counts grow in
// 16-bit lanes (at most 2^15 / 16 per lane in a chunk).
__attribute__((target("avx2"))) Glance avx2_glance32(const std::uint32_t* x, std::int64_t n) {
  static_assert((nb::kFlushF16Below & 0xFFFF) == 0 && (nb::kNormalF16From & 0xFFFF) == 0 &&
                nb::kFlushBF16Below == 0x8000);
  const __m256i abs = _mm256_set1_epi32(0x7FFFFFFF);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i minus_one = _mm256_set1_epi16(-1);
  const __m256i t_f16 = _mm256_set1_epi16(std::int16_t(nb::kFlushF16Below >> 16));
  const __m256i t_normal = _mm256_set1_epi16(std::int16_t(nb::kNormalF16From >> 16));
  __m256i mx = zero, zeros = zero, lo0 = zero, lo1 = zero, lo2 = zero;
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a0 = _mm256_and_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), abs);
    const __m256i a1 = _mm256_and_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8)), abs);
    mx = _mm256_max_epu32(mx, _mm256_max_epu32(a0, a1));
    const __m256i low = _mm256_packus_epi32(a0, a1);
    const __m256i high = _mm256_packus_epi32(_mm256_srli_epi32(a0, 16), _mm256_srli_epi32(a1, 16));
    // A true compare is -1: subtracting it counts one.
    zeros = _mm256_sub_epi16(zeros, _mm256_cmpeq_epi16(low, zero));
    lo0 = _mm256_sub_epi16(lo0, _mm256_cmpgt_epi16(low, minus_one));
    lo1 = _mm256_sub_epi16(lo1, _mm256_cmpgt_epi16(t_f16, high));
    lo2 = _mm256_sub_epi16(lo2, _mm256_cmpgt_epi16(t_normal, high));
  }
  const auto total = [](__m256i v) __attribute__((target("avx2"))) {
    const __m256i pairs = _mm256_madd_epi16(v, _mm256_set1_epi16(1));
    const __m128i q = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
    const __m128i d = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
    return std::int32_t(_mm_cvtsi128_si32(_mm_add_epi32(d, _mm_shuffle_epi32(d, 0xB1))));
  };
  const __m128i m4 = _mm_max_epu32(_mm256_castsi256_si128(mx), _mm256_extracti128_si256(mx, 1));
  const __m128i m2 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, 0x4E));
  const __m128i m1 = _mm_max_epu32(m2, _mm_shuffle_epi32(m2, 0xB1));
  Glance g{std::int32_t(_mm_cvtsi128_si32(m1)), total(zeros), total(lo0), total(lo1), total(lo2)};
  if (i < n) g.add(portable_glance32(x + i, n - i));
  return g;
}

// GCC 12's AVX-512 headers start some intrinsics from an "undefined" vector,
// which its -Wuninitialized reports at every inlined call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define MANTISSA_WIDE __attribute__((target("avx512f,avx512bw,popcnt")))

// How many of 64 lanes two 32-lane compare masks set: one popcount.
MANTISSA_WIDE inline std::int32_t count(__mmask32 a, __mmask32 b) {
  return std::int32_t(std::popcount(_cvtmask64_u64(_mm512_kunpackd(__mmask64(b), __mmask64(a)))));
}

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
  // 64 values per step: two 32-lane masks joined, one popcount each.
  const auto views = [&](std::int64_t at, __m512i& low, __m512i& high) MANTISSA_WIDE {
    const __m512i a0 = _mm512_and_si512(_mm512_loadu_si512(x + at), abs);
    const __m512i a1 = _mm512_and_si512(_mm512_loadu_si512(x + at + 16), abs);
    mx = _mm512_max_epu32(mx, _mm512_max_epu32(a0, a1));
    low = _mm512_packus_epi32(a0, a1);
    high = _mm512_packus_epi32(_mm512_srli_epi32(a0, 16), _mm512_srli_epi32(a1, 16));
  };
  std::int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512i low0, high0, low1, high1;
    views(i, low0, high0);
    views(i + 32, low1, high1);
    zeros += count(_mm512_cmpeq_epu16_mask(low0, zero), _mm512_cmpeq_epu16_mask(low1, zero));
    lo0 += count(_mm512_cmplt_epu16_mask(low0, t_bf16), _mm512_cmplt_epu16_mask(low1, t_bf16));
    lo1 += count(_mm512_cmplt_epu16_mask(high0, t_f16), _mm512_cmplt_epu16_mask(high1, t_f16));
    lo2 += count(_mm512_cmplt_epu16_mask(high0, t_normal), _mm512_cmplt_epu16_mask(high1, t_normal));
  }
  Glance g{std::int32_t(_mm512_reduce_max_epu32(mx)), zeros, lo0, lo1, lo2};
  if (i < n) g.add(portable_glance32(x + i, n - i));
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
  for (; i + 64 <= n; i += 64) {
    const __m512i a = _mm512_and_si512(_mm512_loadu_si512(x + i), abs);
    const __m512i b = _mm512_and_si512(_mm512_loadu_si512(x + i + 32), abs);
    mx = _mm512_max_epu16(mx, _mm512_max_epu16(a, b));
    zeros += count(_mm512_cmpeq_epu16_mask(a, zero), _mm512_cmpeq_epu16_mask(b, zero));
    lo1 += count(_mm512_cmplt_epu16_mask(a, t_f16), _mm512_cmplt_epu16_mask(b, t_f16));
    lo2 += count(_mm512_cmplt_epu16_mask(a, t_normal), _mm512_cmplt_epu16_mask(b, t_normal));
  }
  // The widest 16-bit lane: fold the 32 lanes' maxima through 32-bit lanes.
  const __m512i folded = _mm512_max_epu32(_mm512_srli_epi32(mx, 16),
                                          _mm512_and_si512(mx, _mm512_set1_epi32(0xFFFF)));
  Glance g{std::int32_t(_mm512_reduce_max_epu32(folded) << 16), zeros, zeros, lo1, lo2};
  if (i < n) g.add(portable_glance16(x + i, n - i));
  return g;
}
#undef MANTISSA_WIDE
#pragma GCC diagnostic pop
#endif

// How many of n finite values reach fp16's saturation (|x| >= 65,520).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
std::int32_t count_saturating32(const std::uint32_t* x, std::int64_t n) {
  std::int32_t sat = 0;
#pragma omp simd reduction(+ : sat)
  for (std::int64_t i = 0; i < n; ++i)
    sat += std::int32_t(x[i] & 0x7FFFFFFF) >= std::int32_t(nb::kSaturateF16From);
  return sat;
}
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
std::int32_t count_saturating16(const std::uint16_t* x, std::int64_t n) {  // bf16
  std::int32_t sat = 0;
#pragma omp simd reduction(+ : sat)
  for (std::int64_t i = 0; i < n; ++i)
    sat += std::int32_t(std::uint32_t(x[i] & 0x7FFF) << 16) >= std::int32_t(nb::kSaturateF16From);
  return sat;
}

// A chunk's counts: from the glance when every value is finite (then there
// is no inf or NaN), with one more count of the values at fp16's saturation
// where the glance's maximum reaches it (scaled gradients do); with inf or
// NaN, counted in full.
template <class Raw, class GlanceFn, class CountFn, class SaturatingFn>
Counts chunk_counts(const Raw* x, std::int64_t n, GlanceFn glance, CountFn count,
                    SaturatingFn saturating) {
  const Glance g = glance(x, n);
  if (g.max_bits >= std::int32_t(nb::kInf)) return count(x, n);
  Counts c;
  c.amax = g.max_bits;
  c.zero = g.zeros;
  c.bf16 = g.below_bf16 - g.zeros;
  c.f16 = g.below_f16 - g.zeros;
  c.sub = g.below_f16_normal - g.below_f16;
  if (g.max_bits >= std::int32_t(nb::kSaturateF16From)) c.sat = saturating(x, n);
  return c;
}

constexpr std::int64_t kChunk = kStatsChunk;

std::uint32_t word(std::uint64_t v) {
  return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : std::uint32_t(v);
}

}  // namespace

GlanceIsa best_glance() {
  static const GlanceIsa best =
      has_wide_glance() ? GlanceIsa::Wide : has_avx2() ? GlanceIsa::Avx2 : GlanceIsa::Portable;
  return best;
}

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
  if (isa == GlanceIsa::Avx2 && has_avx2()) return avx2_glance32(x, n);
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

StatsChunks stats_chunks(std::int64_t total) {
  if (total <= 0) return {0, kStatsChunk};
  const std::int64_t threads = total >= kParallelMin ? omp_get_max_threads() : 1;
  std::int64_t count = (total + kStatsChunk - 1) / kStatsChunk;
  count = (count + threads - 1) / threads * threads;
  // Rounding each chunk up to 64 values can leave the last chunks empty; the
  // size never passes kStatsChunk (a multiple of 64).
  const std::int64_t size = std::min(kStatsChunk, ((total + count - 1) / count + 63) / 64 * 64);
  return {(total + size - 1) / size, size};
}

void StatsSums::merge(const StatsSums& o) {
  amax = std::max(amax, o.amax);
  for (int k = 0; k < nb::kWords; ++k) words[k] += o.words[k];
}

void add_stats(const Tensor& t, std::int64_t begin, std::int64_t n, StatsSums& s) {
  MANTISSA_ASSERT(n <= kStatsChunk, "add_stats takes at most one chunk");
  const GlanceIsa isa = best_glance();
  const auto add = [&s](const Counts& k) {
    s.amax = std::max(s.amax, k.amax);
    s.words[nb::kPosInf] += std::uint64_t(k.pos);
    s.words[nb::kNegInf] += std::uint64_t(k.neg);
    s.words[nb::kNaN] += std::uint64_t(k.nan);
    s.words[nb::kZero] += std::uint64_t(k.zero);
    s.words[nb::kFlushF16] += std::uint64_t(k.f16);
    s.words[nb::kFlushBF16] += std::uint64_t(k.bf16);
    s.words[nb::kSubnormalF16] += std::uint64_t(k.sub);
    s.words[nb::kSaturateF16] += std::uint64_t(k.sat);
  };
  if (t.dtype() == DType::F32) {
    add(chunk_counts(static_cast<const std::uint32_t*>(t.data()) + begin, n,
                     [isa](const std::uint32_t* p, std::int64_t m) { return glance_bits32(p, m, isa); },
                     count_bits32, count_saturating32));
  } else if (t.dtype() == DType::BF16) {
    add(chunk_counts(static_cast<const std::uint16_t*>(t.data()) + begin, n,
                     [isa](const std::uint16_t* p, std::int64_t m) { return glance_bits16(p, m, isa); },
                     count_bits16, count_saturating16));
  } else {
    // fp16 with no inf or NaN: the glance's counts are exact (see
    // glance_f16); with them, it widens exactly to fp32 and is counted in full.
    const Glance g = glance_f16(static_cast<const std::uint16_t*>(t.data()) + begin, n);
    if (g.max_bits < std::int32_t(nb::kInf)) {
      Counts c;
      c.amax = g.max_bits;
      c.zero = g.zeros;
      c.sub = g.below_f16_normal - g.zeros;
      add(c);
      return;
    }
    alignas(64) float buf[kBlock];
    for (std::int64_t j = 0; j < n; j += kBlock) {
      const std::int64_t m = std::min(kBlock, n - j);
      const float* v = read_f32(t, begin + j, m, buf);
      add(count_bits32(reinterpret_cast<const std::uint32_t*>(v), m));
    }
  }
}

void write_stats(const StatsSums& s, std::int64_t total, Tensor& stats) {
  auto* w = stats.data_as<std::uint32_t>();
  for (int k = 0; k < nb::kWords; ++k) w[k] = word(s.words[k]);
  w[nb::kCount] = word(std::uint64_t(total));
  w[nb::kAmaxBits] = std::uint32_t(s.amax);
}

bool histogram_due(const Backend::StatsTarget& target) {
  return target.histogram.defined() && target.enable != nullptr &&
         target.enable->data_as<const std::uint32_t>()[0] != 0;
}

StatsPass::StatsPass(std::initializer_list<std::pair<const Tensor*, Backend::StatsTarget*>> targets) {
  for (const auto& [t, target] : targets) {
    if (target == nullptr) continue;
    MANTISSA_ASSERT(count_ + rest_count_ < kMaxTargets, "StatsPass takes at most two tensors");
    if (histogram_due(*target)) {
      rest_[std::size_t(rest_count_++)] = {t, target};
      continue;
    }
    check_tensor_stats_args(target->stats, nullptr);
    tensors_[std::size_t(count_)] = t;
    targets_[std::size_t(count_)] = target;
    ++count_;
  }
}

void StatsPass::finish(const std::array<StatsSums, kMaxTargets>& sums) {
  for (int k = 0; k < count_; ++k)
    write_stats(sums[std::size_t(k)], tensors_[std::size_t(k)]->numel(),
                targets_[std::size_t(k)]->stats);
  ran_ = true;
}

void StatsPass::take_rest(Backend& backend) {
  for (int k = 0; k < rest_count_; ++k)
    backend.take_stats(*rest_[std::size_t(k)].first, *rest_[std::size_t(k)].second);
  if (!ran_)
    for (int k = 0; k < count_; ++k)
      backend.take_stats(*tensors_[std::size_t(k)], *targets_[std::size_t(k)]);
}

void CpuBackend::tensor_stats(const Tensor& x, Tensor& stats, Tensor* histogram,
                              const Tensor* enable) {
  check_tensor_stats_args(stats, histogram);
  const bool with_histogram =
      histogram != nullptr && enable != nullptr && enable->data_as<const std::uint32_t>()[0] != 0;
  const std::int64_t total = x.numel();
  const StatsChunks chunks = stats_chunks(total);
  const DType type = x.dtype();
  StatsSums sums;
#pragma omp parallel if (total >= kParallelMin)
  {
    StatsSums local;
#pragma omp for schedule(static)
    for (std::int64_t c = 0; c < chunks.count; ++c)
      add_stats(x, chunks.begin(c), chunks.length(c, total), local);
#pragma omp critical(mantissa_tensor_stats)
    sums.merge(local);
  }
  write_stats(sums, total, stats);
  const std::uint64_t* sum = sums.words;
  if (!with_histogram) return;
  // The histogram from the fp32 exponent field: counts per exponent (four
  // tables in turn, so that increments do not wait on each other), then
  // exponent 0 split into zeros and subnormals, 255 non-finite, and the rest
  // folded into the binades.
  std::uint64_t exponents[256] = {};
#pragma omp parallel for schedule(static) reduction(+ : exponents[:256]) if (total >= kParallelMin)
  for (std::int64_t c = 0; c < chunks.count; ++c) {
    const std::int64_t begin = chunks.begin(c);
    const std::int64_t n = chunks.length(c, total);
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
