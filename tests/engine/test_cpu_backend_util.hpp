#pragma once
// Shared set-up for the CPU backend suites.
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa::cpu_test {

inline constexpr DType kAllDtypes[] = {DType::F32, DType::F16, DType::BF16};

// The default backend, and one that computes bf16 primitives in fp32 (the
// path CPUs without AVX-512 take), so both run on every machine. Built once:
// a backend's primitive cache is meant to live for the whole run.
inline cpu::CpuBackend& default_backend() {
  static cpu::CpuBackend backend;
  return backend;
}
inline cpu::CpuBackend& staged_backend() {
  static cpu::CpuBackend backend(cpu::CpuBackendOptions{.allow_native_bf16 = false});
  return backend;
}

// Every (backend, dtype) combination worth testing for a primitive-backed op.
struct Case {
  cpu::CpuBackend* backend;
  DType dtype;
  std::string name() const {
    return std::string(dtype_name(dtype)) + (backend == &staged_backend() ? " (staged)" : "");
  }
};
inline std::vector<Case> primitive_cases() {
  return {{&default_backend(), DType::F32},
          {&default_backend(), DType::F16},
          {&default_backend(), DType::BF16},
          {&staged_backend(), DType::BF16}};
}

inline Tensor upload(Backend& b, Shape shape, DType t, const std::vector<float>& values) {
  return Tensor::from_host(b, std::move(shape), t, values.data());
}

}  // namespace mantissa::cpu_test
