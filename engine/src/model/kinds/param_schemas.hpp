#pragma once
// Parameters and rules several kinds share: the window of Conv2d and the
// pools, bias and init of the weighted kinds, normalisation eps, and the
// dtype rules of PRECISION.md.
#include <array>
#include <limits>
#include <vector>

#include "mantissa/layer_descriptor.hpp"
#include "mantissa/precision.hpp"

namespace mantissa::detail {

// Sizes are stored as int (kernel, stride, padding) or must fit one.
inline constexpr double kMaxDim = double(std::numeric_limits<int>::max());

inline ValueRange sizes_from(double lo) {
  return ValueRange::closed(lo, kMaxDim);
}

inline ParamSchema kernel_param() {
  return {.key = "kernel",
          .field = IntPairField{&LayerSpec::kernel_h, &LayerSpec::kernel_w},
          .required = true,
          .range = sizes_from(1),
          .help = "window size: one integer for both axes or [height, width]"};
}

inline ParamSchema padding_param() {
  return {.key = "padding",
          .field = IntPairField{&LayerSpec::pad_h, &LayerSpec::pad_w},
          .default_value = 0,
          .range = sizes_from(0),
          .help = "zeros added on each side: one integer or [height, width]"};
}

inline ParamSchema bias_param() {
  return {.key = "bias",
          .field = &LayerSpec::bias,
          .default_value = 1,
          .help = "add a learned bias per output"};
}

// Order matches enum Init after Default, which is written as Kaiming uniform.
inline constexpr std::array<std::string_view, 4> kInitNames = {"kaiming_uniform", "kaiming_normal",
                                                               "xavier_uniform", "xavier_normal"};

inline ParamSchema init_param() {
  return {.key = "init",
          .field = &LayerSpec::init,
          .default_note = "PyTorch's: uniform in ±1/√fan_in",
          .help = "weight initialisation; the named ones start biases at zero",
          .choices = kInitNames};
}

inline ParamSchema eps_param() {
  return {.key = "eps",
          .field = &LayerSpec::eps,
          .default_value = 1e-5,
          .range = ValueRange::fp32_positive(),
          .help = "added to the variance before the square root"};
}

// Dtype rules (PRECISION.md, op classes).
inline DType compute_dtype_rule(const LayerSpec&, Policy policy, const std::vector<DType>&) {
  return compute_dtype(policy);
}
inline DType fp32_rule(const LayerSpec&, Policy, const std::vector<DType>&) {
  return DType::F32;
}
// The input's dtype; inputs of different dtypes promote to fp32.
DType input_dtype_rule(const LayerSpec& layer, Policy, const std::vector<DType>& inputs);

}  // namespace mantissa::detail
