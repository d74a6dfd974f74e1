#pragma once
// The inner loops of the CPU's per-tensor numerics (numerics_bits.hpp), apart
// so that tests can hold every instruction-set path against a plain loop.
#include <cstdint>

namespace mantissa::cpu {

// What every chunk of a tensor gets: the largest |x| bits (a NaN or inf shows
// as >= kInf), and how many values lie below each small-value threshold
// (zeros, flushed in bf16, flushed in fp16, below fp16's normals): the
// small-value counts are differences of these. Chunks are at most 2^15 values.
struct Glance {
  std::int32_t max_bits = 0, zeros = 0, below_bf16 = 0, below_f16 = 0, below_f16_normal = 0;
  bool operator==(const Glance&) const = default;
  // Adds the glance of the values after these.
  void add(const Glance& more) {
    max_bits = max_bits > more.max_bits ? max_bits : more.max_bits;
    zeros += more.zeros;
    below_bf16 += more.below_bf16;
    below_f16 += more.below_f16;
    below_f16_normal += more.below_f16_normal;
  }
};

// Portable: compiler-vectorised for x86-64-v3/v4 where the CPU has them.
// Avx2: fp32 as 16-bit views, 16 values per compare (about 1.3 times the
// portable speed on an AVX2-only CPU); only when has_avx2() (cpu_kernels.hpp). bf16
// already runs in 16-bit lanes: it takes the portable loop.
// Wide: AVX-512BW with 32 values per step in 16-bit lanes and the counts
// taken as popcounts of compare masks (about twice the portable speed);
// only when has_wide_glance().
enum class GlanceIsa { Portable, Avx2, Wide };
bool has_wide_glance();
// The fastest path this CPU has.
GlanceIsa best_glance();
Glance glance_bits32(const std::uint32_t* x, std::int64_t n, GlanceIsa isa);
Glance glance_bits16(const std::uint16_t* x, std::int64_t n, GlanceIsa isa);

}  // namespace mantissa::cpu
