#pragma once
// Precision policies (PRECISION.md "Policies"): run-time values, never
// template arguments or compile flags.
#include <optional>
#include <string>
#include <string_view>

#include "mantissa/dtype.hpp"

namespace mantissa {

enum class Policy { Float32, MixedFloat16, MixedBFloat16, Float16, BFloat16 };

std::string_view policy_name(Policy p);   // "float32", "mixed_float16", ...
Policy parse_policy(std::string_view s);  // throws InputError listing the valid names
DType compute_dtype(Policy p);            // dtype of linear / convolution math
DType master_dtype(Policy p);             // dtype weights and updates are stored in
bool is_mixed(Policy p);

enum class LossScaleMode { None, Fixed, Dynamic };
std::string_view loss_scale_mode_name(LossScaleMode m);
LossScaleMode parse_loss_scale_mode(std::string_view s);

// Loss-scaler settings; defaults are PyTorch GradScaler's.
struct LossScaleConfig {
  std::optional<LossScaleMode> mode;  // unset: the policy's default (dynamic for fp16)
  double init_scale = 65536.0;        // dynamic: initial S; fixed: S
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  long growth_interval = 2000;
  std::optional<double> min_scale;
  std::optional<double> max_scale;
  bool skip_nonfinite = false;  // fixed mode only: skip steps with non-finite gradients
};

LossScaleMode effective_mode(Policy p, const LossScaleConfig& c);

}  // namespace mantissa
