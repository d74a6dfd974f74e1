#pragma once
// Building blocks for the CPU backend's own loops. Every kernel is written
// once over fp32 arrays; tensors in fp16 / bf16 are converted block by block
// into small stack buffers (mantissa::convert, PRECISION.md rounding) so the
// fp32 loops stay simple and vectorise. Blocks are spread over OpenMP threads
// only when a tensor is big enough to repay the thread start-up.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mantissa/dtype.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa::cpu {

// Elements per block: 4 KiB of fp32, so a few buffers fit in L1.
constexpr std::int64_t kBlock = 1024;
// Below this many elements one thread does all the work.
constexpr std::int64_t kParallelMin = 1 << 15;

// inf or NaN: the exponent field is all ones (bit test, so it vectorises and
// is not folded away under -ffast-math style flags).
inline bool is_nonfinite(float v) { return (float_bits(v) & 0x7F800000u) == 0x7F800000u; }

inline const std::uint8_t* byte_ptr(const Tensor& t, std::int64_t element) {
  return static_cast<const std::uint8_t*>(t.data()) + std::size_t(element) * dtype_size(t.dtype());
}
inline std::uint8_t* byte_ptr(Tensor& t, std::int64_t element) {
  return static_cast<std::uint8_t*>(t.data()) + std::size_t(element) * dtype_size(t.dtype());
}

// Elements [begin, begin + n) of t as fp32: a pointer into t when it is fp32,
// otherwise their conversion written into buf (room for n floats).
inline const float* read_f32(const Tensor& t, std::int64_t begin, std::int64_t n, float* buf) {
  if (t.dtype() == DType::F32) return t.data_as<const float>() + begin;
  convert(byte_ptr(t, begin), t.dtype(), buf, DType::F32, std::size_t(n));
  return buf;
}

// Where to compute elements [begin, ...) of an output: t itself when fp32,
// else buf, which write_back() then rounds into t.
inline float* out_f32(Tensor& t, std::int64_t begin, float* buf) {
  return t.dtype() == DType::F32 ? t.data_as<float>() + begin : buf;
}
inline void write_back(Tensor& t, std::int64_t begin, std::int64_t n, const float* buf) {
  if (t.dtype() != DType::F32)
    convert(buf, DType::F32, byte_ptr(t, begin), t.dtype(), std::size_t(n));
}

// Runs fn(in, out, n, begin) over [0, total) in blocks, where in[k] / out[k]
// point at n fp32 values of ins[k] / outs[k] starting at element `begin`. An
// output may be the same tensor as an input (in-place ops): every kernel is
// purely elementwise, so aliasing is harmless.
template <std::size_t NIn, std::size_t NOut, class Fn>
void map_block(std::int64_t begin, std::int64_t n, const std::array<const Tensor*, NIn>& ins,
               const std::array<Tensor*, NOut>& outs, Fn& fn) {
  alignas(64) float in_buf[NIn > 0 ? NIn : 1][kBlock];
  alignas(64) float out_buf[NOut > 0 ? NOut : 1][kBlock];
  std::array<const float*, NIn> in{};
  std::array<float*, NOut> out{};
  for (std::size_t k = 0; k < NIn; ++k) in[k] = read_f32(*ins[k], begin, n, in_buf[k]);
  for (std::size_t k = 0; k < NOut; ++k) out[k] = out_f32(*outs[k], begin, out_buf[k]);
  fn(in, out, n, begin);
  for (std::size_t k = 0; k < NOut; ++k) write_back(*outs[k], begin, n, out[k]);
}

