// Temporary files named after their process (launch.hpp): what a process
// killed before its cleanup left behind is removed by the next one, and
// nothing else is.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

namespace fs = std::filesystem;

// $TMPDIR pointed at a folder of the test's own while it runs.
class ProcessTemp : public ::testing::Test {
 protected:
  static void touch(const fs::path& p) { std::ofstream(p) << "{}"; }

  test_data::TempDir dir_;
  test_data::ScopedEnv tmpdir_{"TMPDIR", dir_.path().string()};
};

// A process id that no process has now: a child's, once it is reaped.
pid_t gone_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST_F(ProcessTemp, NamesCarryTheProcessAndAreUnique) {
  const fs::path folder = make_process_temp("mantissa-t-", TempKind::Folder);
  const fs::path file = make_process_temp("mantissa-t-", TempKind::File, ".json");
  const fs::path other = make_process_temp("mantissa-t-", TempKind::File, ".json");
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(folder.parent_path(), dir_.path());
  EXPECT_NE(file, other);
  const std::string pid = std::to_string(::getpid());
  EXPECT_TRUE(std::regex_match(folder.filename().string(),
                               std::regex("mantissa-t-" + pid + "-[A-Za-z0-9]{6}")))
      << folder;
  EXPECT_TRUE(std::regex_match(file.filename().string(),
                               std::regex("mantissa-t-" + pid + "-[A-Za-z0-9]{6}\\.json")))
      << file;
}

TEST_F(ProcessTemp, AFolderWithNoPlaceToGoIsAnErrorNamingIt) {
  ::setenv("TMPDIR", (dir_ / "missing").c_str(), 1);
  try {
    make_process_temp("mantissa-t-", TempKind::Folder);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "missing").string()), std::string::npos)
        << e.what();
  }
}

TEST_F(ProcessTemp, OnlyThoseOfGoneProcessesAreRemoved) {
  const std::string gone = std::to_string(gone_pid());
  const fs::path orphan_folder = dir_ / ("mantissa-t-" + gone + "-AbC123");
  fs::create_directory(orphan_folder);
  touch(orphan_folder / "run_id");
  const fs::path orphan_file = dir_ / ("mantissa-t-" + gone + "-q1W2e3.json");
  touch(orphan_file);
  const fs::path earlier = dir_ / ("mantissa-t-" + gone + "-7.json");  // numbered, as before
  touch(earlier);
  const fs::path mine = make_process_temp("mantissa-t-", TempKind::Folder);
  const std::vector<fs::path> kept = {
      mine,
      dir_ / "mantissa-t-1-AbC123",                          // init's: alive
      dir_ / ("mantissa-t-" + gone + "-AbC1234"),            // seven characters
      dir_ / ("mantissa-t-" + gone + "-AbC123.json.bak"),    // another suffix
      dir_ / ("mantissa-tx-" + gone + "-AbC123"),            // another prefix
      dir_ / "mantissa-t-notes",
  };
  for (const fs::path& p : kept)
    if (!fs::exists(p)) touch(p);

  remove_orphaned_temps("mantissa-t-");
  EXPECT_FALSE(fs::exists(orphan_folder)) << "a gone process's folder, with what is in it";
  EXPECT_TRUE(fs::exists(orphan_file)) << "the suffix is part of the name";
  remove_orphaned_temps("mantissa-t-", ".json");
  EXPECT_FALSE(fs::exists(orphan_file));
  EXPECT_FALSE(fs::exists(earlier));
  for (const fs::path& p : kept) EXPECT_TRUE(fs::exists(p)) << p;
}

}  // namespace
}  // namespace mantissa
