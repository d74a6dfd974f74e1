// Guided fixes (advice.hpp): the rules, over a run's stored record.
#include "mantissa/advice.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "mantissa/error.hpp"
#include "mantissa/store.hpp"
#include "mantissa/units.hpp"
#include "mantissa/whatif.hpp"

namespace mantissa {

namespace {

constexpr std::int64_t kEarlySteps = 20;     // "at the start"
constexpr std::int64_t kEarlySkips = 3;      // a burst
constexpr double kUnderflowShare = 0.01;     // 1 % of the gradients' values
constexpr double kHeadroomBinades = 2.0;     // typical room to 65,520

bool fp16_policy(Policy p) {
  return p == Policy::MixedFloat16 || p == Policy::Float16;
}

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return out;
}

std::string number(double v) {
  std::ostringstream o;
  o.precision(3);
  o << v;
  return o.str();
}

std::string percent(double share) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(share < 0.1 ? 2 : 1);
  o << 100.0 * share << " %";
  return o.str();
}

// The layer and the layers its bad values reached, as pins: never the input
// or the loss (already fp32), each once, in that order.
std::vector<std::string> pins_for(const Project& project, const Provenance& p) {
  std::vector<std::string> out;
  const auto add = [&](const std::string& id) {
    for (const LayerSpec& l : project.model.layers)
      if (l.id == id && l.kind != LayerKind::Input && !is_loss(l.kind) &&
          std::find(out.begin(), out.end(), id) == out.end())
        out.push_back(id);
  };
  add(p.first->layer);
  for (const std::string& l : p.path) add(l);
  return out;
}

Fix pin_fix(const std::vector<std::string>& pins, const std::string& origin) {
  Fix f;
  f.pin = pins;
  f.title = pins.size() == 1 ? "pin " + origin + " to fp32"
                             : "pin " + listed(pins) + " to fp32 (" + origin +
                                   " and the layers its values reach)";
  f.why = "in fp32 these layers hold values up to 3.4e38; the rest of the model stays in 16 bits";
  return f;
}

Fix bf16_fix() {
  Fix f;
  f.title = "train in mixed_bfloat16";
  f.policy = Policy::MixedBFloat16;
  f.scaler = LossScaleConfig{};  // bf16's default: no loss scaling
  f.why = "bf16 has fp32's range (no overflow at 65,504, no loss scaling) at 8 bits of "
          "mantissa instead of fp16's 11";
  return f;
}

struct Traced {
  const Provenance* first = nullptr;
  int events = 0;
};

// Traced events whose first non-finite tensor is in `layer`, by rule.
std::map<std::string, Traced> group(const std::vector<Provenance>& events, bool backward) {
  std::map<std::string, Traced> out;
  for (const Provenance& p : events) {
    if (!p.first || p.first->backward() != backward) continue;
    if (backward && !(p.measured_at_scale_one && !p.finite_at_scale_one)) continue;
    Traced& t = out[p.first->layer];
    if (!t.first) t.first = &p;
    ++t.events;
  }
  return out;
}

}  // namespace

RunEvidence read_run_evidence(RunStore& store, std::int64_t run_id) {
  RunEvidence e;
  e.run_id = run_id;
  const RunRecord r = store.require_run(run_id);
  e.project = parse_project(r.project_json, "run " + std::to_string(run_id) + " (project snapshot)");
  e.steps = store.step_metrics(run_id);
  e.provenance = store.provenance(run_id);
  e.tensor_slots = store.numerics_slots(run_id);
  for (const RunStore::NumericsStep& n : store.numerics_steps(run_id))
    if (n.histograms)
      if (auto s = store.numerics_sample(run_id, n.step)) e.samples.push_back(std::move(*s));
  return e;
}

