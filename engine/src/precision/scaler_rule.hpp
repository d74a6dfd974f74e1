#pragma once
// The loss-scale rule (PRECISION.md steps 4-5), written once for the CPU
// backend (cpu_optim.cpp) and the CUDA kernel (backends/cuda/loss_scale.cu):
// C++17 and plain structs, compiled for the host and the device.
// rule_params.hpp turns a ScalerRule into these parameters.
#include "core/portable.hpp"
#include "core/step_state_index.hpp"

namespace mantissa::rules {

// ---- loss scale ----------------------------------------------------------------

enum class ScaleMode : int { None, Fixed, Dynamic };  // LossScaleMode's order

struct ScalerParams {
  ScaleMode mode = ScaleMode::None;
  bool skips = false;  // ScalerRule::skips()
  float growth_factor = 2;
  float backoff_factor = 0.5f;
  float growth_interval = 2000;
  float min_scale = 0;  // 0: none
  float max_scale = 0;  // 0: none
};

// PRECISION.md steps 4-5 for the scale, on the state vector in place.
MANTISSA_HD inline void apply_scaler_rule(float* s, const ScalerParams& r) {
  namespace si = state_index;
  s[si::kScaleUsed] = s[si::kScale];
  s[si::kStepsTaken] = s[si::kStepsTaken] + 1.0f >= si::kStepsTakenPeriod ? 0.0f
                                                                         : s[si::kStepsTaken] + 1.0f;
  const bool found = s[si::kFoundInf] > 0;
  if (found && r.skips) {
    s[si::kSkippedTotal] += 1;
    s[si::kConsecutiveSkips] += 1;
  } else {
    s[si::kConsecutiveSkips] = 0;
  }
  if (r.mode != ScaleMode::Dynamic) return;
  if (found) {
    float scale = s[si::kScale] * r.backoff_factor;
    if (r.min_scale > 0 && scale < r.min_scale) scale = r.min_scale;
    s[si::kScale] = scale;
    s[si::kGrowthTracker] = 0;
    return;
  }
  s[si::kGrowthTracker] += 1;
  if (s[si::kGrowthTracker] >= r.growth_interval) {
    float grown = s[si::kScale] * r.growth_factor;
    if (r.max_scale > 0 && grown > r.max_scale) grown = r.max_scale;
    if (is_finite(grown)) s[si::kScale] = grown;
    s[si::kGrowthTracker] = 0;
  }
}

}  // namespace mantissa::rules
