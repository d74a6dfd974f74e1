#pragma once
// The loss-scale rule (PRECISION.md steps 4-5), written once for the CPU
// backend (cpu_optim.cpp) and the CUDA kernel (backends/cuda/loss_scale.cu):
// C++17 and plain structs, compiled for the host and the device.
// rule_params.hpp turns a ScalerRule into these parameters.
#include <cstdint>

#include "core/portable.hpp"
#include "mantissa/step_state.hpp"

namespace mantissa::rules {

// ---- loss scale ----------------------------------------------------------------

enum class ScaleMode : int { None, Fixed, Dynamic };  // LossScaleMode's order

struct ScalerParams {
  ScaleMode mode = ScaleMode::None;
  bool skips = false;  // ScalerRule::skips()
  float growth_factor = 2;
  float backoff_factor = 0.5f;
  std::int64_t growth_interval = 2000;
  float min_scale = 0;  // 0: none
  float max_scale = 0;  // 0: none
};

// PRECISION.md steps 4-5 for the scale, on the step state in place.
MANTISSA_HD inline void apply_scaler_rule(StepState& s, const ScalerParams& r) {
  s.scale_used = s.scale;
  s.steps_taken += 1;
  const bool found = s.found_inf > 0;
  if (found && r.skips) {
    s.skipped_total += 1;
    s.consecutive_skips += 1;
  } else {
    s.consecutive_skips = 0;
  }
  if (r.mode != ScaleMode::Dynamic) return;
  if (found) {
    float scale = s.scale * r.backoff_factor;
    if (r.min_scale > 0 && scale < r.min_scale) scale = r.min_scale;
    s.scale = scale;
    s.growth_tracker = 0;
    return;
  }
  s.growth_tracker += 1;
  if (s.growth_tracker >= r.growth_interval) {
    float grown = s.scale * r.growth_factor;
    if (r.max_scale > 0 && grown > r.max_scale) grown = r.max_scale;
    if (is_finite(grown)) s.scale = grown;
    s.growth_tracker = 0;
  }
}

}  // namespace mantissa::rules
