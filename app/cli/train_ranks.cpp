// The data-parallel face of train and resume (docs/data-parallel.md): the
// rank flags, and running a job as the launcher of its ranks, as one rank,
// or as the whole run.
#include "cli/train_ranks.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>
#include <nlohmann/json.hpp>

#include "mantissa/backend.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/store.hpp"

namespace mantissa::cli {

void add_rank_options(CLI::App* cmd, RankOptions& o) {
  o.processes_option = cmd->add_option(
      "--processes", o.processes,
      "Train on N processes of this machine (data parallel, CPU): Mantissa starts them and "
      "hosts their rendezvous");
  cmd->add_option("--devices", o.devices,
                  "Train on these GPUs, one process each (data parallel), e.g. 0,1,2,3");
  cmd->add_option("--rank", o.flags.rank,
                  "This process's rank when something else starts the ranks (else read from "
                  "MANTISSA_RANK, torchrun, mpirun or srun)");
  cmd->add_option("--world-size", o.flags.world, "How many ranks there are (with --rank)");
  cmd->add_option("--master-addr", o.flags.master_addr,
                  "Where rank 0 hosts the rendezvous (default $MASTER_ADDR or 127.0.0.1)");
  cmd->add_option("--master-port", o.flags.master_port,
                  "Its port (default $MASTER_PORT or 29500)")
      ->check(number_in(1, 65535));
  cmd->add_option("--reduce-order", o.reduce_order,
                  "ring: the fastest gradient sum; rank: summed in rank order, bit-identical to "
                  "--virtual-ranks with as many shards")
      ->default_val("ring");
  cmd->add_option("--bucket-mb", o.bucket_mb,
                  "Sum the gradients in buckets of this many MB, each started while the "
                  "backward pass goes on (0: one sum after it)")
      ->default_val(25);
  cmd->add_option("--collective-timeout", o.timeout_s,
                  "Seconds a rank waits for the others (joining, and each step) before the run "
                  "fails naming the stall")
      ->default_val(60);
}

namespace {

using Json = nlohmann::ordered_json;

// The devices of --devices, as backends: "0,1" -> cuda:0, cuda:1.
std::vector<std::string> device_backends(const std::string& list) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos)
      throw InputError("--devices: '" + item + "' is not a GPU number (write e.g. 0,1,2,3)");
    out.push_back("cuda:" + item);
    at = comma + 1;
  }
  return out;
}

// Every GPU of --devices usable here, or an InputError naming the first that
// is not and why.
void check_devices_available(const std::string& list, const std::vector<std::string>& backends) {
  const std::vector<DeviceInfo> devices = list_devices();
  for (const std::string& b : backends) {
    std::string why = "this machine has no " + b;
    for (const DeviceInfo& d : devices) {
      if (d.name != b) continue;
      if (d.available) why.clear();
      else why = d.reason;
    }
    if (!why.empty()) throw InputError("--devices " + list + ": " + b + " is not available: " + why);
  }
}

// This process's part in a data-parallel run: nothing (one process), the
// launcher of N ranks, or one rank.
struct RankRole {
  std::optional<RankEnv> rank;   // this process is a rank
  bool launch = false;           // this process starts the ranks
  std::vector<std::string> backends;
  int processes = 0;
};

RankRole rank_role(const RankOptions& o) {
  RankRole role;
  role.rank = resolve_rank(o.flags, [](const char* name) { return std::getenv(name); });
  if (role.rank && role.rank->world == 1) role.rank.reset();
  if (o.processes_option && o.processes_option->count() > 0 &&
      (o.processes < 1 || o.processes > kMaxLocalRanks))
    throw InputError("--processes must be a number of ranks from 1 to " +
                     std::to_string(kMaxLocalRanks) + ", got " + std::to_string(o.processes));
  if (!o.devices.empty()) role.backends = device_backends(o.devices);
  if (!o.devices.empty() && o.processes > 0 && o.processes != int(role.backends.size()))
    throw InputError("--processes " + std::to_string(o.processes) + " and --devices " + o.devices +
                     " disagree: --devices starts one process per GPU");
  role.processes = role.backends.empty() ? o.processes : int(role.backends.size());
  if (!role.rank && role.processes > 1) role.launch = true;
  // One line before any rank starts, rather than each rank's own.
  if (role.launch) check_devices_available(o.devices, role.backends);
  parse_reduce_order(o.reduce_order);  // refused here, before any rank starts
  if (!(o.timeout_s > 0) || !std::isfinite(o.timeout_s))
    throw InputError("--collective-timeout must be a positive number of seconds");
  if (!(o.bucket_mb >= 0) || !std::isfinite(o.bucket_mb))
    throw InputError("--bucket-mb must be a number of MB >= 0");
  return role;
}

