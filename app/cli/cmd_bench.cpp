// mantissa bench WORKLOAD...: training throughput on the peer workloads of
// shared/peers/README.md (mlp, cnn, big, gpt), per precision policy, on random data
// held in memory. Nothing is stored.
//
// The timed step is the Trainer's step, call for call (upload, cast weights,
// forward, loss × S, backward, unscale + check + norm, optimizer, scaler
// update, one asynchronous read-back collected a step later; a captured step
// on a GPU), fed by a DataLoader over an in-memory random pool:
// the Trainer itself only trains on a project's dataset, and the bench must
// not need one.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/bench_scaling.hpp"
#include "cli/bench_step.hpp"
#include "cli/bench_workloads.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/model.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/train_step.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cli {

namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// --threads beyond this is a typo, not a measurement (each is an OS thread).
constexpr int kMaxThreads = 1024;

constexpr int kDefaultWindows = 3;
using PolicyResultTimes = std::vector<double>;  // steps/s per window

// Three significant digits at least: 412.5, 41.25, 0.0322.
double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// The value below which a share q of v lies (linear between neighbours).
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double at = q * double(v.size() - 1);
  const auto i = std::size_t(at);
  return i + 1 < v.size() ? v[i] + (at - double(i)) * (v[i + 1] - v[i]) : v[i];
}

// The share of step time per-tensor numerics add: per window, the step time
// with them over the step time without, taken in the same turn (so a noisy
// machine slows both alike); the median over windows, and the middle half of
// the windows' values (how far one run's figure can be trusted).
struct NumericsCost {
  double median = 0, lower = 0, upper = 0;
  std::size_t windows = 0;
};
NumericsCost numerics_cost(const PolicyResultTimes& on, const PolicyResultTimes& off) {
  std::vector<double> ratios;
  for (std::size_t k = 0; k < on.size() && k < off.size(); ++k)
    if (on[k] > 0 && off[k] > 0) ratios.push_back(off[k] / on[k] - 1.0);
  return {median(ratios), quantile(ratios, 0.25), quantile(ratios, 0.75), ratios.size()};
}

std::string steps_text(double steps_per_s) {
  return fixed(steps_per_s, steps_per_s >= 100 ? 1 : steps_per_s >= 1 ? 2 : 4);
}

// A policy, with per-tensor numerics on or off (their cost is measured as
// the difference).
struct Variant {
  Policy policy = Policy::Float32;
  bool numerics = true;
};

struct PolicyResult {
  Policy policy = Policy::Float32;
  bool numerics = true;
  std::vector<double> steps_per_s;  // per window
  double median_steps_per_s = 0;
  std::int64_t peak_memory = 0;
  std::int64_t activation_memory = 0;  // peak above the model state (weights, grads, moments)
  std::int64_t skipped = 0;
  bool can_capture = false;  // the backend records steps (CUDA graphs)
  bool captured = false;     // the step replayed a recording
  std::int64_t replays = 0;
  std::string capture_note;
  double final_loss = 0;
  double final_scale = 1;
  std::vector<OpPath> paths;  // which library path each op took (GPU)
};

Project with_variant(Project p, Variant v) {
  p.training.policy = v.policy;
  p.training.numerics.enabled = v.numerics;
  return p;
}

std::string variant_name(Policy policy, bool numerics) {
  return std::string(policy_name(policy)) + (numerics ? "" : " (numerics off)");
}

// One policy's model, optimizer state and data stream on a backend of its own
// (so peak memory and primitive caches are per policy).
class PolicyBench {
 public:
  PolicyBench(const Workload& w, Project p, Variant v, const std::string& device,
              const Dataset& pool, int windows)
      : backend_(create_backend(device, {.allow_tf32 = p.training.allow_tf32})),
        step_(with_variant(std::move(p), v), *backend_),
        loader_(pool, w.batch, /*shuffle=*/true, /*seed=*/0, /*drop_last=*/true) {
    result_.policy = v.policy;
    result_.numerics = v.numerics;
    result_.steps_per_s.assign(std::size_t(windows), 0.0);
    state_bytes_ = std::int64_t(backend_->memory_stats().in_use);
    backend_->reset_peak_memory();
  }

