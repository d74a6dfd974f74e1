// RunStore across processes: runs whose trainer died, a trainer killed in the
// middle of writing, another process holding the lock, and files this user
// may not write. Children are forked before the parent opens the database, as
// SQLite requires (a connection must not cross fork()).
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "engine/test_store_util.hpp"
#include "store/sqlite.hpp"

namespace mantissa {
namespace {

using namespace std::chrono_literals;
using store_test::read_value;
using store_test::sample_run;
using store_test::sample_step;
using store_test::TempDir;
using store_test::write_value;

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(pipe(fds), 0); }
  ~Pipe() {
    close_read();
    close_write();
  }
  int read_end() const { return fds[0]; }
  int write_end() const { return fds[1]; }
  void close_read() {
    if (fds[0] >= 0) close(fds[0]);
    fds[0] = -1;
  }
  void close_write() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
  }
};

// Runs body in a child process that ends with _exit (no destructors, no
// gtest teardown): its exit status is 0 unless body threw.
pid_t spawn(Pipe& pipe, const std::function<void(int fd)>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    pipe.close_read();
    int code = 0;
    try {
      body(pipe.write_end());
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
  pipe.close_write();
  return pid;
}

TEST(StoreRecovery, RunOfAProcessThatExitedBecomesInterruptedWithItsMetrics) {
  TempDir dir;
  const auto path = dir / "runs.db";
  { RunStore store(path); }  // created before the fork, and closed
  Pipe pipe;
  const pid_t child = spawn(pipe, [&](int fd) {
    RunStore store(path);
    const std::int64_t id = store.create_run(sample_run("left running"));
    for (int s = 1; s <= 10; ++s) store.append_step(id, sample_step(s));
    store.flush();
    write_value(fd, id);
    // Ends without set_status(), as a crashed trainer would.
  });
  std::int64_t id = 0;
  ASSERT_TRUE(read_value(pipe.read_end(), id));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  RunStore store(path);
  EXPECT_EQ(store.recovered_runs(), std::vector<std::int64_t>{id});
  const RunRecord r = store.require_run(id);
  EXPECT_EQ(r.status, RunStatus::Interrupted);
  EXPECT_EQ(r.pid, child);
  EXPECT_EQ(r.error, "process " + std::to_string(child) + " ended without finishing the run");
  EXPECT_EQ(store.step_metrics(id).size(), 10u);
  EXPECT_EQ(r.last_step, 10);
}

TEST(StoreRecovery, OwnRunsAndRunsOfOtherHostsAreLeftRunning) {
  TempDir dir;
  const auto path = dir / "runs.db";
  std::int64_t mine = 0, remote = 0;
  {
    RunStore store(path);
    mine = store.create_run(sample_run("mine"));
    remote = store.create_run(sample_run("remote"));
  }
  {
    // A run on another machine sharing the file: its pid means nothing here.
    sql::Connection db(path.string());
    sql::Statement q =
        db.prepare("UPDATE runs SET host = 'elsewhere', pid = 999999999 WHERE id = ?1");
    q.bind(1, remote).run();
  }
  RunStore store(path);
  EXPECT_TRUE(store.recovered_runs().empty());
  EXPECT_EQ(store.require_run(mine).status, RunStatus::Running);
  EXPECT_EQ(store.require_run(remote).status, RunStatus::Running);
}

TEST(StoreRecovery, TrainerKilledMidWriteLeavesAReadableDatabase) {
  TempDir dir;
  const auto path = dir / "runs.db";
  { RunStore store(path); }
  Pipe pipe;
  const pid_t child = spawn(pipe, [&](int fd) {
    RunStore store(path, {.batch_interval = 2ms});
    const std::int64_t id = store.create_run(sample_run("killed"));
    write_value(fd, id);
    for (std::int64_t s = 1; s <= 50'000'000; ++s) {
      store.append_step(id, sample_step(s));
      if (s % 100 == 0) {
        store.append_event(id, {.step = s, .kind = EventKind::Info, .message = "tick"});
        store.flush();
        write_value(fd, s);  // everything up to s is committed
      }
    }
  });
  std::int64_t id = 0, committed = 0;
  ASSERT_TRUE(read_value(pipe.read_end(), id));
  while (committed < 3000 && read_value(pipe.read_end(), committed)) {
  }
  ASSERT_GE(committed, 3000);
  // Let the child run on (the pipe has room for thousands more reports), so
  // that the kill lands while it is appending and committing.
  std::this_thread::sleep_for(10ms);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  RunStore store(path);
  EXPECT_EQ(store.recovered_runs(), std::vector<std::int64_t>{id});
  EXPECT_EQ(store.require_run(id).status, RunStatus::Interrupted);
  const auto steps = store.step_metrics(id);
  ASSERT_GE(static_cast<std::int64_t>(steps.size()), committed);
  // Batches are atomic: the stored steps are exactly 1..n, with no holes.
  for (size_t i = 0; i < steps.size(); ++i) {
    ASSERT_EQ(steps[i].step, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_GE(store.events(id).size(), static_cast<size_t>(committed / 100));
  sql::Connection db(path.string());
  sql::Statement check = db.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.column_text(0), "ok");
  check.reset();
}

TEST(StoreLocking, WriterHeldByAnotherConnectionGivesLockedErrorWithinTheTimeout) {
  TempDir dir;
  const auto path = dir / "runs.db";
  const std::string locked = path.string() + ": database is locked by another process";
  std::int64_t id = 0;
  {
    RunStore store(path);
    id = store.create_run(sample_run());
  }
  sql::Connection holder(path.string());
  holder.exec("BEGIN EXCLUSIVE");
  holder.exec("UPDATE runs SET notes = 'held'");

  RunStore store(path, {.busy_timeout = 200ms});  // WAL: opening only reads
  const auto start = std::chrono::steady_clock::now();
  try {
    store.create_run(sample_run());
    FAIL() << "create_run should have failed";
  } catch (const StoreLockedError& e) {
    EXPECT_EQ(e.what(), locked);
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 1500ms);

  // Buffered metrics survive a failed commit and go in once the lock is free.
  store.append_step(id, sample_step(1));
  EXPECT_THROW(store.flush(), StoreLockedError);
  EXPECT_EQ(store.buffered_rows(), 1u);
  holder.exec("ROLLBACK");
  store.flush();
  EXPECT_EQ(store.buffered_rows(), 0u);
  EXPECT_EQ(store.step_metrics(id).size(), 1u);
}

TEST(StoreLocking, OpeningADatabaseLockedExclusivelyFails) {
  // Rollback-journal mode (another tool's connection): an exclusive lock
  // blocks even reading the header.
  TempDir dir;
  const auto path = dir / "runs.db";
  sql::Connection holder(path.string());
  holder.exec("BEGIN EXCLUSIVE");
  holder.exec("PRAGMA user_version = 1");
  const auto start = std::chrono::steady_clock::now();
  try {
    RunStore store(path, {.busy_timeout = 100ms});
    FAIL() << "opening should have failed";
  } catch (const StoreLockedError& e) {
    EXPECT_EQ(e.what(), path.string() + ": database is locked by another process");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  holder.exec("ROLLBACK");
}

// The message RunStore gives when opening path, as an unprivileged user: root
// writes read-only files, so as root the attempt runs in a child that drops
// to 'nobody'.
// What `attempt` returns when run as an unprivileged user.
std::string as_unprivileged(const std::function<std::string()>& attempt) {
  if (geteuid() != 0) return attempt();
  const passwd* nobody = getpwnam("nobody");
  if (!nobody) return "(no user 'nobody')";
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  Pipe pipe;
  const pid_t child = spawn(pipe, [&](int fd) {
    if (setgid(gid) != 0 || setuid(uid) != 0) throw std::runtime_error("cannot drop privileges");
    const std::string message = attempt();
    [[maybe_unused]] const ssize_t n = write(fd, message.data(), message.size());
  });
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(pipe.read_end(), buf, sizeof buf)) > 0;) message.append(buf, n);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "(child failed)";
  return message;
}

std::string open_error_as_unprivileged(const std::filesystem::path& path) {
  return as_unprivileged([&]() -> std::string {
    try {
      RunStore store(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "(opened)";
  });
}

// Opens for reading where writing is impossible: lists the runs and their
// metrics, and refuses a write with the reason.
std::string read_as_unprivileged(const std::filesystem::path& path) {
  return as_unprivileged([&]() -> std::string {
    try {
      RunStore store(path, {.access = StoreAccess::ReadOnlyIfNotWritable});
      std::string seen = store.read_only() ? "read-only" : "writable";
      for (const RunRecord& r : store.list_runs()) {
        seen += " | " + r.name + " " + std::to_string(store.step_metrics(r.id).size());
      }
      try {
        store.create_run(sample_run("new"));
        seen += " | wrote";
      } catch (const StoreError& e) {
        seen += std::string(" | ") + e.what();
      }
      return seen;
    } catch (const Error& e) {
      return e.what();
    }
  });
}

TEST(StorePermissions, ReadOnlyFileIsRefusedAndLeftUntouched) {
  TempDir dir;
  const auto path = dir / "runs.db";
  {
    RunStore store(path);
    store.create_run(sample_run());
  }
  chmod(dir.path().c_str(), 0755);  // reachable by the unprivileged child
  chmod(path.c_str(), 0444);
  const std::string before = store_test::read_bytes(path);
  EXPECT_EQ(open_error_as_unprivileged(path),
            path.string() + ": cannot write: the file is read-only (Permission denied)");
  EXPECT_EQ(store_test::read_bytes(path), before);
}

TEST(StorePermissions, ReadOnlyFileOpensForReadingWhenAskedAndRefusesWrites) {
  TempDir dir;
  const auto path = dir / "runs.db";
  {
    RunStore store(path);
    const std::int64_t id = store.create_run(sample_run("kept"));
    for (int s = 1; s <= 7; ++s) store.append_step(id, sample_step(s));
  }
  chmod(dir.path().c_str(), 0755);
  chmod(path.c_str(), 0444);
  const std::string before = store_test::read_bytes(path);
  EXPECT_EQ(read_as_unprivileged(path),
            "read-only | kept 7 | " + path.string() +
                ": cannot write: the file is read-only (Permission denied)");
  EXPECT_EQ(store_test::read_bytes(path), before);
}

TEST(StorePermissions, DatabaseInAReadOnlyFolderOpensForReading) {
  TempDir dir;
  const auto ro = dir / "ro";
  std::filesystem::create_directory(ro);
  {
    RunStore store(ro / "runs.db");
    const std::int64_t id = store.create_run(sample_run("kept"));
    for (int s = 1; s <= 3; ++s) store.append_step(id, sample_step(s));
  }
  ASSERT_FALSE(std::filesystem::exists(ro / "runs.db-shm"));  // the last close removed it
  chmod((ro / "runs.db").c_str(), 0666);  // only the folder stands in the way
  chmod(dir.path().c_str(), 0755);
  chmod(ro.c_str(), 0555);
  EXPECT_EQ(read_as_unprivileged(ro / "runs.db"),
            "read-only | kept 3 | " + (ro / "runs.db").string() + ": cannot write: directory " +
                ro.string() + " is read-only (Permission denied)");
  chmod(ro.c_str(), 0755);
}

TEST(StorePermissions, ReadOnlyDirectoryIsRefused) {
  TempDir dir;
  const auto ro = dir / "ro";
  std::filesystem::create_directory(ro);
  chmod(dir.path().c_str(), 0755);
  chmod(ro.c_str(), 0555);
  EXPECT_EQ(open_error_as_unprivileged(ro / "runs.db"),
            (ro / "runs.db").string() + ": cannot write: directory " + ro.string() +
                " is read-only (Permission denied)");
  EXPECT_EQ(open_error_as_unprivileged(ro / "sub" / "runs.db"),
            (ro / "sub" / "runs.db").string() + ": cannot write: cannot create directory " +
                (ro / "sub").string() + " (Permission denied)");
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// Several processes writing one database at once (trainers, the studio, the
// CLI): nobody sees "database is locked" and no row is lost.
TEST(StoreConcurrency, FourWritingProcessesLoseNothing) {
  TempDir dir;
  const auto path = dir / "runs.db";
  { RunStore store(path); }  // created before the fork, and closed
  constexpr int kWriters = 4, kRuns = 3, kSteps = 400;
  std::vector<pid_t> children;
  std::vector<std::unique_ptr<Pipe>> pipes;
  for (int w = 0; w < kWriters; ++w) {
    pipes.push_back(std::make_unique<Pipe>());
    children.push_back(spawn(*pipes.back(), [&](int fd) {
      RunStore store(path, {.batch_interval = std::chrono::milliseconds(5)});
      const std::vector<std::uint8_t> blob(256 * 1024, std::uint8_t(w));
      for (int r = 0; r < kRuns; ++r) {
        const std::int64_t id = store.create_run(sample_run("writer " + std::to_string(w)));
        for (int s = 1; s <= kSteps; ++s) {
          store.append_step(id, sample_step(s));
          if (s % 100 == 0) store.add_checkpoint(id, s, 0, blob, CheckpointKind::Safety);
        }
        store.set_status(id, RunStatus::Finished);
      }
      write_value(fd, std::int64_t(1));
    }));
  }
  // The parent reads all along, as History does while runs are written.
  {
    RunStore reader(path);
    for (int i = 0; i < 20; ++i) {
      EXPECT_NO_THROW(reader.list_runs());
      std::this_thread::sleep_for(10ms);
    }
  }
  for (int w = 0; w < kWriters; ++w) {
    std::int64_t ok = 0;
    EXPECT_TRUE(read_value(pipes[std::size_t(w)]->read_end(), ok)) << "writer " << w << " failed";
    int status = 0;
    waitpid(children[std::size_t(w)], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer " << w;
  }
  RunStore store(path);
  const std::vector<RunRecord> runs = store.list_runs();
  ASSERT_EQ(runs.size(), std::size_t(kWriters * kRuns));
  for (const RunRecord& r : runs) {
    EXPECT_EQ(r.status, RunStatus::Finished) << r.name;
    EXPECT_EQ(r.steps_recorded, kSteps) << r.name;
    EXPECT_EQ(r.last_step, kSteps) << r.name;
  }
  sql::Connection db(path.string());

  EXPECT_EQ(db.query_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
}

}  // namespace
}  // namespace mantissa
