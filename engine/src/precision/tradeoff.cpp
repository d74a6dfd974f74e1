// The precision trade-off (tradeoff.hpp).
#include "mantissa/tradeoff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "mantissa/model.hpp"

namespace mantissa {

namespace {

struct AxisRow {
  TradeoffAxis axis;
  std::string_view key;
  bool higher_better;
};

constexpr std::array<AxisRow, 6> kAxes{{
    {TradeoffAxis::ValAccuracy, "val_accuracy", true},
    {TradeoffAxis::ValLoss, "val_loss", false},
    {TradeoffAxis::TimeToTarget, "time_to_target", false},
    {TradeoffAxis::SamplesPerS, "samples_per_s", true},
    {TradeoffAxis::PeakMemory, "peak_memory", false},
    {TradeoffAxis::WastedSteps, "wasted_steps", false},
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

std::optional<double> value_of(TradeoffAxis a, const RunRecord& r,
                               const std::vector<EpochMetrics>* epochs, double target) {
  const StoredSummary& s = r.summary;
  switch (a) {
    case TradeoffAxis::ValAccuracy: return s.final_val_accuracy;
    case TradeoffAxis::ValLoss: return s.final_val_loss;
    case TradeoffAxis::SamplesPerS: return s.samples_per_s;
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
  }
  return std::nullopt;
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
                  TradeoffAxis y, double target) {
  Tradeoff out;
  out.x_axis = x;
  out.y_axis = y;
  out.target = target;
  std::map<std::string, TradeoffGroup> groups;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    if (r.status != RunStatus::Finished && r.status != RunStatus::Stopped) continue;
    const std::vector<EpochMetrics>* e = i < epochs.size() ? &epochs[i] : nullptr;
    const std::string label = group_label(r);
    TradeoffGroup& g = groups[label];
    g.label = label;
    g.runs.push_back({r.id, value_of(x, r, e, target), value_of(y, r, e, target)});
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

}  // namespace mantissa
