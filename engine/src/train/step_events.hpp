// The events a step with a non-finite value raises (trainer.cpp hands them to
// the sink): an overflow when the step was skipped, a warning when it was
// applied anyway (loss scaling that does not skip), and once per run each,
// the warnings that the dynamic scale fell below 1 and that 50 steps in a
// row were skipped. The two once-per-run flags travel in checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mantissa/metrics.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/train_step.hpp"

namespace mantissa {

struct StepEvents {
  bool warned_small_scale = false;
  bool warned_consecutive = false;

  // The events of step `at_step` (none when its values were finite).
  // `tensor`: where the first non-finite value was seen; `cause`: ", " and
  // the re-run's classification, or empty when there was no re-run.
  std::vector<RunEvent> raise(const StepState& s, std::int64_t at_step, double wall,
                              const std::string& tensor, const std::string& cause,
                              LossScaleMode mode);
};

}  // namespace mantissa
