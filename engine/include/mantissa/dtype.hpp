#pragma once
// Number formats and the exact conversions of PRECISION.md.
//
// fp32 -> fp16 / bf16 round to nearest, ties to even; values at or past the
// overflow midpoint become +-inf; subnormals are produced, never flushed; +-0 and
// +-inf are kept. Any NaN becomes the target's canonical quiet NaN (fp16 0x7E00,
// bf16 0x7FC0) so that results do not depend on NaN payloads; the CUDA backend
// uses the same mapping. fp16 / bf16 -> fp32 is exact.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mantissa {

enum class DType : std::uint8_t { F32, F16, BF16 };

constexpr std::size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }
std::string_view dtype_name(DType t);  // "f32", "f16", "bf16"
DType parse_dtype(std::string_view s);  // throws InputError naming the value

inline std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u = float_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;  // NaN
  // Adding 0x7FFF plus the lowest kept bit rounds to nearest even; an
  // overflow of the exponent field yields inf, as it should.
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

inline float bf16_to_f32(std::uint16_t h) { return bits_float(std::uint32_t(h) << 16); }

inline std::uint16_t f32_to_f16(float f) {
  std::uint32_t u = float_bits(f);
  std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7E00;                           // NaN
  if (a >= 0x477FF000u) return sign | 0x7C00;                   // >= 65520: inf
  if (a >= 0x38800000u) {                                       // normal fp16 (>= 2^-14)
    std::uint32_t r = a + 0x0FFFu + ((a >> 13) & 1u);           // RNE at bit 13
    return sign | static_cast<std::uint16_t>((r - 0x38000000u) >> 13);
  }
  if (a < 0x33000000u) return sign;                             // < 2^-25: rounds to 0
  // Subnormal fp16: value = m * 2^-24 with m in [0, 1024]; shift the full
  // 24-bit significand and round to nearest even.
  std::uint32_t e = a >> 23;                                    // biased exponent, 102..112
  std::uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
  std::uint32_t shift = 126 - e;                                // 14..24
  std::uint32_t q = m >> shift;
  std::uint32_t rem = m & ((1u << shift) - 1u);
  std::uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return sign | static_cast<std::uint16_t>(q);
}

inline float f16_to_f32(std::uint16_t h) {
  std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t e = (h >> 10) & 0x1Fu;
  std::uint32_t m = h & 0x3FFu;
  if (e == 0x1F) return bits_float(sign | 0x7F800000u | (m << 13));
  if (e != 0) return bits_float(sign | ((e + 112) << 23) | (m << 13));
  if (m == 0) return bits_float(sign);
  // Subnormal: m * 2^-24, exact in fp32.
  float v = static_cast<float>(m) * 5.9604644775390625e-8f;
  return sign ? -v : v;
}

// Bulk conversions between buffers of the given dtypes (same dtype copies).
// Vectorised and threaded for large n; results are bit-identical to the scalar
// functions above.
void convert(const void* src, DType src_type, void* dst, DType dst_type, std::size_t n);

}  // namespace mantissa
