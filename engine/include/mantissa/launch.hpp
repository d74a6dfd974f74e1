#pragma once
// Starting the ranks of a data-parallel run (docs/data-parallel.md): where a
// process learns its rank, and the launcher behind `mantissa train
// --processes N` / `--devices 0,1`, which starts the ranks itself, hosts
// their rendezvous and stops them all when one dies.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/collective.hpp"

namespace mantissa {

// Who this process is in the run, and where the rendezvous is.
struct RankEnv {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  int local_world = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  // The store is hosted by rank 0 (torchrun, mpirun, srun, flags) or by
  // the launcher (MANTISSA_STORE=launcher).
  bool rank0_hosts_store = true;
  std::string source;  // "flags", "MANTISSA_*", "torchrun", "Open MPI", "MPICH", "Slurm"
};

// What the command line gave (unset: -1 / empty).
struct RankFlags {
  int rank = -1;
  int world = -1;
  std::string master_addr;
  int master_port = -1;
};

// The port rank 0's store listens on when none is given (torchrun's
// MASTER_PORT + 1 under torchrun, whose own store holds MASTER_PORT).
inline constexpr int kDefaultStorePort = 29500;

// Reads, in this order, the first source that is there: flags, MANTISSA_RANK
// / MANTISSA_WORLD_SIZE (+ LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT, STORE), torchrun's RANK / WORLD_SIZE / LOCAL_RANK /
// LOCAL_WORLD_SIZE / MASTER_ADDR / MASTER_PORT, Open MPI's
// OMPI_COMM_WORLD_*, MPICH's PMI_RANK / PMI_SIZE, Slurm's SLURM_PROCID /
// SLURM_NTASKS / SLURM_LOCALID (inside an srun step: SLURM_STEP_NUM_TASKS).
// Launchers other than torchrun give no address: MASTER_ADDR and
// MASTER_PORT (or MANTISSA_MASTER_*) name it, else 127.0.0.1 and
// kDefaultStorePort. Nothing there: std::nullopt (one process). A partial
// set (a rank without a world size, a rank outside it, a number that is
// not one) is an InputError naming the variable.
using EnvReader = std::function<const char*(const char*)>;
std::optional<RankEnv> resolve_rank(const RankFlags& flags, const EnvReader& env);

// How rank `r` joins its group (join_gloo): at r's rendezvous, serving the
// store if r is rank 0 and no launcher hosts it; its own address chosen by
// join_gloo (loopback for a loopback rendezvous, else this host's name).
JoinSpec join_spec(const RankEnv& r, std::chrono::milliseconds timeout);

// Threads per rank when the user did not say: the cores shared among the
// ranks on this machine, at least one.
int threads_per_rank(int local_world);
// A command line that trains `project` (a saved file) under `policy` on
// `nodes` machines × `per_node` ranks, reporting into `database` (which rank
// 0's machine must reach, e.g. on a shared file system): for Slurm (`srun`,
// run inside an allocation) or torchrun (run on every machine; the first is
// `first_host`).
enum class ClusterLauncher { Srun, Torchrun };
std::string cluster_command(ClusterLauncher launcher, const std::string& project,
                            const std::string& database, const std::string& policy, int nodes,
                            int per_node, const std::string& first_host);

// Sets the OpenMP threads of the calling thread's parallel work (and of the
// CPU backends it creates: their description counts them).
void use_threads(int threads);

// The most ranks one machine's launcher starts (train/resume --processes,
// bench --processes): far more than its cores would be a mistake, and each
// rank is a process with its own threads and connections.
inline constexpr int kMaxLocalRanks = 64;

// `mantissa train --processes N` / `--devices ...`: runs `argv` (argv[0] a
// program path) once per rank with the MANTISSA_* variables set (and
// MANTISSA_BACKEND per rank when devices are given), hosting the
// rendezvous on loopback. When a rank dies or fails, the others get SIGTERM
// and, `grace` later, SIGKILL; every rank is gone when this returns. The
// ranks die with the launcher (PR_SET_PDEATHSIG).
struct LaunchSpec {
  std::vector<std::string> argv;
  int processes = 1;
  std::vector<std::string> backends;  // one per rank, or empty: as argv says
  int threads = 0;                    // OMP_NUM_THREADS per rank; 0: threads_per_rank()
  std::vector<std::pair<std::string, std::string>> env;  // more variables for every rank
  std::chrono::milliseconds grace{3000};
};
struct LaunchResult {
  bool ok = true;
  std::string failure;  // "rank 1 was killed by signal 9 (SIGKILL)"; empty when ok
  int failed_rank = -1;
  std::optional<std::int64_t> run_id;  // as rank 0 stored it (MANTISSA_RUN_ID_FILE)
  int exit_code = 0;                   // of rank 0, or of the rank that failed first
  bool rank0_exited = true;            // rank 0 ended by itself (not by a signal)
};
LaunchResult launch_ranks(const LaunchSpec& spec);

// A data-parallel run whose rank 0 is this process (the studio's trainer)
// and whose ranks 1..N-1 are children running `program args...` (args[0] is
// the program's name) with the MANTISSA_* variables, `threads` OpenMP
// threads, and MANTISSA_BACKEND from `backends` (one per rank, or none).
// The rendezvous is hosted here; the constructor returns once every rank
// has joined (or throws, naming who did not). The children die with this
// process.
class LocalRankGroup {
 public:
  LocalRankGroup(const std::string& program, const std::vector<std::string>& args, int processes,
                 const std::vector<std::string>& backends, int threads,
                 std::chrono::milliseconds timeout);
  ~LocalRankGroup();
  LocalRankGroup(const LocalRankGroup&) = delete;
  LocalRankGroup& operator=(const LocalRankGroup&) = delete;
  Collective& collective();
  // Waits up to `grace` for the children to end (then SIGTERM, and SIGKILL
  // after as long again); returns how the first that failed ended ("rank 1
  // was killed by signal 9 (SIGKILL)"), or "".
  std::string finish(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A temporary file or folder that a run's processes share (the studio's
// copy of the project for its ranks, the launcher's folder for rank 0's run
// id, a benchmark rank's result): `<prefix><pid>-<six characters><suffix>`
// in $TMPDIR (or /tmp), pid being this process's, so that what a process
// killed before its own cleanup left behind can be told from what a live
// one uses. Throws an Error naming the folder when it cannot be made.
enum class TempKind { File, Folder };
std::filesystem::path make_process_temp(const std::string& prefix, TempKind kind,
                                        const std::string& suffix = "");
// Removes those of `prefix` (and `suffix`) whose process is gone; nothing
// else, and never fails.
void remove_orphaned_temps(const std::string& prefix, const std::string& suffix = "");

}  // namespace mantissa