  // Enqueues `steps` steps and waits for the last.
  void run(std::int64_t steps) {
    for (std::int64_t i = 0; i < steps; ++i) step_.enqueue(loader_.next());
    state_ = step_.drain();
  }

  void timed_window(int k, std::int64_t steps) {
    const auto t0 = Clock::now();
    run(steps);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    result_.steps_per_s.at(std::size_t(k)) = double(steps) / dt;
  }

  PolicyResult finish() {
    result_.median_steps_per_s = median(result_.steps_per_s);
    result_.peak_memory = std::int64_t(backend_->memory_stats().peak);
    result_.activation_memory = std::max<std::int64_t>(0, result_.peak_memory - state_bytes_);
    result_.can_capture = backend_->can_capture();
    result_.captured = step_.step().captured();
    result_.replays = step_.step().replays();
    result_.capture_note = step_.step().capture_note();
    result_.skipped = state_.skipped_total;
    result_.final_loss = state_.loss;
    result_.final_scale = state_.scale;
    result_.paths = backend_->op_paths();
    return result_;
  }

 private:
  std::unique_ptr<Backend> backend_;
  BenchStep step_;
  DataLoader loader_;
  StepState state_{};
  std::int64_t state_bytes_ = 0;
  PolicyResult result_;
};

// Policies in one group are timed window by window in turn, so that a noisy
// machine slows them alike; `big` runs one policy at a time to bound memory.
std::vector<PolicyResult> bench_group(const Workload& w, const Project& p,
                                      const std::vector<Variant>& group, const std::string& device,
                                      const Dataset& pool, std::int64_t warmup,
                                      int windows, std::int64_t window) {
  std::vector<std::unique_ptr<PolicyBench>> benches;
  for (Variant v : group) {
    benches.push_back(std::make_unique<PolicyBench>(w, p, v, device, pool, windows));
    benches.back()->run(warmup);
  }
  for (int k = 0; k < windows; ++k)
    for (auto& b : benches) b->timed_window(k, window);
  std::vector<PolicyResult> out;
  for (auto& b : benches) {
    out.push_back(b->finish());
    std::cerr << "  " << variant_name(out.back().policy, out.back().numerics) << ": "
              << steps_text(out.back().median_steps_per_s) << " steps/s\n";
  }
  return out;
}

// 3 × the forward FLOPs of the linear and convolution layers, per step.
std::int64_t model_flops_per_step(const ModelSummary& summary, std::int64_t batch) {
  std::int64_t forward = 0;
  for (const LayerInfo& l : summary.layers)
    if (l.kind == LayerKind::Linear || l.kind == LayerKind::Conv2d) forward += l.forward_flops;
  return 3 * forward * batch;
}

struct BenchFlags {
  std::vector<std::string> workloads;
  std::string policies = "float32,mixed_float16,mixed_bfloat16";
  std::string backend = "cpu";
  std::int64_t steps = 0, warmup = 0;
  int threads = 0;
  bool json = false;
  bool tf32 = false;
  bool no_graphs = false;
  std::string numerics = "on";  // on, off, both (each policy twice: the cost of numerics)
  int windows = kDefaultWindows;
  std::string processes;  // "1,2": data-parallel scaling
  double bucket_mb = 25;  // its gradient buckets
};

Json paths_json(const std::vector<OpPath>& paths) {
  Json out = Json::array();
  for (const OpPath& p : paths)
    out.push_back({{"op", p.op},
                   {"shape", p.shape},
                   {"path", p.path},
                   {"fallback", p.fallback},
                   {"calls", p.calls}});
  return out;
}

