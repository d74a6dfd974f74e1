// Where a rank learns who it is (launch.hpp): flags, then MANTISSA_*, then
// the variables torchrun, Open MPI, MPICH and Slurm set, first found wins.
#include <omp.h>
#include <unistd.h>

#include <thread>

#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/units.hpp"

namespace mantissa {

namespace {

// A launcher's variables: rank, world, local rank and local world, by name.
struct Source {
  const char* name;
  const char* rank;
  const char* world;
  const char* local_rank;   // may be null
  const char* local_world;  // may be null
  const char* addr;         // may be null: MASTER_ADDR / MANTISSA_MASTER_ADDR
  const char* port;
  const char* present;      // must be set too for the source to count (null: none)
};

constexpr Source kSources[] = {
    {"MANTISSA_*", "MANTISSA_RANK", "MANTISSA_WORLD_SIZE", "MANTISSA_LOCAL_RANK",
     "MANTISSA_LOCAL_WORLD_SIZE", "MANTISSA_MASTER_ADDR", "MANTISSA_MASTER_PORT", nullptr},
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
     "MASTER_PORT", nullptr},
    {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE", nullptr, nullptr, nullptr},
    {"MPICH", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", nullptr, nullptr,
     nullptr},
    // Slurm sets SLURM_PROCID in a batch script too, where nothing started
    // more than one task: only an srun step (SLURM_STEP_NUM_TASKS) counts.
    {"Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE", nullptr,
     nullptr, "SLURM_STEP_NUM_TASKS"},
};

int number(const std::string& text, const std::string& what, int min) {
  const std::optional<std::int64_t> v = whole_number(text);
  if (!v || *v < min || *v > 1000000)
    throw InputError(what + " is '" + text + "', not a whole number of at least " +
                     std::to_string(min));
  return int(*v);
}

const char* nonempty(const EnvReader& env, const char* name) {
  if (name == nullptr) return nullptr;
  const char* v = env(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

void check(RankEnv& r, const std::string& rank_name, const std::string& world_name) {
  if (r.rank >= r.world)
    throw InputError(rank_name + " is " + std::to_string(r.rank) + " but " + world_name + " is " +
                     std::to_string(r.world) + ": ranks count from 0 to " +
                     std::to_string(r.world - 1));
  if (r.local_rank >= r.local_world)
    throw InputError("the local rank " + std::to_string(r.local_rank) +
                     " is not below the ranks on this machine (" +
                     std::to_string(r.local_world) + ")");
}

}  // namespace

std::optional<RankEnv> resolve_rank(const RankFlags& flags, const EnvReader& env) {
  // The rendezvous address where the launcher gives none.
  const auto address = [&](RankEnv& r) {
    for (const char* a : {"MANTISSA_MASTER_ADDR", "MASTER_ADDR"})
      if (const char* v = nonempty(env, a)) {
        r.master_addr = v;
        break;
      }
    r.master_port = kDefaultStorePort;
    for (const char* p : {"MANTISSA_MASTER_PORT", "MASTER_PORT"})
      if (const char* v = nonempty(env, p)) {
        r.master_port = number(v, p, 1);
        break;
      }
  };
  const bool any_flag = flags.rank >= 0 || flags.world >= 0 || !flags.master_addr.empty() ||
                        flags.master_port >= 0;
  if (any_flag) {
    if (flags.rank < 0 || flags.world < 1)
      throw InputError(flags.rank < 0 ? "--rank is needed with --world-size"
                                      : "--world-size is needed with --rank");
    RankEnv r;
    r.source = "flags";
    r.rank = flags.rank;
    r.world = flags.world;
    r.local_rank = flags.rank;  // one machine unless the environment says otherwise
    r.local_world = flags.world;
    address(r);
    if (!flags.master_addr.empty()) r.master_addr = flags.master_addr;
    if (flags.master_port >= 0) r.master_port = flags.master_port;
    if (r.master_port < 1 || r.master_port > 65535)
      throw InputError("--master-port must be a port number, got " + std::to_string(r.master_port));
    check(r, "--rank", "--world-size");
    return r;
  }
  for (const Source& s : kSources) {
    const char* rank = nonempty(env, s.rank);
    const char* world = nonempty(env, s.world);
    if (rank == nullptr && world == nullptr) continue;
    if (s.present != nullptr && nonempty(env, s.present) == nullptr) continue;
    if (rank == nullptr || world == nullptr)
      throw InputError(std::string(s.name) + ": " + (rank ? s.rank : s.world) + " is set but " +
                       (rank ? s.world : s.rank) + " is not; set both, or neither");
    RankEnv r;
    r.source = s.name;
    r.rank = number(rank, s.rank, 0);
    r.world = number(world, s.world, 1);
    const char* local_rank = nonempty(env, s.local_rank);
    const char* local_world = nonempty(env, s.local_world);
    r.local_rank = local_rank ? number(local_rank, s.local_rank, 0) : r.rank;
    r.local_world = local_world ? number(local_world, s.local_world, 1) : r.world;
    address(r);
    if (s.addr != nullptr && std::string(s.name) == "torchrun") {
      // torchrun's own store holds MASTER_PORT; ours is the next port.
      const char* addr = nonempty(env, s.addr);
      const char* port = nonempty(env, s.port);
      if (addr == nullptr || port == nullptr)
        throw InputError("torchrun: RANK and WORLD_SIZE are set but " +
                         std::string(addr ? "MASTER_PORT" : "MASTER_ADDR") + " is not");
      r.master_addr = addr;
      r.master_port = number(port, "MASTER_PORT", 1) + 1;
    } else if (std::string(s.name) == "MANTISSA_*") {
      const char* store = nonempty(env, "MANTISSA_STORE");
      r.rank0_hosts_store = store == nullptr || std::string(store) != "launcher";
    }
    check(r, s.rank, s.world);
    return r;
  }
  return std::nullopt;
}

namespace {
// 'text' for a POSIX shell.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string cluster_command(ClusterLauncher launcher, const std::string& project,
                            const std::string& database, const std::string& policy, int nodes,
                            int per_node, const std::string& first_host) {
  const std::string train = "mantissa train " + quoted(project) + " --policy " + policy +
                            " --db " + quoted(database);
  const std::string n = std::to_string(nodes), k = std::to_string(per_node);
  if (launcher == ClusterLauncher::Srun)
    return "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1) srun --nodes " +
           n + " --ntasks-per-node " + k + " " + train;
  return "torchrun --nnodes " + n + " --nproc_per_node " + k +
         " --rdzv_backend c10d --rdzv_endpoint " + first_host + ":29400 --no_python " + train;
}

JoinSpec join_spec(const RankEnv& r, std::chrono::milliseconds timeout) {
  JoinSpec spec;
  spec.rank = r.rank;
  spec.world = r.world;
  spec.store_host = r.master_addr;
  spec.store_port = r.master_port;
  spec.serve_store = r.rank0_hosts_store && r.rank == 0;
  spec.interface_host = "";
  spec.timeout = timeout;
  return spec;
}

void use_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

int threads_per_rank(int local_world) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, int(cores) / std::max(1, local_world));
}

}  // namespace mantissa
