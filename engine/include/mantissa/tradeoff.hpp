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
  Divergence,      // mean relative loss distance to a float32 run of the same project and
                   // seed over the last tenth of the steps (lower)
};
std::string_view axis_key(TradeoffAxis a);  // "val_accuracy", ...
std::optional<TradeoffAxis> parse_axis(std::string_view key);
bool higher_is_better(TradeoffAxis a);

struct TradeoffRun {
  std::int64_t run_id = 0;
  std::optional<double> x, y;  // empty: the run has no such value
};

// A point the run did not measure: one coordinate predicted (the peak
// memory from the model's estimate; the wasted steps the what-if replays
// under another scaler or policy), the other the run's own. Drawn hollow.
struct TradeoffPrediction {
  std::int64_t run_id = 0;
  std::string what;  // "predicted peak memory", "mixed_float16, default scaler (what-if)", ...
  double x = 0, y = 0;
};

struct TradeoffGroup {
  std::string label;  // "mixed_float16", "mixed_float16, fc1 pinned"
  std::vector<TradeoffRun> runs;
  // Over the runs with both values: mean, and min / max (the spread).
  double x = 0, x_min = 0, x_max = 0, y = 0, y_min = 0, y_max = 0;
  int points = 0;
  bool frontier = false;
  std::optional<std::string> dominated_by;  // the group that beats it beyond the spread
  std::vector<TradeoffPrediction> predicted;
};

struct Tradeoff {
  TradeoffAxis x_axis = TradeoffAxis::SamplesPerS, y_axis = TradeoffAxis::ValAccuracy;
  double target = 0;  // TimeToTarget's accuracy
  std::vector<TradeoffGroup> groups;  // frontier first, then by label
};

// The runs' points (finished and stopped runs; others are left out), grouped
// by policy and pins. `epochs` gives each run's epoch metrics, for
// TimeToTarget; `steps` each run's steps, for Divergence and the what-if's
// predictions on the WastedSteps axis (either may be empty otherwise).
Tradeoff tradeoff(std::span<const RunRecord> runs,
                  std::span<const std::vector<EpochMetrics>> epochs, TradeoffAxis x,
                  TradeoffAxis y, double target = 0.9,
                  std::span<const std::vector<StepMetrics>> steps = {});

// The runs `filter` selects, with what the axes need read from `store`.
Tradeoff load_tradeoff(RunStore& store, const RunFilter& filter, TradeoffAxis x, TradeoffAxis y,
                       double target = 0.9);

}  // namespace mantissa
