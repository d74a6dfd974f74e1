// Divergence from fp32 (divergence.hpp).
#include "mantissa/divergence.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>

#include "mantissa/store.hpp"

namespace mantissa {

namespace {

using Steps = std::map<std::int64_t, const StepMetrics*>;

Steps applied(std::span<const StepMetrics> steps) {
  Steps out;
  for (const StepMetrics& m : steps)
    if (!m.skipped && std::isfinite(m.loss)) out[m.step] = &m;
  return out;
}

double relative(double a, double ref) {
  return std::abs(a - ref) / std::max(std::abs(ref), 1e-30);
}

double weights_distance(const StepMetrics& a, const StepMetrics& ref) {
  if (a.weight_norms.empty() || a.weight_norms.size() != ref.weight_norms.size())
    return relative(a.weight_norm, ref.weight_norm);
  double diff = 0, norm = 0;
  for (std::size_t k = 0; k < a.weight_norms.size(); ++k) {
    const double d = a.weight_norms[k] - ref.weight_norms[k];
    diff += d * d;
    norm += ref.weight_norms[k] * ref.weight_norms[k];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

struct MeasureRule {
  const char* name;
  std::function<double(const StepMetrics&, const StepMetrics&)> distance;
  std::function<bool(const StepMetrics&)> recorded;  // the run recorded this measure
  bool cumulative = false;  // adds up the steps' rounding (its floor grows with the step)
};

const std::vector<MeasureRule>& measure_rules() {
  static const std::vector<MeasureRule> rules{
      {"loss", [](const StepMetrics& a, const StepMetrics& r) { return relative(a.loss, r.loss); },
       [](const StepMetrics&) { return true; }},
      {"grad_norm",
       [](const StepMetrics& a, const StepMetrics& r) { return relative(a.grad_norm, r.grad_norm); },
       [](const StepMetrics& m) { return m.grad_norm > 0; }},
      {"update_norm",
       [](const StepMetrics& a, const StepMetrics& r) {
         return relative(a.update_norm, r.update_norm);
       },
       [](const StepMetrics& m) { return m.update_norm > 0; }},
      {"weights", weights_distance, [](const StepMetrics& m) { return m.weight_norm > 0; },
       true},
  };
  return rules;
}

}  // namespace

const DivergenceMeasure* Divergence::measure(std::string_view name) const {
  for (const DivergenceMeasure& m : measures)
    if (m.name == name) return &m;
  return nullptr;
}

Divergence divergence(std::span<const StepMetrics> candidate, std::span<const StepMetrics> reference,
                      std::span<const StepMetrics> twin, double k, int consecutive,
                      int floor_steps, double floor_factor) {
  Divergence out;
  out.k = k;
  out.consecutive = consecutive;
  const Steps cand = applied(candidate), ref = applied(reference), tw = applied(twin);
  std::vector<std::array<const StepMetrics*, 3>> rows;  // candidate, reference, twin
  for (const auto& [step, r] : ref) {
    const auto c = cand.find(step);
    const auto t = tw.find(step);
    if (c == cand.end() || t == tw.end()) continue;
    out.steps.push_back(step);
    rows.push_back({c->second, r, t->second});
  }
  for (const MeasureRule& rule : measure_rules()) {
    // A measure is compared where all three runs recorded it at every step.
    const bool recorded = std::all_of(rows.begin(), rows.end(), [&](const auto& row) {
      return rule.recorded(*row[0]) && rule.recorded(*row[1]) && rule.recorded(*row[2]);
    });
    if (!recorded && std::string_view(rule.name) != "loss") continue;
    DivergenceMeasure m;
    m.name = rule.name;
    for (const auto& row : rows) {
      m.candidate.push_back(rule.distance(*row[0], *row[1]));
      m.twin.push_back(rule.distance(*row[2], *row[1]));
    }
    const auto per = [&](std::size_t i) { return rule.cumulative ? double(i + 1) : 1.0; };
    for (std::size_t i = 0; i < m.candidate.size() && i < std::size_t(floor_steps); ++i)
      m.floor = std::max(m.floor, m.candidate[i] / per(i));
    double envelope = 0;
    int run = 0;
    for (std::size_t i = 0; i < m.candidate.size(); ++i) {
      envelope = std::max(envelope, m.twin[i]);
      m.band.push_back(std::max(k * envelope, floor_factor * m.floor * per(i)));
      run = m.outside(i) ? run + 1 : 0;
      if (run == consecutive && !m.first_divergent)
        m.first_divergent = out.steps[i + 1 - std::size_t(consecutive)];
    }
    if (m.name == "loss") out.first_divergent = m.first_divergent;
    out.measures.push_back(std::move(m));
  }
  if (out.first_divergent) {
    out.within_until = *out.first_divergent - 1;
  } else if (!out.steps.empty()) {
    out.within_until = out.steps.back();
  }
  // Bit-identical weights, step by step from the start (skipped steps too).
  std::map<std::int64_t, std::int64_t> ref_sums;
  for (const StepMetrics& m : reference)
    if (m.weights_checksum != 0) ref_sums[m.step] = m.weights_checksum;
  for (const StepMetrics& m : candidate) {
    const auto r = ref_sums.find(m.step);
    if (m.weights_checksum == 0 || r == ref_sums.end() || r->second != m.weights_checksum) break;
    out.identical_until = m.step;
  }
  return out;
}

std::vector<StepMetrics> fingerprints(RunStore& store, std::int64_t run_id) {
  std::vector<StepMetrics> steps = store.step_metrics(run_id);
  const auto norms = store.weight_norms(run_id);
  for (StepMetrics& m : steps) {
    const auto it = norms.find(m.step);
    if (it != norms.end()) m.weight_norms = it->second;
  }
  return steps;
}

}  // namespace mantissa
