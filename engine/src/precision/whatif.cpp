// The loss scaler's what-if (whatif.hpp): the scaler's own rule
// (scaler_rule.hpp, which the CPU and CUDA backends run) applied to a
// recorded run's per-step overflow record.
#include "mantissa/whatif.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/units.hpp"
#include "optim/rule_params.hpp"

namespace mantissa {

namespace {

bool power_of_two(double s) {
  int e = 0;
  return s > 0 && std::isfinite(s) && std::frexp(s, &e) == 0.5;
}

}  // namespace

ScalerReplay replay_scaler(std::span<const StepMetrics> recorded, Policy policy,
                           const LossScaleConfig& settings, double overflow_at) {
  const bool any_record = std::any_of(recorded.begin(), recorded.end(), [](const StepMetrics& m) {
    return !std::isnan(m.unscaled_grad_amax) || m.forward_nonfinite;
  });
  if (!recorded.empty() && !any_record)
    throw InputError(
        "the run has no loss-scaler record: it was trained with per-tensor numerics off, or "
        "before Mantissa recorded it");
  const ScalerRule rule = make_scaler_rule(policy, settings);
  const rules::ScalerParams params = rules::scaler_params(rule);
  StepState st{};
  st.scale = float(initial_scale(policy, settings));
  ScalerReplay out;
  out.steps.reserve(recorded.size());
  for (const StepMetrics& m : recorded) {
    ScalerReplayStep r;
    r.step = m.step;
    r.scale = double(st.scale);
    if (!power_of_two(r.scale)) out.powers_of_two = false;
    const double a = m.unscaled_grad_amax;
    r.margin_log2 = std::numeric_limits<double>::quiet_NaN();
    if (m.forward_nonfinite) {
      r.overflow = true;
    } else if (!std::isnan(a)) {
      r.overflow = r.scale * a >= overflow_at;
      if (a > 0) r.margin_log2 = std::log2(overflow_at / (r.scale * a));
    } else if (!m.skipped && r.scale <= m.loss_scale) {
      r.overflow = false;  // finite at the run's own scale, so at any smaller one
    } else if (m.skipped && r.scale >= m.loss_scale) {
      r.overflow = true;  // overflowed at the run's scale, so at any larger one
    } else {
      r.decided = false;
      r.overflow = m.skipped;
      if (!out.first_undecided) out.first_undecided = m.step;
    }
    if (!r.overflow && r.margin_log2 < 1.0) ++out.knife_edge;
    st.found_inf = r.overflow ? 1 : 0;
    const std::int64_t skipped_before = st.skipped_total;
    rules::apply_scaler_rule(st, params);
    r.skipped = st.skipped_total > skipped_before;
    r.scale_after = double(st.scale);
    r.growth_tracker_after = st.growth_tracker;
    r.consecutive_skips_after = st.consecutive_skips;
    if (r.overflow && !r.skipped && !out.first_applied_overflow) out.first_applied_overflow = m.step;
    if (r.skipped) ++out.skipped;
    if (m.skipped) ++out.recorded_skipped;
    if (r.skipped != m.skipped && !out.first_difference) out.first_difference = m.step;
    out.steps.push_back(r);
  }
  out.final_scale = double(st.scale);
  return out;
}

BranchCheck check_branch(const ScalerReplay& replay, std::span<const StepMetrics> branch) {
  BranchCheck c;
  for (const StepMetrics& m : branch) {
    if (m.step < 1 || std::size_t(m.step) > replay.steps.size()) continue;
    const ScalerReplayStep& r = replay.steps[std::size_t(m.step - 1)];
    ++c.compared;
    if (r.skipped) ++c.predicted_skips;
    if (m.skipped) ++c.actual_skips;
    // Exact before the first difference and at it (replay_scaler).
    const bool exact = !replay.first_difference || m.step <= *replay.first_difference;
    if (r.skipped != m.skipped && !c.first_mismatch) c.first_mismatch = m.step;
    if (!exact) continue;
    ++c.exact_steps;
    if (r.skipped != m.skipped) ++c.exact_mismatches;
    if (r.scale != m.loss_scale) ++c.scale_mismatches;
  }
  return c;
}

ScalerSearch search_scaler(std::span<const StepMetrics> recorded, Policy policy,
                           const LossScaleConfig& base, std::span<const long> intervals) {
  std::vector<long> grid(intervals.begin(), intervals.end());
  if (grid.empty()) grid = {base.growth_interval};
  ScalerSearch best;
  // The scale a run typically trains at: more is less underflow.
  const auto typical_log2 = [](const ScalerReplay& r) {
    std::vector<double> l;
    for (const ScalerReplayStep& s : r.steps)
      if (!s.skipped) l.push_back(std::log2(s.scale));
    if (l.empty()) return -1e9;
    std::nth_element(l.begin(), l.begin() + std::ptrdiff_t(l.size() / 2), l.end());
    return l[l.size() / 2];
  };
  double best_typical = 0;
  for (int e = 0; e <= 24; ++e)
    for (long interval : grid) {
      LossScaleConfig c = base;
      c.init_scale = std::ldexp(1.0, e);
      c.growth_interval = interval;
      ScalerReplay r = replay_scaler(recorded, policy, c);
      ++best.tried;
      const double typical = typical_log2(r);
      if (best.tried == 1 || r.skipped < best.replay.skipped ||
          (r.skipped == best.replay.skipped && typical > best_typical)) {
        best.best = c;
        best.replay = std::move(r);
        best_typical = typical;
      }
    }
  return best;
}

UnderflowEstimate estimate_underflow(const ScalerReplay& replay,
                                     std::span<const NumericsSample> samples,
                                     std::span<const NumericsSlot> slots) {
  namespace nb = numerics_bits;
  const auto is16 = [](DType d) { return d == DType::F16 || d == DType::BF16; };
  const bool any16 = std::any_of(slots.begin(), slots.end(), [&](const NumericsSlot& s) {
    return s.role == TensorRole::ActivationGrad && is16(s.dtype);
  });
  std::vector<bool> read(slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i)
    read[i] = slots[i].role == TensorRole::ActivationGrad && (!any16 || is16(slots[i].dtype));
  // Non-zero values, flushed at the run's scale, flushed at the replay's.
  double total = 0, flushed_run = 0, flushed_replay = 0;
  UnderflowEstimate out;
  constexpr int kFlushBelow = -25;  // fp16 rounds |x| < 2^-25 to zero
  for (const NumericsSample& sample : samples) {
    if (sample.histograms.size() != slots.size() || sample.scale <= 0) continue;
    const auto at = std::lower_bound(
        replay.steps.begin(), replay.steps.end(), sample.step,
        [](const ScalerReplayStep& r, std::int64_t step) { return r.step < step; });
    if (at == replay.steps.end() || at->step != sample.step) continue;
    const int shift = int(std::lround(std::log2(at->scale / sample.scale)));
    ++out.steps;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (!read[i]) continue;
      const Histogram& h = sample.histograms[i];
      for (int b = nb::kBinSubnormal; b < nb::kBinNonFinite; ++b) {
        const double n = double(h[std::size_t(b)]);
        if (n == 0) continue;
        // fp32 subnormals lie far below fp16's range at any scale that matters.
        const int e = b == nb::kBinSubnormal ? nb::kLowExponent - 100 : *bin_exponent(b);
        total += n;
        if (e < kFlushBelow) flushed_run += n;
        if (e + shift < kFlushBelow) flushed_replay += n;
      }
    }
  }
  if (total > 0) {
    out.recorded = flushed_run / total;
    out.predicted = flushed_replay / total;
  }
  return out;
}

