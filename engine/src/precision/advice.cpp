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

// The mixed policy of a pure one: fp32 masters (and optimizer state).
Fix masters_fix(Policy pure) {
  Fix f;
  f.policy = pure == Policy::Float16 ? Policy::MixedFloat16 : Policy::MixedBFloat16;
  f.title = "keep fp32 master weights: train in " + std::string(policy_name(*f.policy));
  f.why = "fp32 masters and optimizer state take every update whole; the layers still "
          "compute in 16 bits";
  return f;
}

// Unit roundoff of a 16-bit format: half its relative spacing.
double unit_roundoff(Policy p) {
  return p == Policy::Float16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
}

// Of the non-zero values a histogram counts, the share below `limit` (at
// binade resolution: binades wholly below it, and fp32 subnormals).
double share_below(const Histogram& h, double limit) {
  namespace nb = numerics_bits;
  std::uint64_t below = h[nb::kBinSubnormal], nonzero = h[nb::kBinSubnormal];
  for (int e = nb::kLowExponent; e <= nb::kHighExponent; ++e) {
    const std::uint32_t n = h[std::size_t(nb::kFirstBinade + (e - nb::kLowExponent))];
    nonzero += n;
    if (std::ldexp(1.0, e + 1) <= limit) below += n;
  }
  nonzero += h[nb::kBinNonFinite];
  return nonzero == 0 ? 0.0 : double(below) / double(nonzero);
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

void advise_scaler(const RunEvidence& run, std::vector<Finding>& out);
void advise_pure_policy(const RunEvidence& run, std::vector<Finding>& out);
void advise_norm_inputs(const RunEvidence& run, std::vector<Finding>& out);

}  // namespace

RunEvidence read_run_evidence(RunStore& store, std::int64_t run_id) {
  RunEvidence e;
  e.run_id = run_id;
  const RunRecord r = store.require_run(run_id);
  e.project = parse_project(r.project_json, "run " + std::to_string(run_id) + " (project snapshot)");
  e.steps = store.step_metrics(run_id);
  e.provenance = store.provenance(run_id);
  e.tensor_slots = store.numerics_slots(run_id);
  for (FixTrial& t : store.fix_trials())
    if (!t.decision.empty()) e.history.push_back(std::move(t));
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
      // Past fp32's range no precision setting helps (pinning a float32
      // layer to fp32 changes nothing): the training itself diverges.
      if (p.first->dtype == DType::F32) {
        f.rule = "overflow-in-fp32";
        f.evidence = p.first->label() + " (f32) went non-finite first at step " +
                     std::to_string(p.step) + ", past fp32's range (3.4e38): no precision policy, "
                     "pin or loss scale can help. The training diverges: look at the learning "
                     "rate (" + number(run.project.training.optimizer.lr) +
                     "), the initial weights and the data; " + std::to_string(t.events) + " of " +
                     std::to_string(total_events) + " traced events began there";
        out.push_back(std::move(f));
        continue;
      }
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
  if (fp16 && has_record && !run.steps.empty()) advise_scaler(run, out);
  advise_pure_policy(run, out);
  advise_norm_inputs(run, out);
  // What this database remembers of the same fix for the same finding.
  for (Finding& f : out)
    for (Fix& fix : f.fixes)
      for (const FixTrial& t : run.history)
        if (t.rule == f.rule && t.fix == fix.title)
          fix.why += ". Tried before here: " + t.decision + " for run " + std::to_string(t.run_id) +
                     " (child of run " + std::to_string(t.parent_run_id) + "; " + t.outcome + ")";
  return out;
}

