// The precision trade-off (tradeoff.hpp).
#include "mantissa/tradeoff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "mantissa/model.hpp"
#include "mantissa/whatif.hpp"
#include "train/memory_fit.hpp"

namespace mantissa {

namespace {

struct AxisRow {
  TradeoffAxis axis;
  std::string_view key;
  bool higher_better;
};

constexpr std::array<AxisRow, 7> kAxes{{
    {TradeoffAxis::ValAccuracy, "val_accuracy", true},
    {TradeoffAxis::ValLoss, "val_loss", false},
    {TradeoffAxis::TimeToTarget, "time_to_target", false},
    {TradeoffAxis::SamplesPerS, "samples_per_s", true},
    {TradeoffAxis::PeakMemory, "peak_memory", false},
    {TradeoffAxis::WastedSteps, "wasted_steps", false},
    {TradeoffAxis::Divergence, "divergence", false},
}};

const AxisRow& row(TradeoffAxis a) {
  for (const AxisRow& r : kAxes)
    if (r.axis == a) return r;
  return kAxes.front();
}

std::string group_label(const RunRecord& r) {
  std::string label = r.policy;
  try {
    const Project p = parse_project(r.project_json, "run " + std::to_string(r.id));
    std::string pins;
    for (const LayerSpec& l : p.model.layers)
      if (l.pin_fp32) pins += (pins.empty() ? "" : ", ") + l.id;
    if (!pins.empty()) label += " (" + pins + " pinned to fp32)";
  } catch (const std::exception&) {
    // A damaged snapshot: grouped by its policy alone.
  }
  return label;
}

std::optional<Project> snapshot(const RunRecord& r) {
  try {
    return parse_project(r.project_json, "run " + std::to_string(r.id) + " (project snapshot)");
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Mean relative loss distance over the last tenth of the steps both applied.
std::optional<double> loss_distance(const std::vector<StepMetrics>& run,
                                    const std::vector<StepMetrics>& reference) {
  std::map<std::int64_t, double> ref;
  for (const StepMetrics& m : reference)
    if (!m.skipped && std::isfinite(m.loss)) ref[m.step] = m.loss;
  std::vector<double> d;
  for (const StepMetrics& m : run) {
    if (m.skipped) continue;
    const auto it = ref.find(m.step);
    if (it == ref.end()) continue;
    d.push_back(std::isfinite(m.loss) ? std::abs(m.loss - it->second) /
                                            std::max(std::abs(it->second), 1e-30)
                                      : std::numeric_limits<double>::infinity());
  }
  if (d.empty()) return std::nullopt;
  const std::size_t from = d.size() - std::max<std::size_t>(1, d.size() / 10);
  double sum = 0;
  for (std::size_t i = from; i < d.size(); ++i) sum += d[i];
  return sum / double(d.size() - from);
}

struct Inputs {
  std::span<const RunRecord> runs;
  std::span<const std::vector<EpochMetrics>> epochs;
  std::span<const std::vector<StepMetrics>> steps;
  double target = 0.9;
  const std::vector<StepMetrics>* steps_of(std::size_t i) const {
    return i < steps.size() && !steps[i].empty() ? &steps[i] : nullptr;
  }
  // The earliest float32 run of i's project and seed with steps (i itself if
  // it is the only one).
  const std::vector<StepMetrics>* reference_of(std::size_t i) const {
    const RunRecord& r = runs[i];
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < runs.size(); ++k)
      if (runs[k].policy == "float32" && runs[k].project_name == r.project_name &&
          runs[k].seed == r.seed && steps_of(k) && (!best || runs[k].id < runs[*best].id))
        best = k;
    return best ? steps_of(*best) : nullptr;
  }
};

std::optional<double> value_of(TradeoffAxis a, const Inputs& in, std::size_t i) {
  const RunRecord& r = in.runs[i];
  const std::vector<EpochMetrics>* epochs = i < in.epochs.size() ? &in.epochs[i] : nullptr;
  const double target = in.target;
  const StoredSummary& s = r.summary;
  switch (a) {
    case TradeoffAxis::ValAccuracy: return s.final_val_accuracy;
    case TradeoffAxis::ValLoss: return s.final_val_loss;
    case TradeoffAxis::SamplesPerS:  // 0: a run too short to time, stored before it had a rate
      if (!s.samples_per_s || !(*s.samples_per_s > 0)) return std::nullopt;
      return s.samples_per_s;
    case TradeoffAxis::PeakMemory:
      return s.peak_memory ? std::optional<double>(double(*s.peak_memory)) : std::nullopt;
    case TradeoffAxis::WastedSteps:
      if (!s.steps || *s.steps <= 0) return std::nullopt;
      return double(s.skipped_steps.value_or(0)) / double(*s.steps);
    case TradeoffAxis::TimeToTarget:
      if (epochs)
        for (const EpochMetrics& e : *epochs)
          if (e.val_accuracy >= target) return e.wall_time_s;
      return std::nullopt;
    case TradeoffAxis::Divergence: {
      const auto* mine = in.steps_of(i);
      const auto* ref = in.reference_of(i);
      if (!mine || !ref) return std::nullopt;
      return loss_distance(*mine, *ref);
    }
  }
  return std::nullopt;
}

// The predictions of axis `a` for run i: {what, value, policy label}. A
// prediction for another policy (fp16 from an fp32 or bf16 run) keeps the
// run's own value on the `other` axis only where that axis is the model's
// accuracy or loss, which a policy that trains alike keeps.
struct Predicted {
  std::string what;
  double value = 0;
  std::string group;  // "": the run's own group
};
std::vector<Predicted> predictions(TradeoffAxis a, TradeoffAxis other, const Inputs& in,
                                   std::size_t i) {
  std::vector<Predicted> out;
  const RunRecord& r = in.runs[i];
  const std::optional<Project> p = snapshot(r);
  if (!p) return out;
  try {
    if (a == TradeoffAxis::PeakMemory) {
      const MemoryEstimate e =
          estimate_memory(analyze_model(p->model, p->file), p->training, p->training.batch_size);
      out.push_back({"predicted peak memory (the model's estimate)", e.total(), ""});
    } else if (a == TradeoffAxis::WastedSteps && in.steps_of(i)) {
      const Policy policy = parse_policy(r.policy);
      const auto& steps = *in.steps_of(i);
      if (policy == Policy::MixedFloat16 || policy == Policy::Float16) {
        const ScalerSearch s = search_scaler(steps, policy, p->training.loss_scale);
        out.push_back({"what-if, fewest-skips scaler: " + describe_scaler(policy, s.best),
                       s.replay.wasted_fraction(), ""});
      } else if (other == TradeoffAxis::ValAccuracy || other == TradeoffAxis::ValLoss) {
        const ScalerReplay rp = replay_scaler(steps, Policy::MixedFloat16, LossScaleConfig{});
        out.push_back({"what-if from run " + std::to_string(r.id) +
                           ": mixed_float16, default scaler, at this run's " +
                           std::string(axis_key(other)),
                       rp.wasted_fraction(), std::string(policy_name(Policy::MixedFloat16))});
      }
    }
  } catch (const std::exception&) {
    // No record to replay, or a model that no longer analyses: no prediction.
  }
  return out;
}

// a beats b on `axis` beyond both spreads.
bool beyond(TradeoffAxis axis, double a_min, double a_max, double b_min, double b_max) {
  return higher_is_better(axis) ? a_min > b_max : a_max < b_min;
}

}  // namespace

std::string_view axis_key(TradeoffAxis a) {
  return row(a).key;
}

std::optional<TradeoffAxis> parse_axis(std::string_view key) {
  for (const AxisRow& r : kAxes)
    if (r.key == key) return r.axis;
  return std::nullopt;
}

bool higher_is_better(TradeoffAxis a) {
  return row(a).higher_better;
}

Tradeoff tradeoff(std::span<const RunRecord> runs,
                  std::span<const std::vector<EpochMetrics>> epochs, TradeoffAxis x,
                  TradeoffAxis y, double target, std::span<const std::vector<StepMetrics>> steps) {
  Tradeoff out;
  out.x_axis = x;
  out.y_axis = y;
  out.target = target;
  const Inputs in{runs, epochs, steps, target};
  std::map<std::string, TradeoffGroup> groups;
  std::vector<std::pair<std::string, TradeoffPrediction>> predicted;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    if (r.status != RunStatus::Finished && r.status != RunStatus::Stopped) continue;
    const std::string label = group_label(r);
    TradeoffGroup& g = groups[label];
    g.label = label;
    const TradeoffRun point{r.id, value_of(x, in, i), value_of(y, in, i)};
    g.runs.push_back(point);
    // Predictions replace one coordinate of the run's point.
    if (point.y)
      for (const Predicted& p : predictions(x, y, in, i))
        predicted.push_back({p.group.empty() ? label : p.group, {r.id, p.what, p.value, *point.y}});
    if (point.x)
      for (const Predicted& p : predictions(y, x, in, i))
        predicted.push_back({p.group.empty() ? label : p.group, {r.id, p.what, *point.x, p.value}});
  }
  for (auto& [label, p] : predicted) {
    TradeoffGroup& g = groups[label];
    g.label = label;
    g.predicted.push_back(std::move(p));
  }
  for (auto& [label, g] : groups) {
    double sx = 0, sy = 0;
    for (const TradeoffRun& r : g.runs) {
      if (!r.x || !r.y || !std::isfinite(*r.x) || !std::isfinite(*r.y)) continue;
      if (g.points == 0) {
        g.x_min = g.x_max = *r.x;
        g.y_min = g.y_max = *r.y;
      }
      g.x_min = std::min(g.x_min, *r.x);
      g.x_max = std::max(g.x_max, *r.x);
      g.y_min = std::min(g.y_min, *r.y);
      g.y_max = std::max(g.y_max, *r.y);
      sx += *r.x;
      sy += *r.y;
      ++g.points;
    }
    if (g.points > 0) {
      g.x = sx / g.points;
      g.y = sy / g.points;
    }
  }
  for (auto& [label, g] : groups) {
    if (g.points == 0) continue;
    for (const auto& [other_label, o] : groups) {
      if (&o == &g || o.points == 0) continue;
      if (beyond(x, o.x_min, o.x_max, g.x_min, g.x_max) &&
          beyond(y, o.y_min, o.y_max, g.y_min, g.y_max)) {
        g.dominated_by = other_label;
        break;
      }
    }
    g.frontier = !g.dominated_by;
  }
  for (auto& [label, g] : groups) out.groups.push_back(std::move(g));
  std::stable_sort(out.groups.begin(), out.groups.end(),
                   [](const TradeoffGroup& a, const TradeoffGroup& b) {
                     return a.frontier && !b.frontier;
                   });
  return out;
}

Tradeoff load_tradeoff(RunStore& store, const RunFilter& filter, TradeoffAxis x, TradeoffAxis y,
                       double target) {
  const std::vector<RunRecord> runs = store.list_runs(filter);
  const auto uses = [&](TradeoffAxis a) { return x == a || y == a; };
  std::vector<std::vector<EpochMetrics>> epochs;
  std::vector<std::vector<StepMetrics>> steps;
  if (uses(TradeoffAxis::TimeToTarget))
    for (const RunRecord& r : runs) epochs.push_back(store.epoch_metrics(r.id));
  if (uses(TradeoffAxis::Divergence) || uses(TradeoffAxis::WastedSteps))
    for (const RunRecord& r : runs) steps.push_back(store.step_metrics(r.id));
  return tradeoff(runs, epochs, x, y, target, steps);
}

}  // namespace mantissa
