#pragma once
// The bit-level rules of per-tensor numerics (numerics.hpp): which fp32 bit
// patterns count where, the words of a tensor's statistics and the bins of its
// histogram. C++17 and <cstdint> only: kernel sources include this header.
#include <cstdint>

#if defined(__CUDACC__)
#define MANTISSA_NUMERICS_HD __host__ __device__
#else
#define MANTISSA_NUMERICS_HD
#endif

namespace mantissa {

namespace numerics_bits {
// Thresholds on |x|'s fp32 bit pattern (sign cleared). A 16-bit value is
// first widened to fp32, which is exact.
inline constexpr std::uint32_t kInf = 0x7F800000u;            // above: NaN
inline constexpr std::uint32_t kFlushF16Below = 0x33000000u;  // 2^-25: rounds to 0 in fp16
inline constexpr std::uint32_t kNormalF16From = 0x38800000u;  // 2^-14: fp16's smallest normal
inline constexpr std::uint32_t kSaturateF16From = 0x477FF000u;  // 65,520: rounds to inf in fp16
inline constexpr std::uint32_t kFlushBF16Below = 0x00008000u;   // 2^-134: rounds to 0 in bf16
inline constexpr std::uint32_t kNormalF32From = 0x00800000u;    // 2^-126

// The words of one tensor's statistics.
inline constexpr int kAmaxBits = 0;     // largest |x| over the finite values, as fp32 bits
inline constexpr int kPosInf = 1;       // +inf values
inline constexpr int kNegInf = 2;       // -inf values
inline constexpr int kNaN = 3;          // NaN values
inline constexpr int kZero = 4;         // exact zeros (either sign)
inline constexpr int kFlushF16 = 5;     // 0 < |x| < 2^-25
inline constexpr int kFlushBF16 = 6;    // 0 < |x| < 2^-134
inline constexpr int kSubnormalF16 = 7; // 2^-25 <= |x| < 2^-14
inline constexpr int kSaturateF16 = 8;  // 65,520 <= |x| < inf
inline constexpr int kCount = 9;        // values seen (0: the tensor was not produced this step)
inline constexpr int kWords = 10;

// Histogram bins: one per binade 2^e for e in [kLowExponent, kHighExponent]
// (values outside fold into the end binades), after a zero bin and a bin for
// fp32 subnormals, and before a non-finite bin. Multiplying a tensor by 2^k
// moves every value k binades: loss scaling shifts the histogram by k bins.
inline constexpr int kLowExponent = -40;
inline constexpr int kHighExponent = 23;
inline constexpr int kBinZero = 0;
inline constexpr int kBinSubnormal = 1;
inline constexpr int kFirstBinade = 2;
inline constexpr int kBinNonFinite = kFirstBinade + (kHighExponent - kLowExponent + 1);
inline constexpr int kBins = kBinNonFinite + 1;

// The bin of a value whose |x| has fp32 bits `a`.
MANTISSA_NUMERICS_HD constexpr int bin_of(std::uint32_t a) {
  if (a == 0) return kBinZero;
  if (a < kNormalF32From) return kBinSubnormal;
  if (a >= kInf) return kBinNonFinite;
  int e = int(a >> 23) - 127;
  e = e < kLowExponent ? kLowExponent : (e > kHighExponent ? kHighExponent : e);
  return kFirstBinade + (e - kLowExponent);
}
}  // namespace numerics_bits

}  // namespace mantissa
