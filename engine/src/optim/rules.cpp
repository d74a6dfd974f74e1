#include <cmath>

#include "mantissa/optim.hpp"
#include "optim/rule_params.hpp"

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
  return rules::schedule_lr(rules::optimizer_params(rule).schedule, step);
}

}  // namespace mantissa
