#pragma once
// Per-element formulas of the activation and dropout ops, shared by the
// kernels and by host tests. They mirror the CPU backend's loops term for
// term (the device build uses -fmad=false, so products and sums round as they
// do on the CPU); only the transcendental functions (erff, expf, tanhf)
// differ from the host C library, by an ulp or two.
#include <cmath>
#include <cstdint>

#include "core/portable.hpp"

namespace mantissa::cuda {

// mantissa::Activation in the same order (checked where the backend converts),
// so kernel sources need not include the engine's public headers.
enum class ActKind : int { Relu, LeakyRelu, Gelu, Tanh, Sigmoid };

inline constexpr float kInvSqrt2 = 0.70710678118654752440f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

// Comparisons are written so that NaN inputs stay NaN, as in the CPU backend.
MANTISSA_HD inline float activation_value(ActKind act, float alpha, float v) {
  switch (act) {
    case ActKind::Relu:
      return v < 0.0f ? 0.0f : v;
    case ActKind::LeakyRelu:
      return v < 0.0f ? alpha * v : v;
    case ActKind::Gelu:
      return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
    case ActKind::Tanh:
      return tanhf(v);
    case ActKind::Sigmoid:
      return 1.0f / (1.0f + expf(-v));
  }
  return v;
}

// dx for one element: `a` is x for ReLU / LeakyReLU / GELU and y for Tanh /
// Sigmoid (mantissa::activation_reads_output says which).
MANTISSA_HD inline float activation_grad(ActKind act, float alpha, float a, float g) {
  switch (act) {
    case ActKind::Relu:
      return a > 0.0f ? g : 0.0f;
    case ActKind::LeakyRelu:
      return a > 0.0f ? g : alpha * g;
    case ActKind::Gelu: {
      const float cdf = 0.5f * (1.0f + erff(a * kInvSqrt2));
      const float pdf = kInvSqrt2Pi * expf(-0.5f * a * a);
      return g * (cdf + a * pdf);
    }
    case ActKind::Tanh:
      return g * (1.0f - a * a);
    case ActKind::Sigmoid:
      return g * a * (1.0f - a);
  }
  return g;
}

// Dropout's counter-based generator, identical to the CPU backend's: output
// `index` of a SplitMix64 stream seeded with `seed`; element i is kept iff
// (bits >> 40) * 2^-24 >= p.
MANTISSA_HD inline std::uint64_t splitmix64_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

MANTISSA_HD inline bool dropout_keep(std::uint64_t seed, std::uint64_t index, float p) {
  const float u = float(splitmix64_at(seed, index) >> 40) * 0x1p-24f;
  return u >= p;
}

}  // namespace mantissa::cuda
