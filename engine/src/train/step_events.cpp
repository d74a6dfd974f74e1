#include "train/step_events.hpp"

#include "mantissa/units.hpp"

namespace mantissa {

std::vector<RunEvent> StepEvents::raise(const StepState& s, std::int64_t at_step, double wall,
                                        const std::string& tensor, const std::string& cause,
                                        LossScaleMode mode) {
  std::vector<RunEvent> events;
  if (s.found_inf <= 0) return events;
  RunEvent e;
  e.step = at_step;
  e.tensor = tensor;
  e.scale_before = s.scale_used;
  e.scale_after = s.scale;
  e.wall_time_s = wall;
  if (s.skipped_this_step != 0) {
    e.kind = EventKind::Overflow;
    e.message = "step " + std::to_string(at_step) + " skipped: non-finite value in " + tensor +
                cause + ", scale " + loss_scale_text(e.scale_before) + " → " +
                loss_scale_text(e.scale_after);
  } else {
    e.kind = EventKind::Warning;
    e.message = "step " + std::to_string(at_step) + ": non-finite value in " + tensor +
                "; the step was applied (loss scaling " + std::string(loss_scale_mode_name(mode)) +
                " does not skip steps)";
  }
  events.push_back(e);
  if (!warned_small_scale && mode == LossScaleMode::Dynamic && s.scale < 1.0f) {
    warned_small_scale = true;
    events.push_back({at_step, EventKind::Warning,
                      "loss scale fell below 1 (" + loss_scale_text(s.scale) +
                          "): gradients overflow even unscaled; first non-finite value in " +
                          tensor,
                      e.scale_before, e.scale_after, tensor, wall});
  }
  if (!warned_consecutive && s.consecutive_skips >= 50) {
    warned_consecutive = true;
    events.push_back({at_step, EventKind::Warning,
                      "50 consecutive steps skipped; first non-finite value in " + tensor,
                      e.scale_before, e.scale_after, tensor, wall});
  }
  return events;
}

}  // namespace mantissa
