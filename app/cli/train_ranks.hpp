// The data-parallel face of `train` and `resume`: --processes, --devices and
// the flags of a rank started by something else (mpirun, srun, torchrun).
#pragma once

#include <functional>
#include <string>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/launch.hpp"

namespace mantissa::cli {

struct RankOptions {
  int processes = 0;
  CLI::Option* processes_option = nullptr;  // whether --processes was given
  std::string devices;  // "0,1,2,3"
  RankFlags flags;
  std::string reduce_order = "ring";
  double timeout_s = 60;
  double bucket_mb = 25;
};

void add_rank_options(CLI::App* cmd, RankOptions& o);

// Runs the job as this process's part of the run: all of it, rank r of it,
// or the launcher of its ranks; `finish` prints the result where the run's
// lead (rank 0, or the only process) ends. MANTISSA_FAULT injects a fault
// (tests).
void run_as_ranks(TrainJob& job, const RankOptions& ranks, bool json,
                  const std::function<void(const JobResult&)>& finish);

}  // namespace mantissa::cli