namespace {

// The loss scaler's findings: early skips, underflow.
void advise_scaler(const RunEvidence& run, std::vector<Finding>& out) {
  const Policy policy = run.project.training.policy;
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
}

// Pure 16-bit policies keep the masters and the optimizer's state in 16
// bits: an update below half an ulp of its weight rounds away, and Adam's
// second moment of a small gradient flushes to zero.
void advise_pure_policy(const RunEvidence& run, std::vector<Finding>& out) {
  const Policy policy = run.project.training.policy;
  if (policy != Policy::Float16 && policy != Policy::BFloat16) return;
  const std::string format = policy == Policy::Float16 ? "fp16" : "bf16";
  // Stale updates: the typical update, relative to the weights, below the
  // format's unit roundoff.
  std::vector<double> relative;
  for (const StepMetrics& m : run.steps)
    if (!m.skipped && m.lr > 0 && m.weight_norm > 0) relative.push_back(m.update_norm / m.weight_norm);
  if (relative.size() >= 5) {
    std::nth_element(relative.begin(), relative.begin() + std::ptrdiff_t(relative.size() / 2),
                     relative.end());
    const double median = relative[relative.size() / 2];
    const double u = unit_roundoff(policy);
    if (median < u) {
      Finding f;
      f.rule = "stale-updates";
      f.evidence = "with " + format + " master weights the typical step changes them by " +
                   number(median) + " of their norm (median over " +
                   std::to_string(relative.size()) + " steps), below " + format +
                   "'s unit roundoff " + number(u) +
                   ": most of each update rounds away and the weights go stale";
      f.fixes.push_back(masters_fix(policy));
      out.push_back(std::move(f));
    }
  }
  // Adam's second moment in fp16: (1 - beta2) g^2 below 2^-24 flushes to 0,
  // and then the update is m / epsilon.
  const OptimizerSpec& o = run.project.training.optimizer;
  const bool adam = o.kind == OptimizerKind::Adam || o.kind == OptimizerKind::AdamW;
  if (!adam || policy != Policy::Float16 || run.samples.empty()) return;
  const double limit = std::sqrt(std::ldexp(1.0, -24) / std::max(1.0 - o.beta2, 1e-12));
  Histogram grads{};
  for (std::size_t i = 0; i < run.tensor_slots.size(); ++i) {
    if (run.tensor_slots[i].role != TensorRole::WeightGrad) continue;
    const NumericsSample& s = run.samples.back();
    if (i < s.histograms.size())
      for (std::size_t b = 0; b < grads.size(); ++b) grads[b] += s.histograms[i][b];
  }
  const double share = share_below(grads, limit);
  if (share < kUnderflowShare) return;
  Finding f;
  f.rule = "adam-moment-flush";
  f.evidence = percent(share) + " of the weight gradients' values (stored step " +
               std::to_string(run.samples.back().step) + ") are below " + number(limit) +
               ", where (1 - beta2) g^2 flushes to zero in the fp16 second moment; the update "
               "is then m / epsilon, and epsilon is " + number(o.eps);
  f.fixes.push_back(masters_fix(policy));
  Fix eps;
  eps.adam_eps = 1e-4;
  eps.title = "raise Adam's epsilon to 1e-4";
  eps.why = "bounds m / (sqrt(v) + epsilon) where v flushed to zero (fp16 holds 1e-4 as a normal "
            "number)";
  f.fixes.push_back(std::move(eps));
  out.push_back(std::move(f));
}

// A norm fed values so small that their variance is below 2^-24: in 16 bits
// they are subnormal, with few bits left. (Mantissa's norms compute in fp32;
// what loses bits is the 16-bit tensor they read.)
void advise_norm_inputs(const RunEvidence& run, std::vector<Finding>& out) {
  if (run.project.training.policy == Policy::Float32 || run.samples.empty()) return;
  const double limit = std::ldexp(1.0, -12);  // amax below it: variance below 2^-24
  for (const LayerSpec& l : run.project.model.layers) {
    if (l.kind != LayerKind::LayerNorm && l.kind != LayerKind::BatchNorm &&
        l.kind != LayerKind::GroupNorm)
      continue;
    if (l.inputs.empty()) continue;
    const std::string& producer = l.inputs.front();
    for (std::size_t i = 0; i < run.tensor_slots.size(); ++i) {
      const NumericsSlot& slot = run.tensor_slots[i];
      if (slot.layer != producer || slot.role != TensorRole::Activation ||
          (slot.dtype != DType::F16 && slot.dtype != DType::BF16))
        continue;
      const NumericsSample* at = nullptr;
      for (const NumericsSample& s : run.samples)
        if (i < s.stats.size() && s.stats[i].count > 0 && s.stats[i].amax < limit &&
            s.stats[i].nonfinite() == 0) {
          at = &s;
          break;
        }
      if (at == nullptr) continue;
      Finding f;
      f.rule = "norm-input-underflow";
      f.evidence = l.id + " reads " + producer + "'s " + std::string(dtype_name(slot.dtype)) +
                   " output, whose largest |x| is " + number(at->stats[i].amax) + " at step " +
                   std::to_string(at->step) +
                   ": its variance is below 2^-24, and in 16 bits those values keep few bits";
      const bool pinnable = std::any_of(run.project.model.layers.begin(), run.project.model.layers.end(),
                                        [&](const LayerSpec& p) {
                                          return p.id == producer && p.kind != LayerKind::Input;
                                        });
      if (pinnable) {
        Fix pin = pin_fix({producer}, producer);
        pin.why = l.id + " computes in fp32 already; pinned, " + producer +
                  " hands it fp32 values at full precision";
        f.fixes.push_back(std::move(pin));
      }
      Fix eps;
      eps.layer_eps.emplace_back(l.id, 1e-3f);
      eps.title = "raise " + l.id + "'s eps to 1e-3";
      eps.why = "var + eps then stays well above the rounding noise of the small inputs";
      f.fixes.push_back(std::move(eps));
      out.push_back(std::move(f));
      break;
    }
  }
}

}  // namespace

