#pragma once
// Storage types for kernels templated over the element type, and the exact
// PRECISION.md conversions (round to nearest even, canonical NaN 0x7E00 /
// 0x7FC0, subnormals kept) as integer code that runs the same on host and
// device. CUDA's __float2half_rn would give NaN as 0x7FFF, so it is not used.
// Includable without CUDA headers (host tests check it bit for bit against
// mantissa/dtype.hpp).
#include <cstdint>
#include <cstring>

#include "core/portable.hpp"
#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

MANTISSA_HD inline std::uint32_t bits_of(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

MANTISSA_HD inline float float_of(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// inf or NaN: the exponent field is all ones.
MANTISSA_HD inline bool nonfinite(float v) {
  return (bits_of(v) & 0x7F800000u) == 0x7F800000u;
}

MANTISSA_HD inline std::uint16_t round_to_bf16(float f) {
  std::uint32_t u = bits_of(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;  // NaN
  u += 0x7FFFu + ((u >> 16) & 1u);                     // RNE; exponent overflow gives inf
  return static_cast<std::uint16_t>(u >> 16);
}

MANTISSA_HD inline float widen_bf16(std::uint16_t h) {
  return float_of(std::uint32_t(h) << 16);
}

MANTISSA_HD inline std::uint16_t round_to_f16(float f) {
  const std::uint32_t u = bits_of(f);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7E00;                        // NaN
  if (a >= 0x477FF000u) return sign | 0x7C00;                // >= 65520: inf
  if (a >= 0x38800000u) {                                    // normal fp16
    const std::uint32_t r = a + 0x0FFFu + ((a >> 13) & 1u);  // RNE at bit 13
    return sign | static_cast<std::uint16_t>((r - 0x38000000u) >> 13);
  }
  if (a < 0x33000000u) return sign;  // below half the smallest subnormal
  const std::uint32_t e = a >> 23;   // 102..112
  const std::uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
  const std::uint32_t shift = 126 - e;  // 14..24
  std::uint32_t q = m >> shift;
  const std::uint32_t rem = m & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return sign | static_cast<std::uint16_t>(q);
}

MANTISSA_HD inline float widen_f16(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1Fu;
  const std::uint32_t m = h & 0x3FFu;
  if (e == 0x1F) return float_of(sign | 0x7F800000u | (m << 13));
  if (e != 0) return float_of(sign | ((e + 112) << 23) | (m << 13));
  if (m == 0) return float_of(sign);
  const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
  return sign ? -v : v;
}

// Element types: `raw` is what memory holds; load() widens to fp32, store()
// rounds from fp32.
struct F32 {
  using raw = float;
  static constexpr DType dtype = DType::F32;
  MANTISSA_HD static float load(const raw* p, std::int64_t i) { return p[i]; }
  MANTISSA_HD static void store(raw* p, std::int64_t i, float v) { p[i] = v; }
  MANTISSA_HD static float rounded(float v) { return v; }
};

struct F16 {
  using raw = std::uint16_t;
  static constexpr DType dtype = DType::F16;
  MANTISSA_HD static float load(const raw* p, std::int64_t i) { return widen_f16(p[i]); }
  MANTISSA_HD static void store(raw* p, std::int64_t i, float v) { p[i] = round_to_f16(v); }
  MANTISSA_HD static float rounded(float v) { return widen_f16(round_to_f16(v)); }
};

struct BF16 {
  using raw = std::uint16_t;
  static constexpr DType dtype = DType::BF16;
  MANTISSA_HD static float load(const raw* p, std::int64_t i) { return widen_bf16(p[i]); }
  MANTISSA_HD static void store(raw* p, std::int64_t i, float v) { p[i] = round_to_bf16(v); }
  MANTISSA_HD static float rounded(float v) { return widen_bf16(round_to_bf16(v)); }
};

// Element access with the dtype known only at run time (multi-tensor kernels,
// whose tensors may differ in dtype); the branch is uniform across a warp.
MANTISSA_HD inline float load_any(const void* p, DType t, std::int64_t i) {
  switch (t) {
    case DType::F16:
      return widen_f16(static_cast<const std::uint16_t*>(p)[i]);
    case DType::BF16:
      return widen_bf16(static_cast<const std::uint16_t*>(p)[i]);
    case DType::F32:
      break;
  }
  return static_cast<const float*>(p)[i];
}

MANTISSA_HD inline void store_any(void* p, DType t, std::int64_t i, float v) {
  switch (t) {
    case DType::F16:
      static_cast<std::uint16_t*>(p)[i] = round_to_f16(v);
      return;
    case DType::BF16:
      static_cast<std::uint16_t*>(p)[i] = round_to_bf16(v);
      return;
    case DType::F32:
      break;
  }
  static_cast<float*>(p)[i] = v;
}

}  // namespace mantissa::cuda