std::vector<Finding> advise(const RunEvidence& run) {
  std::vector<Finding> out;
  const Policy policy = run.project.training.policy;
  const bool fp16 = fp16_policy(policy);
  const std::int64_t total_events = std::int64_t(run.provenance.size());

  // Forward overflows, and backward ones that stay at S = 1: real range
  // problems. The scaler cannot help; pins or bf16 can.
  for (const bool backward : {false, true}) {
    for (const auto& [layer, t] : group(run.provenance, backward)) {
      const Provenance& p = *t.first;
      Finding f;
      f.rule = backward ? "backward-overflow-at-scale-1" : "forward-overflow";
      f.evidence = p.first->label() + " (" + std::string(dtype_name(p.first->dtype)) +
                   ") went non-finite first at step " + std::to_string(p.step) +
                   (backward ? ", and is still non-finite with the loss scale at 1"
                             : ", in the forward pass: it overflows whatever the loss scale") +
                   "; largest finite input |x| " + number(p.input_amax) + "; " +
                   std::to_string(t.events) + " of " + std::to_string(total_events) +
                   " traced events began there";
      if (backward) f.evidence += ". The scaler is not to blame: lowering the scale cannot help";
      // The least first: the layer alone (its fp32 output may be brought back
      // into range by what follows, a norm, say); then with the layers its
      // bad values reached in this run; then the policy.
      const std::vector<std::string> pins = pins_for(run.project, p);
      if (!pins.empty()) f.fixes.push_back(pin_fix({pins.front()}, layer));
      if (pins.size() > 1) f.fixes.push_back(pin_fix(pins, layer));
      if (fp16) f.fixes.push_back(bf16_fix());
      out.push_back(std::move(f));
    }
  }

  const bool has_record = std::any_of(run.steps.begin(), run.steps.end(), [](const StepMetrics& m) {
    return !std::isnan(m.unscaled_grad_amax);
  });
  if (!fp16 || !has_record || run.steps.empty()) return out;
  const LossScaleConfig& own = run.project.training.loss_scale;
  const ScalerReplay replay = replay_scaler(run.steps, policy, own);

  // A burst of skips at the start: an initial scale from the what-if.
  const std::int64_t window = std::min<std::int64_t>(kEarlySteps, std::int64_t(run.steps.size()));
  std::int64_t early = 0;
  bool early_forward = false;
  for (std::int64_t i = 0; i < window; ++i) {
    early += run.steps[std::size_t(i)].skipped ? 1 : 0;
    early_forward = early_forward || run.steps[std::size_t(i)].forward_nonfinite;
  }
  if (early >= kEarlySkips && !early_forward) {
    const long interval[] = {own.growth_interval};
    const ScalerSearch s = search_scaler(run.steps, policy, own, interval);
    std::int64_t predicted = 0;
    for (std::int64_t i = 0; i < window && i < std::int64_t(s.replay.steps.size()); ++i)
      predicted += s.replay.steps[std::size_t(i)].skipped ? 1 : 0;
    if (predicted < early) {
      Finding f;
      f.rule = "early-skips";
      const double from = run.steps.front().loss_scale;
      double to = from;
      for (std::int64_t i = 0; i < window; ++i) to = std::min(to, run.steps[std::size_t(i)].loss_scale);
      f.evidence = std::to_string(early) + " of the first " + std::to_string(window) +
                   " steps were skipped while the loss scale backed off from " +
                   loss_scale_text(from) + " to " + loss_scale_text(to) +
                   ": the initial scale is too large for these gradients";
      Fix fix;
      fix.scaler = s.best;
      fix.title = "start the loss scale at " + loss_scale_text(s.best.init_scale);
      fix.why = "the what-if replays this on the run's steps: " + std::to_string(predicted) +
                " skips in the first " + std::to_string(window) + " steps, " +
                std::to_string(s.replay.skipped) + " in all (the run: " +
                std::to_string(replay.recorded_skipped) + ")";
      f.fixes.push_back(std::move(fix));
      out.push_back(std::move(f));
    }
  }

  // Underflow: gradients the scale leaves below fp16's range.
  const UnderflowEstimate under = estimate_underflow(replay, run.samples, run.tensor_slots);
  if (under.steps > 0 && under.recorded >= kUnderflowShare) {
    std::vector<double> margins;
    for (const ScalerReplayStep& s : replay.steps)
      if (!s.skipped && std::isfinite(s.margin_log2)) margins.push_back(s.margin_log2);
    double headroom = 0;
    if (!margins.empty()) {
      std::nth_element(margins.begin(), margins.begin() + std::ptrdiff_t(margins.size() / 2),
                       margins.end());
      headroom = margins[margins.size() / 2];
    }
    Finding f;
    const bool room = headroom >= kHeadroomBinades;
    f.rule = room ? "underflow-with-headroom" : "underflow-without-headroom";
    f.evidence = percent(under.recorded) + " of the 16-bit gradients' non-zero values flush to "
                 "zero in fp16 (from " + std::to_string(under.steps) + " stored steps), with a "
                 "typical " + number(headroom) + " binades of room below 65,520";
    if (room) {
      // A scale that grows sooner, as far as the room allows.
      LossScaleConfig c = own;
      c.growth_interval = std::max<long>(1, own.growth_interval / 8);
      if (c.max_scale) c.max_scale = *c.max_scale * std::ldexp(1.0, int(headroom) - 1);
      const ScalerReplay r = replay_scaler(run.steps, policy, c);
      const UnderflowEstimate u = estimate_underflow(r, run.samples, run.tensor_slots);
      Fix fix;
      fix.scaler = c;
      fix.title = "let the loss scale grow sooner: every " + std::to_string(c.growth_interval) +
                  " clean steps" + (c.max_scale ? ", up to " + loss_scale_text(*c.max_scale) : "");
      fix.why = "the what-if predicts " + percent(u.predicted) + " flushed and " +
                std::to_string(r.skipped) + " skips (the run: " + percent(under.recorded) +
                ", " + std::to_string(replay.recorded_skipped) + ")";
      f.fixes.push_back(std::move(fix));
    }
    f.fixes.push_back(bf16_fix());
    out.push_back(std::move(f));
  }
  return out;
}

Project apply_fix(const Project& project, const Fix& fix) {
  Project p = project;
  for (const std::string& id : fix.pin) {
    auto it = std::find_if(p.model.layers.begin(), p.model.layers.end(),
                           [&](const LayerSpec& l) { return l.id == id; });
    if (it == p.model.layers.end())
      throw InputError("fix '" + fix.title + "': the model has no layer '" + id + "'");
    it->pin_fp32 = true;
  }
  if (fix.policy) p.training.policy = *fix.policy;
  if (fix.scaler) p.training.loss_scale = *fix.scaler;
  return p;
}

}  // namespace mantissa
