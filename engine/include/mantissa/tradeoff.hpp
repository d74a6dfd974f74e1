#pragma once
// The precision trade-off (docs/tradeoff.md): stored runs as points on two
// chosen axes, grouped by policy (per-layer pins included) with their
// replicates, and the Pareto frontier, where a group is dominated only when
// another is better on both axes beyond both groups' spread.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mantissa/store.hpp"

namespace mantissa {

enum class TradeoffAxis {
  ValAccuracy,     // final validation accuracy (higher is better)
  ValLoss,         // final validation loss (lower)
  TimeToTarget,    // wall seconds to the first evaluation at or above a target accuracy (lower)
  SamplesPerS,     // steady-state throughput (higher)
  PeakMemory,      // bytes (lower)
  WastedSteps,     // skipped / steps (lower)
};
std::string_view axis_key(TradeoffAxis a);  // "val_accuracy", ...
std::optional<TradeoffAxis> parse_axis(std::string_view key);
bool higher_is_better(TradeoffAxis a);

struct TradeoffRun {
  std::int64_t run_id = 0;
  std::optional<double> x, y;  // empty: the run has no such value
};

struct TradeoffGroup {
  std::string label;  // "mixed_float16", "mixed_float16, fc1 pinned"
  std::vector<TradeoffRun> runs;
  // Over the runs with both values: mean, and min / max (the spread).
  double x = 0, x_min = 0, x_max = 0, y = 0, y_min = 0, y_max = 0;
  int points = 0;
  bool frontier = false;
  std::optional<std::string> dominated_by;  // the group that beats it beyond the spread
};

struct Tradeoff {
  TradeoffAxis x_axis = TradeoffAxis::SamplesPerS, y_axis = TradeoffAxis::ValAccuracy;
  double target = 0;  // TimeToTarget's accuracy
  std::vector<TradeoffGroup> groups;  // frontier first, then by label
};

// The runs' points (finished and stopped runs; others are left out), grouped
// by policy and pins. `epochs` gives each run's epoch metrics, for
// TimeToTarget (may be empty otherwise).
Tradeoff tradeoff(std::span<const RunRecord> runs,
                  std::span<const std::vector<EpochMetrics>> epochs, TradeoffAxis x,
                  TradeoffAxis y, double target = 0.9);

}  // namespace mantissa
