#pragma once
// Optimizer and loss-scaler rules as plain values, executed by the backend on
// the step state (step_state.hpp), so a GPU never waits for the host to
// decide a step.
#include <cstdint>
#include <span>
#include <string_view>

#include "mantissa/model.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/step_state.hpp"

namespace mantissa {

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