template <std::size_t NIn, std::size_t NOut, class Fn>
void map_blocks(std::int64_t total, const std::array<const Tensor*, NIn>& ins,
                const std::array<Tensor*, NOut>& outs, Fn&& fn) {
  const std::int64_t blocks = (total + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (std::int64_t b = 0; b < blocks; ++b)
    map_block(b * kBlock, std::min(kBlock, total - b * kBlock), ins, outs, fn);
}

// map_blocks over elements [begin, begin + n) on the calling thread.
template <std::size_t NIn, std::size_t NOut, class Fn>
void map_range(std::int64_t begin, std::int64_t n, const std::array<const Tensor*, NIn>& ins,
               const std::array<Tensor*, NOut>& outs, Fn&& fn) {
  for (std::int64_t j = 0; j < n; j += kBlock)
    map_block(begin + j, std::min(kBlock, n - j), ins, outs, fn);
}

// Sum of elements [begin, begin + n) of t: fp32 lanes per block, blocks
// added in double so long rows do not lose small terms.
inline double sum_range(const Tensor& t, std::int64_t begin, std::int64_t n) {
  alignas(64) float buf[kBlock];
  double total = 0.0;
  for (std::int64_t j = 0; j < n; j += kBlock) {
    const std::int64_t len = std::min(kBlock, n - j);
    const float* v = read_f32(t, begin + j, len, buf);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (std::int64_t i = 0; i < len; ++i) s += v[i];
    total += s;
  }
  return total;
}

// Calls fn(r, j, v, n) over an (rows, len) view of t, in chunks: v holds row
// r's elements [j, j + n) as fp32, and whatever fn leaves there is stored back
// (rounded to t's dtype). Rows are spread over threads when t is large.
template <class Fn>
void update_rows(Tensor& t, std::int64_t rows, std::int64_t len, Fn&& fn) {
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (std::int64_t r = 0; r < rows; ++r) {
    alignas(64) float buf[kBlock];
    for (std::int64_t j = 0; j < len; j += kBlock) {
      const std::int64_t n = std::min(kBlock, len - j);
      const std::int64_t begin = r * len + j;
      float* v = t.dtype() == DType::F32 ? t.data_as<float>() + begin
                                         : const_cast<float*>(read_f32(t, begin, n, buf));
      fn(r, j, v, n);
      write_back(t, begin, n, v);
    }
  }
}

// Mean and 1/sqrt(variance + eps) of n fp32 values, both sums in double
// (layer norm's rows, group norm's groups).
struct RowStats {
  float mean, invstd;
};
inline RowStats row_stats(const float* v, std::int64_t n, float eps) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (std::int64_t i = 0; i < n; ++i) sum += v[i];
  const float mean = float(sum / double(n));
  double sq = 0.0;
#pragma omp simd reduction(+ : sq)
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = v[i] - mean;
    sq += t * t;
  }
  return {mean, float(1.0 / std::sqrt(sq / double(n) + double(eps)))};
}

// Number of threads a parallel region over `work` elements will use.
// Whether this CPU runs AVX2 (the loops that have an AVX2 form ask here).
inline bool has_avx2() {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

inline int threads_for(std::int64_t work) {
  return work >= kParallelMin ? omp_get_max_threads() : 1;
}

// Dropout's counter-based generator: output number `index` of a SplitMix64
// stream seeded with `seed`, i.e. the finaliser applied to
// seed + (index + 1) * golden_gamma. Element i is kept iff
// (bits >> 40) * 2^-24 >= p. Any backend computing this formula draws the
// same mask, whatever its thread or block layout; it is also output number
// `index` of mantissa::Rng(seed) (core/rng.hpp).
inline std::uint64_t splitmix64_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline bool dropout_keep(std::uint64_t seed, std::uint64_t index, float p) {
  const float u = float(splitmix64_at(seed, index) >> 40) * 0x1p-24f;
  return u >= p;
}

// One fp32 piece of the weight fingerprint (cpu_fingerprint.cpp): the sum of
// squares, of squared differences from `prev` (when given) and the checksum,
// with the AVX2 loop where allowed and present, else the plain one; both give
// the same bits (a test holds them together).
struct FingerprintSums {
  double sq = 0, du = 0;
  std::uint64_t checksum = 0;
  bool operator==(const FingerprintSums&) const = default;
};
FingerprintSums fingerprint_sums(const float* w, const float* prev, std::int64_t tensor,
                                 std::int64_t n, bool allow_avx2);

}  // namespace mantissa::cpu
