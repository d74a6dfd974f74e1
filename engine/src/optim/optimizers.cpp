// The optimizers a project can name, one row each; their element updates
// are in step_rules.hpp (with_optimizer).
#include <array>

#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"
#include "optim/rule_params.hpp"

namespace mantissa {

namespace {

constexpr std::array<OptimizerInfo, 3> kOptimizers{{
    {OptimizerKind::Sgd, "sgd", "SGD",
     "stochastic gradient descent with momentum (optionally Nesterov) and L2 weight decay", true,
     false},
    {OptimizerKind::AdamW, "adamw", "AdamW", "Adam with decoupled weight decay", false, true},
    {OptimizerKind::Adam, "adam", "Adam", "Adam with L2 weight decay added to the gradient", false,
     true},
}};

}  // namespace

std::span<const OptimizerInfo> optimizer_kinds() {
  return kOptimizers;
}

const OptimizerInfo& optimizer_info(OptimizerKind kind) {
  for (const OptimizerInfo& o : kOptimizers)
    if (o.kind == kind) return o;
  throw InternalError("optimizer kind " + std::to_string(int(kind)) + " has no row");
}

const OptimizerInfo* find_optimizer(std::string_view name) {
  for (const OptimizerInfo& o : kOptimizers)
    if (o.name == name) return &o;
  return nullptr;
}

int optimizer_slots(const OptimizerSpec& spec) {
  OptimizerRule rule;
  rule.optimizer = spec;
  return rules::optimizer_slots(rules::optimizer_params(rule));
}

}  // namespace mantissa
