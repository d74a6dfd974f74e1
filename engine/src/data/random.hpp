#pragma once
// The data pipeline's random numbers. Splits, shuffles and synthetic sets must
// be the same bits on every platform and standard library, so nothing here uses
// <random>'s distributions (their algorithms are implementation-defined).
#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

namespace mantissa::data {

// SplitMix64 step: turns any seed, even 0 or consecutive ones, into
// well-mixed 64-bit state.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A stream key for (seed, purpose, index), e.g. the shuffle of epoch e, so
// that one stream can be created without replaying the ones before it.
inline std::uint64_t stream_key(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index) {
  std::uint64_t s = seed;
  std::uint64_t k = splitmix64(s) ^ purpose;
  k = splitmix64(k) ^ index;
  return splitmix64(k);
}

// xoshiro256** (Blackman and Vigna): small, fast and fully specified.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

  // Uniform in [0, n) without modulo bias; n > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next_u64();
      if (r >= threshold) return r % n;
    }
  }

  // Standard normal by Box–Muller; the second value of each pair is kept.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Fisher–Yates, from the back.
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = std::size_t(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

// Stream purposes, so that the split and the epoch shuffles of one seed are
// independent streams.
inline constexpr std::uint64_t kPurposeSplit = 1;
inline constexpr std::uint64_t kPurposeEpoch = 2;
inline constexpr std::uint64_t kPurposeSynthetic = 3;
inline constexpr std::uint64_t kPurposeAugment = 4;

}  // namespace mantissa::data
