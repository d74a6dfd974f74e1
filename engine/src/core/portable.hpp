#pragma once
// Functions marked MANTISSA_HD compile for the host and for the GPU. The rules
// that kernels apply (dtype rounding, optimizer updates, the loss-scale rule,
// the LR schedule) are written once this way, so the same source runs in the
// kernels and in host unit tests on machines without a GPU.
#if defined(__CUDACC__)
#define MANTISSA_HD __host__ __device__
#else
#define MANTISSA_HD
#endif

namespace mantissa::rules {

// std::isfinite for host and device code alike.
MANTISSA_HD inline bool is_finite(float v) {
  return v == v && v - v == 0.0f;  // NaN fails the first, ±inf the second
}

}  // namespace mantissa::rules
