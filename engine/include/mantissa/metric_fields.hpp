#pragma once
// The per-step metrics, defined once. Each row names a StepMetrics member
// with its type, unit and meaning; the run database's columns and binds, the
// CSV export and the command line's JSON are all written from this table,
// in this order. Adding a metric is a member in StepMetrics, a row here and
// a migration adding its column (store/migrations.cpp); a test checks that
// the schema's columns are exactly these.
#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <variant>

#include "mantissa/metrics.hpp"

namespace mantissa {

struct StepField {
  std::string_view name;  // column, CSV header and JSON key
  std::string_view unit;  // "" for counts and ratios
  std::string_view description;
  std::variant<std::int64_t StepMetrics::*, double StepMetrics::*, bool StepMetrics::*> member;
};

inline constexpr std::array<StepField, 22> kStepFields{{
    {"step", "", "1-based step, counting skipped steps", &StepMetrics::step},
    {"epoch", "", "0-based epoch", &StepMetrics::epoch},
    {"loss", "", "unscaled fp32 training loss of the batch", &StepMetrics::loss},
    {"loss_scale", "", "loss scale used for the step", &StepMetrics::loss_scale},
    {"skipped", "", "the optimizer did not run (non-finite gradients)", &StepMetrics::skipped},
    {"skipped_total", "", "steps skipped so far", &StepMetrics::skipped_total},
    {"growth_tracker", "", "clean steps since the scale last changed",
     &StepMetrics::growth_tracker},
    {"grad_norm", "", "global L2 norm of the unscaled gradients", &StepMetrics::grad_norm},
    {"lr", "", "learning rate used (0 when skipped)", &StepMetrics::lr},
    {"step_time_s", "s", "time the step took on the device", &StepMetrics::step_time_s},
    {"samples_per_s", "samples/s", "throughput of the step", &StepMetrics::samples_per_s},
    {"memory_in_use", "B", "bytes the engine holds", &StepMetrics::memory_in_use},
    {"memory_peak", "B", "most bytes the engine held so far", &StepMetrics::memory_peak},
    {"driver_memory_in_use", "B", "device memory in use as the driver reports it (0: unknown)",
     &StepMetrics::driver_memory_in_use},
    {"wall_time_s", "s", "time since the run started", &StepMetrics::wall_time_s},
    {"unscaled_grad_amax", "",
     "largest |x| / loss scale over the 16-bit gradients the scale multiplies (empty: not "
     "measured)",
     &StepMetrics::unscaled_grad_amax},
    {"forward_nonfinite", "", "the forward pass or the loss was non-finite (whatever the scale)",
     &StepMetrics::forward_nonfinite},
    {"update_norm", "", "L2 norm of the change the step made to the master weights",
     &StepMetrics::update_norm},
    {"weight_norm", "", "L2 norm of the master weights after the step", &StepMetrics::weight_norm},
    {"weights_checksum", "", "checksum of the master weights' bits after the step",
     &StepMetrics::weights_checksum},
    {"slowest_rank_s", "s",
     "data parallel: the slowest rank's forward and backward passes (0: one rank)",
     &StepMetrics::slowest_rank_s},
    {"reduce_time_s", "s", "data parallel: time the gradient sum took on rank 0 (0: one rank)",
     &StepMetrics::reduce_time_s},
}};

// Calls fn(value) with a reference to the field's member of `m`
// (std::int64_t&, double& or bool&, const when m is).
template <class Metrics, class Fn>
  requires std::is_same_v<std::remove_const_t<Metrics>, StepMetrics>
decltype(auto) visit_field(const StepField& f, Metrics& m, Fn&& fn) {
  return std::visit([&](auto member) -> decltype(auto) { return fn(m.*member); }, f.member);
}

}  // namespace mantissa