// Joins the run's ranks and sets the job up as this rank's part of it.
std::unique_ptr<Collective> join_ranks(const RankEnv& r, const RankOptions& o, TrainRequest& job) {
  std::unique_ptr<Collective> group =
      join_gloo(join_spec(r, std::chrono::milliseconds(std::llround(o.timeout_s * 1000))));
  job.options.collective = group.get();
  job.options.reduce_order = parse_reduce_order(o.reduce_order);
  job.options.bucket_bytes = std::int64_t(std::llround(o.bucket_mb * 1024 * 1024));
  if (const char* backend = std::getenv("MANTISSA_BACKEND"); backend && *backend) {
    job.backend = backend;
    job.project.training.backend = backend;
  }
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    job.threads = threads_per_rank(r.local_world);
    use_threads(job.threads);  // also the backend's, made on this thread
  }
  if (r.rank != 0) {
    job.database.reset();  // rank 0's run is the run
  } else if (const char* file = std::getenv("MANTISSA_RUN_ID_FILE"); file && *file) {
    job.run_id_file = std::filesystem::path(file);
  }
  return group;
}

// `train --processes N` / `--devices`: starts the ranks, waits for them, and
// stores a run that a dead rank ended as failed, naming the rank and signal.
void launch_and_wait(const RankRole& role, const std::optional<std::filesystem::path>& db, bool json) {
  LaunchSpec spec;
  spec.argv = invocation();
  spec.processes = role.processes;
  spec.backends = role.backends;
  const LaunchResult r = launch_ranks(spec);
  if (r.ok) return;  // rank 0 printed the result
  std::string message = r.failure;
  if (r.run_id && db) {
    RunStore store(*db);
    const RunRecord run = store.require_run(*r.run_id);
    if (run.status != RunStatus::Finished) {
      const std::string why = run.error.empty() ? r.failure : r.failure + "; " + run.error;
      store.set_status(*r.run_id, RunStatus::Failed, why);
    }
    message = "run " + std::to_string(*r.run_id) + " failed: " + r.failure;
  }
  // Rank 0 printed the run's JSON itself unless a signal ended it.
  if (json && !r.rank0_exited)
    std::cout << Json{{"run_id", r.run_id ? Json(*r.run_id) : Json(nullptr)},
                      {"status", "failed"},
                      {"error", message}}.dump(2)
              << "\n";
  throw Error(message);
}

}  // namespace

void run_as_ranks(TrainJob& job, const RankOptions& ranks, bool json,
                  const std::function<void(const JobResult&)>& finish) {
  const RankRole role = rank_role(ranks);
  if ((role.launch || role.rank) && job.project.training.virtual_ranks > 1)
    throw InputError("--virtual-ranks (or the project's virtual_ranks, " +
                     std::to_string(job.project.training.virtual_ranks) +
                     ") and several processes do not combine: use one or the other");
  if (role.launch) return launch_and_wait(role, job.database, json);
  if (role.backends.size() == 1 && !role.rank) {  // --devices N: one GPU, one process
    job.backend = role.backends.front();
    job.project.training.backend = job.backend;
  }
  if (const char* fault = std::getenv("MANTISSA_FAULT"); fault && *fault)
    job.options.fault = parse_fault(fault, "MANTISSA_FAULT");
  std::unique_ptr<Collective> group;
  if (role.rank) group = join_ranks(*role.rank, ranks, job);
  const bool lead = !role.rank || role.rank->rank == 0;
  ProgressDisplay display(!lead);
  const JobResult r = run_job(job, display);
  if (lead) return finish(r);
  if (r.summary.outcome == RunOutcome::Failed) throw Error(r.summary.error);
}


}  // namespace mantissa::cli
