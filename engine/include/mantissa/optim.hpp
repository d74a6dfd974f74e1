#pragma once
// Optimizer and loss-scaler rules as plain values, executed by the backend on
// device state (so a GPU never waits for the host to decide a step).
#include <cstdint>
#include <span>
#include <string_view>

#include "mantissa/model.hpp"
#include "mantissa/precision.hpp"

namespace mantissa {

// Layout of the per-run device state vector (fp32; one download per step).
namespace step_state {
inline constexpr int kScale = 0;             // current loss scale S
inline constexpr int kGrowthTracker = 1;     // clean steps since the last change
inline constexpr int kSkippedTotal = 2;      // skipped steps so far
inline constexpr int kConsecutiveSkips = 3;  // skipped steps in a row
inline constexpr int kFoundInf = 4;          // 0, or 1 + index of the first non-finite gradient
inline constexpr int kOptimizerSteps = 5;    // optimizer steps taken (drives LR and Adam)
inline constexpr int kLoss = 6;              // this step's unscaled loss
inline constexpr int kGradSumSquares = 7;    // sum of squares of the unscaled gradients
inline constexpr int kLearningRate = 8;      // LR used by this step (0 if skipped)
inline constexpr int kSkippedThisStep = 9;   // 1 if the optimizer did not run
inline constexpr int kScaleUsed = 10;        // S this step's loss was multiplied by
// Steps run so far, skipped or not, modulo 2^24 (exact in fp32): dropout
// draws its mask from it on the device, so a captured step draws a new one.
inline constexpr int kStepsTaken = 11;
inline constexpr float kStepsTakenPeriod = 16777216.0f;
inline constexpr int kSize = 16;
}  // namespace step_state

struct ScalerRule {
  LossScaleMode mode = LossScaleMode::None;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  long growth_interval = 2000;
  double min_scale = 0;    // 0: none
  double max_scale = 0;    // 0: none
  bool skip_nonfinite = false;  // fixed mode only
  // Whether a step with non-finite gradients skips the optimizer.
  bool skips() const {
    return mode == LossScaleMode::Dynamic || (mode == LossScaleMode::Fixed && skip_nonfinite);
  }
};

ScalerRule make_scaler_rule(Policy policy, const LossScaleConfig& config);
// Initial S for the state vector (1 when scaling is off).
double initial_scale(Policy policy, const LossScaleConfig& config);

struct OptimizerRule {
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  std::int64_t total_steps = 0;  // for cosine
  double clip_grad_norm = 0;     // 0: no clipping
  bool skip_on_nonfinite = false;
};

// LR at optimizer step `step` (0-based count of steps already taken).
double scheduled_lr(const OptimizerRule& rule, std::int64_t step);

// The optimizers, one row each (src/optim/optimizers.cpp): what a project
// file, the studio and the command line call them and which hyperparameters
// they read. Their updates are in src/optim/step_rules.hpp.
struct OptimizerInfo {
  OptimizerKind kind;
  std::string_view name;   // in project files: "sgd", "adamw", "adam"
  std::string_view label;  // in the studio: "SGD", "AdamW", "Adam"
  std::string_view description;
  bool uses_momentum;  // momentum, nesterov
  bool uses_betas;     // beta1, beta2, eps
};
std::span<const OptimizerInfo> optimizer_kinds();
const OptimizerInfo& optimizer_info(OptimizerKind kind);
const OptimizerInfo* find_optimizer(std::string_view name);  // nullptr if unknown
// Per-parameter state tensors (momentum buffers, moments) the optimizer
// keeps, each the size and dtype of its master.
int optimizer_slots(const OptimizerSpec& spec);

}  // namespace mantissa
