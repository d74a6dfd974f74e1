#pragma once
// `mantissa bench WORKLOAD --processes 1,2,...`: data-parallel weak scaling
// on the CPU (docs/data-parallel.md), Gloo over loopback.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/bench_workloads.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/precision.hpp"

namespace mantissa::cli {

// One world size's measurement: W ranks of `w.batch` rows each (weak
// scaling: the global batch grows with W), per step the time each part took.
struct ScalingResult {
  int world = 1;
  std::int64_t global_batch = 0;
  double steps_per_s = 0;
  double exposed_comm_s = 0;  // per step: waiting for the sum after the backward pass
  double comm_s = 0;          // per step: the sum itself, hidden or not
  double slowest_pass_s = 0;  // per step: the slowest rank's forward and backward
};

nlohmann::ordered_json scaling_json(const ScalingResult& r);

// Runs `steps` timed steps (after `warmup`) on this process as one rank of
// `ranks`, or alone without it.
ScalingResult scaling_run(const Workload& w, Policy policy, Collective* ranks, std::int64_t steps,
                          std::int64_t warmup, std::int64_t bucket_bytes);

// Each world size in turn, W > 1 as ranks this process starts (each running
// scaling_run as a rank, rank 0 writing its result to a file); prints a
// table, or returns the JSON when `json`: efficiency = samples/s(W) / (W ×
// samples/s(1)).
nlohmann::ordered_json bench_scaling(const Workload& w, const std::vector<int>& worlds,
                                     Policy policy, std::int64_t steps, std::int64_t warmup,
                                     std::int64_t bucket_bytes, bool json);

}  // namespace mantissa::cli
