#pragma once
// What the CUDA test suites share: whether a GPU is here (and why not), the
// two backends they compare, and random inputs. Without a GPU every CUDA test
// skips with the driver's reason through REQUIRE_CUDA().
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"

namespace mantissa::cuda_test {

// Empty when a CUDA device can be used; otherwise why not.
inline const std::string& cuda_unavailable() {
  static const std::string reason = [] {
    std::string why = "list_devices() has no cuda entry";
    for (const auto& d : list_devices()) {
      if (d.name.rfind("cuda", 0) != 0) continue;
      if (d.available) return std::string();
      why = d.reason;
    }
    return why;
  }();
  return reason;
}

#define REQUIRE_CUDA()                                           \
  if (!::mantissa::cuda_test::cuda_unavailable().empty())        \
  GTEST_SKIP() << "no CUDA device: " << ::mantissa::cuda_test::cuda_unavailable()

inline Backend& gpu() {
  static std::unique_ptr<Backend> b = create_backend("cuda");
  return *b;
}
inline Backend& cpu() {
  static std::unique_ptr<Backend> b = create_backend("cpu");
  return *b;
}

inline constexpr DType kDtypes[] = {DType::F32, DType::F16, DType::BF16};

inline double unit_roundoff(DType t) {
  return t == DType::F32 ? 0x1p-24 : t == DType::F16 ? 0x1p-11 : 0x1p-8;
}

inline std::vector<float> random_values(std::size_t n, std::uint32_t seed, float lo = -1,
                                        float hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// The same values on both backends: c on the CPU, g on the GPU.
struct Pair {
  Tensor c, g;
};
inline Pair both(const Shape& s, DType t, const std::vector<float>& v) {
  return {Tensor::from_host(cpu(), s, t, v.data()), Tensor::from_host(gpu(), s, t, v.data())};
}
inline Pair both_empty(const Shape& s, DType t) {
  return {Tensor::zeros(cpu(), s, t), Tensor::zeros(gpu(), s, t)};
}
// |v| of what a tensor holds, as an fp32 CPU tensor.
inline Tensor abs_cpu(const Tensor& t) {
  auto v = t.to_host();
  for (auto& x : v) x = std::abs(x);
  return Tensor::from_host(cpu(), t.shape(), DType::F32, v.data());
}

}  // namespace mantissa::cuda_test
