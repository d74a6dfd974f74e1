#pragma once
// OptimizerRule / ScalerRule as the plain parameters of optim/step_rules.hpp
// and precision/scaler_rule.hpp, which both backends apply. Host code only.
#include "mantissa/optim.hpp"
#include "optim/step_rules.hpp"
#include "precision/scaler_rule.hpp"

namespace mantissa::rules {

static_assert(int(ScheduleKind::Constant) == int(ScheduleCode::Constant) &&
                  int(ScheduleKind::Step) == int(ScheduleCode::Step) &&
                  int(ScheduleKind::Cosine) == int(ScheduleCode::Cosine),
              "ScheduleCode must list the schedules in ScheduleKind's order");
static_assert(int(LossScaleMode::None) == int(ScaleMode::None) &&
                  int(LossScaleMode::Fixed) == int(ScaleMode::Fixed) &&
                  int(LossScaleMode::Dynamic) == int(ScaleMode::Dynamic),
              "ScaleMode must list the modes in LossScaleMode's order");
static_assert(int(OptimizerKind::Sgd) == int(OptimizerCode::Sgd) &&
                  int(OptimizerKind::AdamW) == int(OptimizerCode::AdamW) &&
                  int(OptimizerKind::Adam) == int(OptimizerCode::Adam),
              "OptimizerCode must list the optimizers in OptimizerKind's order");

inline OptimizerParams optimizer_params(const OptimizerRule& rule) {
  OptimizerParams p;
  p.schedule.base_lr = rule.optimizer.lr;
  p.schedule.kind = ScheduleCode(int(rule.schedule.kind));
  p.schedule.warmup_steps = rule.schedule.warmup_steps;
  p.schedule.step_size = rule.schedule.step_size;
  p.schedule.gamma = rule.schedule.gamma;
  p.schedule.min_lr = rule.schedule.min_lr;
  p.schedule.total_steps = rule.total_steps;
  p.code = OptimizerCode(int(rule.optimizer.kind));
  p.momentum = float(rule.optimizer.momentum);
  p.nesterov = rule.optimizer.nesterov;
  p.weight_decay = float(rule.optimizer.weight_decay);
  p.beta1 = rule.optimizer.beta1;
  p.beta2 = rule.optimizer.beta2;
  p.eps = float(rule.optimizer.eps);
  p.clip_grad_norm = rule.clip_grad_norm;
  p.skip_on_nonfinite = rule.skip_on_nonfinite;
  return p;
}

inline ScalerParams scaler_params(const ScalerRule& rule) {
  ScalerParams p;
  p.mode = ScaleMode(int(rule.mode));
  p.skips = rule.skips();
  p.growth_factor = float(rule.growth_factor);
  p.backoff_factor = float(rule.backoff_factor);
  p.growth_interval = rule.growth_interval;
  p.min_scale = float(rule.min_scale);
  p.max_scale = float(rule.max_scale);
  return p;
}

}  // namespace mantissa::rules
