#pragma once
// The decisions of a training step as they run on the GPU: the learning-rate
// schedule (scheduled_lr in optim/rules.cpp), the per-step optimizer scalars,
// the SGD / AdamW element updates and the loss-scale rule. They mirror the CPU
// backend (cpu_optim.cpp) operation for operation and are compiled both into
// the kernels and into host tests that compare them with the CPU backend.
// Plain structs only: kernel sources do not include the engine's public
// headers, and the backend converts OptimizerRule / ScalerRule into these.
#include <cmath>
#include <cstdint>

#include "backends/cuda/portable.hpp"
#include "backends/cuda/storage.hpp"

namespace mantissa::cuda {

// Indices into the step-state vector; the backend checks they equal
// mantissa::step_state's.
namespace state_index {
inline constexpr int kScale = 0;
inline constexpr int kGrowthTracker = 1;
inline constexpr int kSkippedTotal = 2;
inline constexpr int kConsecutiveSkips = 3;
inline constexpr int kFoundInf = 4;
inline constexpr int kOptimizerSteps = 5;
inline constexpr int kGradSumSquares = 7;
inline constexpr int kLearningRate = 8;
inline constexpr int kSkippedThisStep = 9;
inline constexpr int kScaleUsed = 10;
inline constexpr int kStepsTaken = 11;
inline constexpr float kStepsTakenPeriod = 16777216.0f;
}  // namespace state_index

// ---- learning rate ---------------------------------------------------------

enum class ScheduleCode : int { Constant, Step, Cosine };  // ScheduleKind's order

struct ScheduleParams {
  double base_lr = 0;
  ScheduleCode kind = ScheduleCode::Constant;
  std::int64_t warmup_steps = 0;
  std::int64_t step_size = 1;
  double gamma = 1;
  double min_lr = 0;
  std::int64_t total_steps = 0;
};

// scheduled_lr(rule, step): the LR at optimizer step `step` (steps already taken).
MANTISSA_HD inline double schedule_lr(const ScheduleParams& s, std::int64_t step) {
  const double base = s.base_lr;
  if (s.warmup_steps > 0 && step < s.warmup_steps)
    return base * double(step + 1) / double(s.warmup_steps);
  const std::int64_t t = step - s.warmup_steps;
  switch (s.kind) {
    case ScheduleCode::Constant:
      return base;
    case ScheduleCode::Step: {
      const std::int64_t size = s.step_size > 1 ? s.step_size : 1;
      return base * pow(s.gamma, double(t / size));
    }
    case ScheduleCode::Cosine: {
      const std::int64_t span0 = s.total_steps - s.warmup_steps;
      const std::int64_t span = span0 > 1 ? span0 : 1;
      const double ratio = double(t) / double(span);
      const double progress = ratio < 1.0 ? ratio : 1.0;
      return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    }
  }
  return base;
}

// ---- optimizer ---------------------------------------------------------------

struct OptimizerParams {
  ScheduleParams schedule;
  bool adamw = false;
  float momentum = 0;  // SGD
  bool nesterov = false;
  float weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999;  // AdamW, kept in double for the bias corrections
  float eps = 1e-8f;
  double clip_grad_norm = 0;  // 0: no clipping
  bool skip_on_nonfinite = false;
};

// Whether the state says this optimizer step must not run.
MANTISSA_HD inline bool step_is_skipped(const OptimizerParams& p, const float* state) {
  return state[state_index::kFoundInf] > 0 && p.skip_on_nonfinite;
}

// The scalars one optimizer step uses, from the state before the step.
// (No default member initialisers: kernels keep one in shared memory.)
struct StepScalars {
  std::int64_t t;  // optimizer steps already taken
  float lr;
  float clip;      // gradient multiplier from global-norm clipping
  float bc1, bc2;  // AdamW bias corrections
};

MANTISSA_HD inline StepScalars step_scalars(const OptimizerParams& p, const float* state) {
  StepScalars s;
  s.clip = 1.0f;
  s.t = std::int64_t(state[state_index::kOptimizerSteps]);
  s.lr = float(schedule_lr(p.schedule, s.t));
  if (p.clip_grad_norm > 0) {
    const double norm = sqrt(double(state[state_index::kGradSumSquares]));
    if (norm > p.clip_grad_norm) s.clip = float(p.clip_grad_norm / (norm + 1e-6));
  }
  const double step = double(s.t + 1);
  s.bc1 = float(1.0 - pow(p.beta1, step));
  s.bc2 = float(1.0 - pow(p.beta2, step));
  return s;
}

// SGD (PyTorch torch.optim.SGD, dampening 0) on one element. `buf` is the
// momentum buffer value as stored, or null without momentum; on return w and
// *buf hold the new values before rounding to their storage type. The update
// itself uses the unrounded buffer value, as the CPU backend does.
MANTISSA_HD inline float sgd_element(float w, float g, float* buf, float lr, float momentum,
                                     bool nesterov, float wd, float clip) {
  float gi = g * clip + wd * w;
  if (buf != nullptr) {
    const float b = momentum * *buf + gi;
    *buf = b;
    gi = nesterov ? gi + momentum * b : b;
  }
  return w - lr * gi;
}

// AdamW (decoupled weight decay, PyTorch torch.optim.AdamW) on one element;
// m and v are updated in place (before rounding to their storage type).
MANTISSA_HD inline float adamw_element(float w, float g, float& m, float& v, float lr, float b1,
                                       float b2, float eps, float wd, float bc1, float bc2,
                                       float clip) {
  const float wi = w * (1.0f - lr * wd);
  const float gi = g * clip;
  m = b1 * m + (1.0f - b1) * gi;
  v = b2 * v + (1.0f - b2) * gi * gi;
  return wi - lr * (m / bc1) / (sqrtf(v / bc2) + eps);
}

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
    if (!nonfinite(grown)) s[si::kScale] = grown;
    s[si::kGrowthTracker] = 0;
  }
}

}  // namespace mantissa::cuda
