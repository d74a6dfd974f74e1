// Where a rank learns who it is (docs/data-parallel.md): flags, then
// MANTISSA_*, then the variables of torchrun, Open MPI, MPICH and Slurm;
// partial sets refused naming the variable; the studio's command lines for
// several machines.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"

namespace mantissa {
namespace {

std::optional<RankEnv> resolve(const std::map<std::string, std::string>& vars, RankFlags flags = {}) {
  return resolve_rank(flags, [&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string refusal(const std::map<std::string, std::string>& vars, RankFlags flags = {}) {
  try {
    resolve(vars, flags);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(RankEnvironment, NothingSetIsOneProcess) {
  EXPECT_FALSE(resolve({}));
  EXPECT_FALSE(resolve({{"PATH", "/bin"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}))
      << "a batch script is not an srun step";
}

TEST(RankEnvironment, EachLauncherIsRead) {
  const auto mpi = resolve({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                            {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  ASSERT_TRUE(mpi);
  EXPECT_EQ(mpi->source, "Open MPI");
  EXPECT_EQ(mpi->rank, 1);
  EXPECT_EQ(mpi->world, 2);
  EXPECT_EQ(mpi->master_addr, "127.0.0.1");
  EXPECT_EQ(mpi->master_port, kDefaultStorePort);
  EXPECT_TRUE(mpi->rank0_hosts_store);

  const auto torch = resolve({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "3"},
                              {"LOCAL_WORLD_SIZE", "4"}, {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "29400"}});
  ASSERT_TRUE(torch);
  EXPECT_EQ(torch->source, "torchrun");
  EXPECT_EQ(torch->local_world, 4);
  EXPECT_EQ(torch->master_addr, "node1");
  EXPECT_EQ(torch->master_port, 29401) << "torchrun's own store holds MASTER_PORT";

  const auto slurm = resolve({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                              {"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_NTASKS_PER_NODE", "4"},
                              {"MASTER_ADDR", "10.0.0.7"}});
  ASSERT_TRUE(slurm);
  EXPECT_EQ(slurm->source, "Slurm");
  EXPECT_EQ(slurm->local_rank, 1);
  EXPECT_EQ(slurm->local_world, 4);
  EXPECT_EQ(slurm->master_addr, "10.0.0.7");

  const auto mpich = resolve({{"PMI_RANK", "0"}, {"PMI_SIZE", "3"}});
  ASSERT_TRUE(mpich);
  EXPECT_EQ(mpich->source, "MPICH");

  const auto ours = resolve({{"MANTISSA_RANK", "1"}, {"MANTISSA_WORLD_SIZE", "2"},
                             {"MANTISSA_MASTER_PORT", "41000"}, {"MANTISSA_STORE", "launcher"}});
  ASSERT_TRUE(ours);
  EXPECT_EQ(ours->master_port, 41000);
  EXPECT_FALSE(ours->rank0_hosts_store);
}

// Flags, then MANTISSA_*, then torchrun, Open MPI, MPICH, Slurm.
TEST(RankEnvironment, TheOrderIsFlagsThenOursThenTheLaunchers) {
  const std::map<std::string, std::string> all = {
      {"MANTISSA_RANK", "1"}, {"MANTISSA_WORLD_SIZE", "4"}, {"RANK", "2"}, {"WORLD_SIZE", "4"},
      {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1000"}, {"OMPI_COMM_WORLD_RANK", "3"},
      {"OMPI_COMM_WORLD_SIZE", "4"}};
  RankFlags flags;
  flags.rank = 0;
  flags.world = 4;
  EXPECT_EQ(resolve(all, flags)->source, "flags");
  EXPECT_EQ(resolve(all)->rank, 1);
  auto rest = all;
  rest.erase("MANTISSA_RANK");
  rest.erase("MANTISSA_WORLD_SIZE");
  EXPECT_EQ(resolve(rest)->rank, 2);
  rest.erase("RANK");
  rest.erase("WORLD_SIZE");
  EXPECT_EQ(resolve(rest)->rank, 3);
}

// The studio's "Command Line for Several Machines": ready to paste, paths
// quoted for the shell.
TEST(RankEnvironment, ClusterCommandsNameTheProjectDatabaseAndShape) {
  const std::string srun = cluster_command(ClusterLauncher::Srun, "/home/a b/p.json", "/nfs/runs.db",
                                           "mixed_bfloat16", 2, 4, "node1");
  EXPECT_EQ(srun,
            "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1) srun "
            "--nodes 2 --ntasks-per-node 4 mantissa train '/home/a b/p.json' --policy "
            "mixed_bfloat16 --db '/nfs/runs.db'");
  const std::string torch = cluster_command(ClusterLauncher::Torchrun, "it's.json", "r.db",
                                            "float32", 3, 8, "node1");
  EXPECT_EQ(torch,
            "torchrun --nnodes 3 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint "
            "node1:29400 --no_python mantissa train 'it'\\''s.json' --policy float32 --db 'r.db'");
}

TEST(RankEnvironment, APartialSetIsRefusedNamingTheVariable) {
  EXPECT_NE(refusal({{"RANK", "1"}}).find("WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(refusal({{"OMPI_COMM_WORLD_SIZE", "2"}}).find("OMPI_COMM_WORLD_RANK is not"), std::string::npos);
  EXPECT_NE(refusal({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(refusal({{"MANTISSA_RANK", "2"}, {"MANTISSA_WORLD_SIZE", "2"}}).find("from 0 to 1"),
            std::string::npos);
  EXPECT_NE(refusal({{"MANTISSA_RANK", "one"}, {"MANTISSA_WORLD_SIZE", "2"}}).find("MANTISSA_RANK is 'one'"),
            std::string::npos);
  RankFlags only_rank;
  only_rank.rank = 1;
  EXPECT_NE(refusal({}, only_rank).find("--world-size is needed"), std::string::npos);
}

}  // namespace
}  // namespace mantissa