// Times one workload's policies; prints the table (unless --json) and
// returns the JSON object.
Json bench_workload(const Workload& w, const BenchFlags& f, const std::vector<Policy>& policies,
                    const std::string& device, std::int64_t total, std::int64_t warm) {
  const std::int64_t window = total / f.windows;
  Project project = workload_project(w);
  project.training.allow_tf32 = f.tf32;
  project.training.capture_graphs = !f.no_graphs;
  const ModelSummary summary = analyze_model(project.model, project.file);
  const std::int64_t flops = model_flops_per_step(summary, w.batch);
  // The model's own estimate of a step's activations, beside the measured ones.
  const auto estimated = [&](Policy policy) {
    return summary.training_activation_bytes[summary_index(policy)] * w.batch;
  };
  std::cerr << "bench " << w.name << ": " << w.description << ", batch " << w.batch
            << ", SGD lr 0.05 momentum 0.9\n"
            << f.backend << ": " << device << "; " << warm << " warm-up step"
            << (warm == 1 ? "" : "s") << ", then " << f.windows << " windows of " << window
            << (window == 1 ? " step" : " steps") << " per policy"
            << (w.name == "big" || w.name == "gpt2" || policies.size() == 1 ? "" : ", policies taking turns") << "\n";
  const Dataset pool = random_pool(w);

  std::vector<Variant> variants;
  for (Policy policy : policies) {
    if (f.numerics != "off") variants.push_back({policy, true});
    if (f.numerics != "on") variants.push_back({policy, false});
  }
  std::vector<PolicyResult> results;
  if (w.name == "big" || w.name == "gpt2") {  // one policy at a time bounds memory
    for (Variant v : variants)
      for (auto& r : bench_group(w, project, {v}, f.backend, pool, warm, f.windows, window))
        results.push_back(r);
  } else {
    results = bench_group(w, project, variants, f.backend, pool, warm, f.windows, window);
  }

  auto tflops = [&](const PolicyResult& r) {
    return r.median_steps_per_s * double(flops) / 1e12;
  };
  Json out = {{"workload", w.name},      {"description", w.description},
              {"batch", w.batch},        {"backend", f.backend},
              {"device", device},        {"warmup_steps", warm},
              {"window_steps", window},  {"model_flops_per_step", flops},
              {"results", Json::array()}};
  for (const auto& r : results) {
    std::int64_t fallback_calls = 0, library_calls = 0;
    for (const OpPath& p : r.paths) (p.fallback ? fallback_calls : library_calls) += p.calls;
    out["results"].push_back({{"policy", policy_name(r.policy)},
                              {"numerics", r.numerics},
                              {"steps_per_s_windows", r.steps_per_s},
                              {"steps_per_s", r.median_steps_per_s},
                              {"samples_per_s", r.median_steps_per_s * double(w.batch)},
                              {"model_tflops", tflops(r)},
                              {"peak_memory", r.peak_memory},
                              {"activation_memory", r.activation_memory},
                              {"estimated_activation_memory", estimated(r.policy)},
                              {"captured", r.captured},
                              {"graph_replays", r.replays},
                              {"capture_note", r.capture_note},
                              {"skipped_steps", r.skipped},
                              {"final_loss", r.final_loss},
                              {"final_loss_scale", r.final_scale},
                              {"library_path_calls", library_calls},
                              {"fallback_path_calls", fallback_calls},
                              {"op_paths", paths_json(r.paths)}});
  }
  for (const auto& on : results)
    for (const auto& off : results)
      if (on.numerics && !off.numerics && off.policy == on.policy) {
        const NumericsCost c = numerics_cost(on.steps_per_s, off.steps_per_s);
        out["numerics_cost"][policy_name(on.policy)] = c.median;
        out["numerics_cost_middle_half"][policy_name(on.policy)] = {c.lower, c.upper};
      }
  if (f.json) return out;

  Table t({"policy", "steps/s", "min - max", "samples/s", "TFLOP/s", "peak memory", "activations",
           "estimated", "skipped", "final loss", "scale"},
          {false, true, true, true, true, true, true, true, true, true, true});
  t.rule();
  for (const auto& r : results) {
    const auto [lo, hi] = std::minmax_element(r.steps_per_s.begin(), r.steps_per_s.end());
    t.add({variant_name(r.policy, r.numerics), steps_text(r.median_steps_per_s),
           steps_text(*lo) + " - " + steps_text(*hi),
           with_thousands(std::llround(r.median_steps_per_s * double(w.batch))),
           fixed(tflops(r), 3), bytes_text(r.peak_memory), bytes_text(r.activation_memory),
           bytes_text(double(estimated(r.policy))), with_thousands(r.skipped), fixed(r.final_loss, 4), loss_scale_text(r.final_scale)});
  }
  std::cout << "bench " << w.name << " on " << device << "\n";
  t.print(std::cout);
  std::cout << "steps/s: median of " << f.windows << " windows; TFLOP/s: 3 × forward FLOPs of "
            << "the linear and convolution layers (" << fixed(double(flops) / 1e9, 2)
            << " GFLOP per step); activations: peak memory above weights, gradients and "
            << "optimizer state; estimated: the model's own estimate of them (model show)\n";
  // The cost of per-tensor numerics: the share of step time they add.
  for (const auto& on : results) {
    if (!on.numerics) continue;
    for (const auto& off : results)
      if (!off.numerics && off.policy == on.policy) {
        const NumericsCost c = numerics_cost(on.steps_per_s, off.steps_per_s);
        std::cout << policy_name(on.policy) << ": per-tensor numerics cost "
                  << fixed(100.0 * c.median, 1) << "% of step time (median of " << c.windows
                  << " paired windows; the middle half " << fixed(100.0 * c.lower, 1) << " to "
                  << fixed(100.0 * c.upper, 1) << "%)\n";
      }
  }
  for (const auto& r : results) {
    if (r.captured)
      std::cout << policy_name(r.policy) << ": step captured once, replayed " << r.replays
                << " times\n";
    else if (r.can_capture)
      std::cout << policy_name(r.policy) << ": " << r.capture_note << "\n";
    for (const OpPath& p : r.paths)
      if (p.fallback)
        std::cout << policy_name(r.policy) << ": " << p.op << " " << p.shape << ": " << p.path
                  << "\n";
  }
  std::cout << "\n";
  return out;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  auto* cmd = app.add_subcommand(
      "bench", "Training throughput per policy on the peer workloads (mlp, cnn, big, gpt, gpt2)");
  cmd->add_option("workload", f->workloads,
                  "mlp, cnn, big, gpt or gpt2 (see shared/peers/README.md); several run one after another")
      ->required();
  cmd->add_option("--policies", f->policies, "Comma-separated policies")->capture_default_str();
  cmd->add_option("--backend", f->backend, "Device: cpu, cuda, cuda:N")->capture_default_str();
  auto* steps = cmd->add_option(
      "--steps", f->steps, "Timed steps, split into 3 windows (default: mlp 900, cnn 450, big 3)");
  auto* warmup = cmd->add_option("--warmup", f->warmup, "Untimed steps first (default: 20; big 1)");
  auto* threads = cmd->add_option("--threads", f->threads, "CPU threads (default: all)");
  cmd->add_flag("--tf32", f->tf32, "float32 on TF32 tensor cores (GPU; off by default)");
  cmd->add_flag("--no-graphs", f->no_graphs,
                "Run every op as it is called instead of replaying a captured step (GPU)");
  cmd->add_option("--numerics", f->numerics,
                  "Per-tensor numerics: on, off, or both (each policy twice, with its cost)")
      ->check(CLI::IsMember({"on", "off", "both"}))
      ->capture_default_str();
  cmd->add_option("--windows", f->windows,
                  "Timed windows per policy, taken in turns; medians are over windows (default: 3)");
  cmd->add_flag("--json", f->json, "Print JSON instead of a table");
  cmd->add_option("--processes", f->processes,
                  "Data-parallel scaling on the CPU: these world sizes in turn (e.g. 1,2), each "
                  "rank with the workload's batch (first policy of --policies)");
  cmd->add_option("--bucket-mb", f->bucket_mb,
                  "With --processes: gradient buckets of this many MB, each summed while the "
                  "backward pass goes on (0: one sum after it)")
      ->capture_default_str();
  cmd->callback([f, steps, warmup, threads] {
    std::vector<const Workload*> chosen;
    for (const std::string& name : f->workloads) chosen.push_back(&find_workload(name));
    const std::vector<Policy> policies = parse_policy_list("--policies", f->policies);
    if (f->windows < 1)
      throw InputError("--windows must be at least 1, got " + std::to_string(f->windows));
    if (steps->count() && f->steps < f->windows)
      throw InputError("--steps must be at least --windows (" + std::to_string(f->windows) +
                       "), got " + std::to_string(f->steps));
    if (f->warmup < 0) throw InputError("--warmup must be at least 0, got " + std::to_string(f->warmup));
    if (threads->count()) {
      if (f->threads < 1 || f->threads > kMaxThreads)
        throw InputError("--threads must be from 1 to " + std::to_string(kMaxThreads) + ", got " +
                         std::to_string(f->threads));
      omp_set_num_threads(
          f->threads);  // the CPU backend's parallel regions follow this thread's setting
    }
    if (!(f->bucket_mb >= 0) || !std::isfinite(f->bucket_mb))
      throw InputError("--bucket-mb must be a number of MB >= 0");
    if (!f->processes.empty()) {
      if (chosen.size() != 1) throw InputError("--processes measures one workload at a time");
      const Workload& w = *chosen[0];
      const std::int64_t total = steps->count() ? f->steps : w.default_steps / 3;
      const std::int64_t warm = warmup->count() ? f->warmup : w.default_warmup;
      const auto bucket_bytes = std::int64_t(std::llround(f->bucket_mb * 1024 * 1024));
      // A rank started by the scaling run below: measure, rank 0 reports.
      if (const auto rank = resolve_rank({}, [](const char* n) { return std::getenv(n); });
          rank && rank->world > 1) {
        const std::unique_ptr<Collective> group =
            join_gloo(join_spec(*rank, std::chrono::seconds(60)));
        const ScalingResult r =
            scaling_run(w, policies.front(), group.get(), total, warm, bucket_bytes);
        if (const char* out = std::getenv("MANTISSA_BENCH_OUT"); out && rank->rank == 0)
          std::ofstream(out) << scaling_json(r).dump() << "\n";
        return;
      }
      std::vector<int> worlds;
      std::stringstream list(f->processes);
      for (std::string item; std::getline(list, item, ',');) {
        const std::optional<std::int64_t> v = whole_number(item);
        if (!v || *v < 1 || *v > kMaxLocalRanks)
          throw InputError("--processes: '" + item + "' is not a number of ranks from 1 to " +
                           std::to_string(kMaxLocalRanks));
        worlds.push_back(int(*v));
      }
      if (f->backend != "cpu")
        throw InputError("--processes measures CPU ranks; on GPUs train with --devices");
      const Json out = bench_scaling(w, worlds, policies.front(), total, warm, bucket_bytes, f->json);
      if (f->json) std::cout << out.dump(2) << "\n";
      return;
    }
    const std::string device = create_backend(f->backend)->description();
    Json all = Json::array();
    for (const Workload* w : chosen) {
      const std::int64_t total = steps->count() ? f->steps : w->default_steps;
      const std::int64_t warm = warmup->count() ? f->warmup : w->default_warmup;
      Json out = bench_workload(*w, *f, policies, device, total, warm);
      if (f->json) all.push_back(std::move(out));
    }
    // One workload: its object, as before; several: an array of them.
    if (f->json) std::cout << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  });
}

}  // namespace mantissa::cli