std::vector<ForwardOverflow> fp16_forward_overflows(std::span<const NumericsSample> samples,
                                                    std::span<const NumericsSlot> tensors,
                                                    double overflow_at) {
  std::vector<ForwardOverflow> out(tensors.size());
  for (const NumericsSample& sample : samples)
    for (std::size_t i = 0; i < tensors.size() && i < sample.stats.size(); ++i) {
      if (tensors[i].role != TensorRole::Activation) continue;
      const double a = sample.stats[i].amax;
      if (!(a >= overflow_at)) continue;
      ForwardOverflow& f = out[i];
      if (f.first_step == 0 || sample.step < f.first_step) f.first_step = sample.step;
      f.amax = std::max(f.amax, a);
      f.tensor = tensors[i].label();
    }
  std::erase_if(out, [](const ForwardOverflow& f) { return f.first_step == 0; });
  std::sort(out.begin(), out.end(),
            [](const ForwardOverflow& a, const ForwardOverflow& b) { return a.amax > b.amax; });
  return out;
}

std::string describe_scaler(Policy policy, const LossScaleConfig& c) {
  const LossScaleMode mode = effective_mode(policy, c);
  std::ostringstream o;
  o << loss_scale_mode_name(mode);
  if (mode == LossScaleMode::None) return o.str();
  o << ", init_scale " << loss_scale_text(c.init_scale);
  if (mode == LossScaleMode::Fixed) {
    if (c.skip_nonfinite) o << ", skipping non-finite steps";
    return o.str();
  }
  o << ", growth ×" << c.growth_factor << " every " << c.growth_interval << " clean steps, backoff ×"
    << c.backoff_factor;
  if (c.min_scale) o << ", min " << loss_scale_text(*c.min_scale);
  if (c.max_scale) o << ", max " << loss_scale_text(*c.max_scale);
  return o.str();
}

}  // namespace mantissa
