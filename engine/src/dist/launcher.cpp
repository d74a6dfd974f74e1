// `mantissa train --processes N` (launch.hpp): one child per rank, the
// rendezvous hosted here, and no rank outlives a failure or the launcher.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dist/tcp_store.hpp"
#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"

namespace mantissa {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_forward{0};  // a signal to pass on to the ranks

void on_signal(int sig) { g_forward = sig; }

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return "was killed by " + signal_text(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

LaunchResult launch_ranks(const LaunchSpec& spec) {
  if (spec.processes < 1) throw InputError("--processes must be at least 1");
  if (!spec.backends.empty() && int(spec.backends.size()) != spec.processes)
    throw InternalError("one backend per rank");
  dist::TcpStoreServer store("127.0.0.1", 0);
  // Rank 0 writes the run's id here once the run exists.
  char dir_template[] = "/tmp/mantissa-launch-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) throw Error(std::string("cannot create a directory in /tmp: ") + std::strerror(errno));
  const std::filesystem::path run_id_file = std::filesystem::path(dir) / "run_id";
  const int threads = spec.threads > 0 ? spec.threads : threads_per_rank(spec.processes);

  // Ctrl-C reaches every rank from the terminal; each stops after the same
  // step. SIGTERM to the launcher is passed on. Neither stops the launcher.
  struct sigaction sa{}, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  g_forward = 0;

  std::vector<pid_t> pids;
  const pid_t launcher = ::getpid();
  for (int r = 0; r < spec.processes; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (pid_t p : pids) ::kill(p, SIGKILL);
      throw Error(std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno));
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != launcher) ::_exit(127);  // the launcher died before the line above
      ::sigaction(SIGINT, &old_int, nullptr);
      ::sigaction(SIGTERM, &old_term, nullptr);
      const auto set = [](const char* k, const std::string& v) { ::setenv(k, v.c_str(), 1); };
      set("MANTISSA_RANK", std::to_string(r));
      set("MANTISSA_WORLD_SIZE", std::to_string(spec.processes));
      set("MANTISSA_LOCAL_RANK", std::to_string(r));
      set("MANTISSA_LOCAL_WORLD_SIZE", std::to_string(spec.processes));
      set("MANTISSA_MASTER_ADDR", "127.0.0.1");
      set("MANTISSA_MASTER_PORT", std::to_string(store.port()));
      set("MANTISSA_STORE", "launcher");
      if (r == 0) set("MANTISSA_RUN_ID_FILE", run_id_file.string());
      for (const auto& [k, v] : spec.env) set(k.c_str(), v);
      if (!spec.backends.empty()) set("MANTISSA_BACKEND", spec.backends[std::size_t(r)]);
      if (spec.threads > 0 || std::getenv("OMP_NUM_THREADS") == nullptr)
        set("OMP_NUM_THREADS", std::to_string(threads));
      std::vector<char*> args;
      for (const std::string& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv("/proc/self/exe", args.data());
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    pids.push_back(pid);
  }

  LaunchResult result;
  std::vector<bool> running(pids.size(), true);
  std::size_t left = pids.size();
  // After a failure: the others notice the lost peer by themselves within
  // moments and record why; whoever is left after a while gets SIGTERM, and
  // after `grace` more, SIGKILL.
  std::optional<Clock::time_point> term_at, kill_at;
  const auto stop_all = [&](int sig) {
    for (std::size_t i = 0; i < pids.size(); ++i)
      if (running[i]) ::kill(pids[i], sig);
  };
  while (left > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      const auto it = std::find(pids.begin(), pids.end(), pid);
      if (it == pids.end()) continue;
      const auto r = std::size_t(it - pids.begin());
      running[r] = false;
      --left;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (r == 0 && result.ok) result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (!clean && result.ok) {
        result.ok = false;
        result.failed_rank = int(r);
        result.failure = "rank " + std::to_string(r) + " " + describe(status);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        term_at = Clock::now() + std::chrono::seconds(2);
      }
      continue;
    }
    // Asked to stop: every rank stops after the same step, as on Ctrl-C.
    if (const int sig = g_forward.exchange(0); sig == SIGTERM) stop_all(SIGINT);
    if (term_at && Clock::now() >= *term_at) {
      stop_all(SIGTERM);
      term_at.reset();
      kill_at = Clock::now() + spec.grace;
    }
    if (kill_at && Clock::now() >= *kill_at) {
      stop_all(SIGKILL);
      kill_at = Clock::now() + std::chrono::hours(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);

  std::ifstream in(run_id_file);
  std::int64_t id = 0;
  if (in >> id && id > 0) result.run_id = id;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return result;
}

}  // namespace mantissa
