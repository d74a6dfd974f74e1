// Data-parallel scaling for `mantissa bench --processes` (bench_scaling.hpp).
#include "cli/bench_scaling.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/bench_step.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cli {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

Json scaling_json(const ScalingResult& r) {
  return {{"world", r.world},
          {"global_batch", r.global_batch},
          {"steps_per_s", r.steps_per_s},
          {"samples_per_s", r.steps_per_s * double(r.global_batch)},
          {"exposed_comm_s", r.exposed_comm_s},
          {"comm_s", r.comm_s},
          {"slowest_pass_s", r.slowest_pass_s}};
}

// Runs on this process as one rank of `ranks` (or alone without it).
ScalingResult scaling_run(const Workload& w, Policy policy, Collective* ranks, std::int64_t steps,
                          std::int64_t warmup, std::int64_t bucket_bytes) {
  const int world = ranks ? ranks->world() : 1;
  Project p = workload_project(w);
  p.training.policy = policy;
  p.training.numerics.enabled = false;
  p.training.batch_size = w.batch * world;
  auto backend = create_backend("cpu");
  BenchStep step(p, *backend, ranks, bucket_bytes);
  const Dataset pool = random_pool(w);
  DataLoader loader(pool, p.training.batch_size, /*shuffle=*/true, /*seed=*/0, /*drop_last=*/true);
  for (std::int64_t i = 0; i < warmup; ++i) step.enqueue(loader.next());
  step.drain();
  ScalingResult r;
  r.world = world;
  r.global_batch = p.training.batch_size;
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < steps; ++i) {
    step.enqueue(loader.next());
    if (ranks) {
      const StepAgreement& a = step.step().agreed();
      r.exposed_comm_s += a.reduce_s;
      r.comm_s += a.comm_s;
      r.slowest_pass_s += a.slowest_pass_s;
    }
  }
  step.drain();
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  r.steps_per_s = double(steps) / dt;
  r.exposed_comm_s /= double(steps);
  r.comm_s /= double(steps);
  r.slowest_pass_s /= double(steps);
  return r;
}

// `bench W --processes 1,2`: each world size in turn, W > 1 as ranks this
// process starts (each running scaling_run as a rank and rank 0 writing its
// result to a file); prints efficiency = samples/s(W) / (W × samples/s(1)).
Json bench_scaling(const Workload& w, const std::vector<int>& worlds, Policy policy,
                   std::int64_t steps, std::int64_t warmup, std::int64_t bucket_bytes, bool json) {
  const int largest = *std::max_element(worlds.begin(), worlds.end());
  const int threads = threads_per_rank(largest);
  std::cerr << "bench " << w.name << " data parallel (Gloo over loopback): " << w.batch
            << " rows and " << threads << " thread" << (threads == 1 ? "" : "s")
            << " per rank, " << policy_name(policy) << ", " << warmup << " warm-up and " << steps
            << " timed steps per world size, gradient buckets of "
            << bytes_text(double(bucket_bytes)) << "\n";
  std::vector<ScalingResult> results;
  for (int world : worlds) {
    if (world == 1) {
      omp_set_num_threads(threads);
      results.push_back(scaling_run(w, policy, nullptr, steps, warmup, bucket_bytes));
    } else {
      remove_orphaned_temps("mantissa-bench-");  // of a bench killed before its cleanup
      const std::string file = make_process_temp("mantissa-bench-", TempKind::File).string();
      const char* name = file.c_str();
      LaunchSpec spec;
      spec.argv = invocation();
      spec.processes = world;
      spec.threads = threads;
      spec.env = {{"MANTISSA_BENCH_OUT", name}};
      const LaunchResult launched = launch_ranks(spec);
      std::ifstream in(name);
      const Json got = Json::parse(in, nullptr, false);
      std::remove(name);
      if (!launched.ok) throw Error("bench with " + std::to_string(world) + " ranks: " + launched.failure);
      if (got.is_discarded()) throw Error("bench with " + std::to_string(world) + " ranks: rank 0 left no result");
      ScalingResult r;
      r.world = world;
      r.global_batch = got["global_batch"];
      r.steps_per_s = got["steps_per_s"];
      r.exposed_comm_s = got["exposed_comm_s"];
      r.comm_s = got["comm_s"];
      r.slowest_pass_s = got["slowest_pass_s"];
      results.push_back(r);
    }
    std::cerr << "  " << world << " rank" << (world == 1 ? "" : "s") << ": "
              << with_thousands(std::llround(results.back().steps_per_s * double(results.back().global_batch)))
              << " samples/s\n";
  }
  double base = 0;
  for (const ScalingResult& r : results)
    if (r.world == 1) base = r.steps_per_s * double(r.global_batch);
  Json out = {{"workload", w.name}, {"policy", policy_name(policy)}, {"rows_per_rank", w.batch},
              {"threads_per_rank", threads}, {"engine", "gloo"}, {"bucket_bytes", bucket_bytes},
              {"results", Json::array()}};
  for (const ScalingResult& r : results) {
    Json j = scaling_json(r);
    const double samples = r.steps_per_s * double(r.global_batch);
    j["efficiency"] = base > 0 ? Json(samples / (double(r.world) * base)) : Json(nullptr);
    out["results"].push_back(j);
  }
  if (json) return out;
  Table t({"ranks", "global batch", "samples/s", "efficiency", "step", "passes (slowest)",
           "sum", "exposed"},
          {true, true, true, true, true, true, true, true});
  t.rule();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ScalingResult& r = results[i];
    const Json& j = out["results"][i];
    t.add({std::to_string(r.world), with_thousands(r.global_batch),
           with_thousands(std::llround(j["samples_per_s"].get<double>())),
           j["efficiency"].is_null() ? "-" : percent_text(j["efficiency"].get<double>(), 1),
           fixed(1e3 / r.steps_per_s, 2) + " ms",
           r.world > 1 ? fixed(1e3 * r.slowest_pass_s, 2) + " ms" : "-",
           r.world > 1 ? fixed(1e3 * r.comm_s, 2) + " ms" : "-",
           r.world > 1 ? fixed(1e3 * r.exposed_comm_s, 2) + " ms" : "-"});
  }
  std::cout << "bench " << w.name << " data parallel on " << create_backend("cpu")->description() << "\n";
  t.print(std::cout);
  std::cout << "efficiency: samples/s over ranks × samples/s of one rank (weak scaling); sum: the "
               "gradient all-reduce per step; exposed: the part of it the step waited for after "
               "its backward pass\n\n";
  return out;
}

}  // namespace mantissa::cli
