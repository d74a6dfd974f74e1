// Divergence from fp32 (divergence.hpp).
#include "mantissa/divergence.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace mantissa {

namespace {

std::map<std::int64_t, double> losses(std::span<const StepMetrics> steps) {
  std::map<std::int64_t, double> out;
  for (const StepMetrics& m : steps)
    if (!m.skipped && std::isfinite(m.loss)) out[m.step] = m.loss;
  return out;
}

double distance(double a, double ref) {
  return std::abs(a - ref) / std::max(std::abs(ref), 1e-30);
}

}  // namespace

Divergence divergence(std::span<const StepMetrics> candidate, std::span<const StepMetrics> reference,
                      std::span<const StepMetrics> twin, double k, int consecutive,
                      int floor_steps, double floor_factor) {
  Divergence out;
  out.k = k;
  out.consecutive = consecutive;
  const auto cand = losses(candidate), ref = losses(reference), tw = losses(twin);
  for (const auto& [step, r] : ref) {
    const auto c = cand.find(step);
    const auto t = tw.find(step);
    if (c == cand.end() || t == tw.end()) continue;
    DivergenceStep d;
    d.step = step;
    d.candidate = distance(c->second, r);
    d.twin = distance(t->second, r);
    out.steps.push_back(d);
  }
  for (std::size_t i = 0; i < out.steps.size() && i < std::size_t(floor_steps); ++i)
    out.floor = std::max(out.floor, out.steps[i].candidate);
  double envelope = 0;
  int run = 0;
  for (std::size_t i = 0; i < out.steps.size(); ++i) {
    DivergenceStep& d = out.steps[i];
    envelope = std::max(envelope, d.twin);
    d.band = std::max(k * envelope, floor_factor * out.floor);
    d.outside = d.candidate > d.band;
    run = d.outside ? run + 1 : 0;
    if (run == consecutive && !out.first_divergent)
      out.first_divergent = out.steps[i + 1 - std::size_t(consecutive)].step;
  }
  if (out.first_divergent) {
    out.within_until = *out.first_divergent - 1;
  } else if (!out.steps.empty()) {
    out.within_until = out.steps.back().step;
  }
  return out;
}

}  // namespace mantissa