std::string FixComparison::sentence() const {
  const auto loss = [](double v) { return std::isfinite(v) ? number(v) : std::string("-"); };
  return "skipped " + std::to_string(child_skips) + " of " + std::to_string(steps) +
         " steps (control, run " + std::to_string(parent) + ": " + std::to_string(control_skips) +
         "); mean loss over steps " + std::to_string(tail_from) + "-" + std::to_string(tail_to) +
         ": " + loss(child_loss) + " (control: " + loss(control_loss) + ")";
}

FixComparison compare_fix(std::int64_t parent, std::span<const StepMetrics> control,
                          std::int64_t child, std::span<const StepMetrics> trained) {
  FixComparison c;
  c.parent = parent;
  c.child = child;
  std::int64_t first = 0, last = 0;
  for (const StepMetrics& m : trained) {
    ++c.steps;
    c.child_skips += m.skipped ? 1 : 0;
    first = first == 0 ? m.step : std::min(first, m.step);
    last = std::max(last, m.step);
  }
  for (const StepMetrics& m : control)
    if (m.step >= first && m.step <= last && m.skipped) ++c.control_skips;
  c.tail_from = std::max<std::int64_t>(first, last - (last - first + 1) / 5);
  c.tail_to = last;
  const auto mean = [&](std::span<const StepMetrics> steps) {
    double sum = 0;
    int n = 0;
    for (const StepMetrics& m : steps)
      if (m.step >= c.tail_from && m.step <= last && !m.skipped && std::isfinite(m.loss)) {
        sum += m.loss;
        ++n;
      }
    return n ? sum / n : std::nan("");
  };
  c.child_loss = mean(trained);
  c.control_loss = mean(control);
  return c;
}

FixComparison compare_fix(RunStore& store, std::int64_t child) {
  const RunRecord r = store.require_run(child);
  if (!r.parent_run_id) throw InputError("run " + std::to_string(child) + " has no parent run");
  return compare_fix(*r.parent_run_id, store.step_metrics(*r.parent_run_id), child,
                     store.step_metrics(child));
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
  if (fix.adam_eps) p.training.optimizer.eps = *fix.adam_eps;
  for (const auto& layer_eps : fix.layer_eps) {
    const std::string& id = layer_eps.first;
    auto it = std::find_if(p.model.layers.begin(), p.model.layers.end(),
                           [&](const LayerSpec& l) { return l.id == id; });
    if (it == p.model.layers.end())
      throw InputError("fix '" + fix.title + "': the model has no layer '" + id + "'");
    it->eps = layer_eps.second;
  }
  return p;
}

}  // namespace mantissa
