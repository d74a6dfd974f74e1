#include <cmath>

#include "mantissa/optim.hpp"

namespace mantissa {

ScalerRule make_scaler_rule(Policy policy, const LossScaleConfig& c) {
  ScalerRule r;
  r.mode = effective_mode(policy, c);
  r.growth_factor = c.growth_factor;
  r.backoff_factor = c.backoff_factor;
  r.growth_interval = c.growth_interval;
  r.min_scale = c.min_scale.value_or(0.0);
  r.max_scale = c.max_scale.value_or(0.0);
  r.skip_nonfinite = c.skip_nonfinite;
  return r;
}

double initial_scale(Policy policy, const LossScaleConfig& c) {
  return effective_mode(policy, c) == LossScaleMode::None ? 1.0 : c.init_scale;
}

double scheduled_lr(const OptimizerRule& rule, std::int64_t step) {
  const double base = rule.optimizer.lr;
  const ScheduleSpec& s = rule.schedule;
  if (s.warmup_steps > 0 && step < s.warmup_steps)
    return base * double(step + 1) / double(s.warmup_steps);
  const std::int64_t t = step - s.warmup_steps;
  switch (s.kind) {
    case ScheduleKind::Constant: return base;
    case ScheduleKind::Step:
      return base * std::pow(s.gamma, double(t / std::max<std::int64_t>(s.step_size, 1)));
    case ScheduleKind::Cosine: {
      const std::int64_t span = std::max<std::int64_t>(rule.total_steps - s.warmup_steps, 1);
      const double progress = std::min(1.0, double(t) / double(span));
      return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
  }
  return base;
}

}  // namespace mantissa
