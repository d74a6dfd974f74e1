#pragma once
// The weight fingerprint of a training step (Backend::weight_fingerprint,
// docs/divergence.md "Fingerprints"), written once for the CPU loops and the
// CUDA kernel: the output's word layout and the checksum's term.
//
// The checksum is a wrapping 64-bit sum, over every master tensor k and
// element i, of (bits + 1) · (2 · (k · 2^40 + i) + 1), where bits is the
// element's stored bit pattern (32 bits for fp32, 16 for a 16-bit master).
// A sum is the same in any order, so parallel backends agree exactly; the
// odd factor makes it depend on where each value sits, and any one changed
// value changes it (an odd number times a difference below 2^32 is never a
// multiple of 2^64).
//
// C++17 and <cstdint> only: kernel sources include this header.
#include <cstdint>

#include "core/portable.hpp"

namespace mantissa::rules {

// Output words (fp32-sized): the checksum's low and high halves, the sum of
// squares of the update, then one sum of squares per master.
inline constexpr std::int64_t kFingerprintChecksumLo = 0;
inline constexpr std::int64_t kFingerprintChecksumHi = 1;
inline constexpr std::int64_t kFingerprintUpdate = 2;
inline constexpr std::int64_t kFingerprintNorms = 3;
inline constexpr std::int64_t fingerprint_words(std::int64_t masters) {
  return kFingerprintNorms + masters;
}

MANTISSA_HD inline std::uint64_t fingerprint_term(std::uint32_t bits, std::int64_t tensor,
                                                  std::int64_t index) {
  const std::uint64_t position = (std::uint64_t(tensor) << 40) + std::uint64_t(index);
  return (std::uint64_t(bits) + 1u) * (2u * position + 1u);
}

}  // namespace mantissa::rules
