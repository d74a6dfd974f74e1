// `mantissa train --processes N` (launch.hpp): one child per rank, the
// rendezvous hosted here, and no rank outlives a failure or the launcher.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dist/tcp_store.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"

namespace mantissa {

namespace {

using Clock = std::chrono::steady_clock;

// A launcher killed before its cleanup leaves its folder; the next one removes it.
const std::string kLaunchFolderPrefix = "mantissa-launch-";

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

// What rank r of `world` on this machine is told, the rendezvous being the
// store on this process's loopback port.
std::vector<std::pair<std::string, std::string>> rank_env(int r, int world, int port) {
  return {{"MANTISSA_RANK", std::to_string(r)},
          {"MANTISSA_WORLD_SIZE", std::to_string(world)},
          {"MANTISSA_LOCAL_RANK", std::to_string(r)},
          {"MANTISSA_LOCAL_WORLD_SIZE", std::to_string(world)},
          {"MANTISSA_MASTER_ADDR", "127.0.0.1"},
          {"MANTISSA_MASTER_PORT", std::to_string(port)},
          {"MANTISSA_STORE", "launcher"}};
}

// Starts `program args...` (args[0] is its name) with `env` added; it dies
// with this process. The signal handlers to restore in the child, if any.
pid_t spawn(const std::string& program, const std::vector<std::string>& args,
            const std::vector<std::pair<std::string, std::string>>& env,
            const struct sigaction* old_int, const struct sigaction* old_term) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::strerror(errno));
  if (pid > 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
  if (old_int) ::sigaction(SIGINT, old_int, nullptr);
  if (old_term) ::sigaction(SIGTERM, old_term, nullptr);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  ::execvp(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace

LaunchResult launch_ranks(const LaunchSpec& spec) {
  if (spec.processes < 1) throw InputError("--processes must be at least 1");
  if (!spec.backends.empty() && int(spec.backends.size()) != spec.processes)
    throw InternalError("one backend per rank");
  dist::TcpStoreServer store("127.0.0.1", 0);
  // Rank 0 writes the run's id in this folder once the run exists.
  remove_orphaned_temps(kLaunchFolderPrefix);
  const std::filesystem::path dir = make_process_temp(kLaunchFolderPrefix, TempKind::Folder);
  const std::filesystem::path run_id_file = dir / "run_id";
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
  for (int r = 0; r < spec.processes; ++r) {
    std::vector<std::pair<std::string, std::string>> env = rank_env(r, spec.processes, store.port());
    if (r == 0) env.emplace_back("MANTISSA_RUN_ID_FILE", run_id_file.string());
    env.insert(env.end(), spec.env.begin(), spec.env.end());
    if (!spec.backends.empty()) env.emplace_back("MANTISSA_BACKEND", spec.backends[std::size_t(r)]);
    if (spec.threads > 0 || std::getenv("OMP_NUM_THREADS") == nullptr)
      env.emplace_back("OMP_NUM_THREADS", std::to_string(threads));
    try {
      pids.push_back(spawn("/proc/self/exe", spec.argv, env, &old_int, &old_term));
    } catch (const Error& e) {
      for (pid_t p : pids) ::kill(p, SIGKILL);
      throw Error("cannot start rank " + std::to_string(r) + ": " + e.what());
    }
  }

  LaunchResult result;
  std::vector<bool> running(pids.size(), true);
  std::size_t left = pids.size();
  // After a failure: the others notice the lost peer by themselves within
  // moments and record why; whoever is left after a while gets SIGTERM, and
  // after `grace` more, SIGKILL.
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point term_at = kNever, kill_at = kNever;
  bool term_sent = false, cause_killed = false;
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
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (r == 0 && result.ok) result.exit_code = code;
      if (r == 0) result.rank0_exited = WIFEXITED(status);
      // The cause, not its echo: a rank that a signal killed (before we sent
      // any) is named over the ranks that then failed for want of it, even
      // when they are reaped first.
      const bool killed = WIFSIGNALED(status) && !term_sent;
      if (!clean && (result.ok || (killed && !cause_killed))) {
        result.ok = false;
        result.failed_rank = int(r);
        result.failure = "rank " + std::to_string(r) + " " + describe(status);
        result.exit_code = code;
        cause_killed = killed;
        if (term_at == kNever && kill_at == kNever) term_at = Clock::now() + std::chrono::seconds(2);
      }
      continue;
    }
    // Asked to stop: every rank stops after the same step, as on Ctrl-C.
    if (const int sig = g_forward.exchange(0); sig == SIGTERM) stop_all(SIGINT);
    if (Clock::now() >= term_at) {
      term_sent = true;
      stop_all(SIGTERM);
      term_at = kNever;
      kill_at = Clock::now() + spec.grace;
    }
    if (Clock::now() >= kill_at) {
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

// ---- rank 0 here, the others as children (the studio) ------------------------

struct LocalRankGroup::Impl {
  std::unique_ptr<dist::TcpStoreServer> store;
  std::vector<pid_t> children;  // rank r + 1
  std::vector<bool> running;
  std::unique_ptr<Collective> group;
  std::string failure;
};

LocalRankGroup::LocalRankGroup(const std::string& program, const std::vector<std::string>& args,
                               int processes, const std::vector<std::string>& backends, int threads,
                               std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  if (processes < 2) throw InputError("a data-parallel run needs at least 2 processes");
  // A program that cannot start would only show as a rank that never joins.
  const auto runnable = [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; };
  bool found = program.find('/') != std::string::npos && runnable(program);
  if (program.find('/') == std::string::npos)
    if (const char* path = std::getenv("PATH"))
      for (std::string_view rest = path; !found && !rest.empty();) {
        const std::size_t colon = std::min(rest.find(':'), rest.size());
        found = runnable(std::string(rest.substr(0, colon)) + "/" + program);
        rest.remove_prefix(std::min(colon + 1, rest.size()));
      }
  if (!found)
    throw InputError("the other ranks run '" + program +
                     "', which is not there or not executable (set MANTISSA_CLI to the mantissa "
                     "command line)");
  impl_->store = std::make_unique<dist::TcpStoreServer>("127.0.0.1", 0);
  const int port = impl_->store->port();
  for (int r = 1; r < processes; ++r) {
    std::vector<std::pair<std::string, std::string>> env = rank_env(r, processes, port);
    env.emplace_back("OMP_NUM_THREADS", std::to_string(threads));
    if (!backends.empty()) env.emplace_back("MANTISSA_BACKEND", backends.at(std::size_t(r)));
    try {
      impl_->children.push_back(spawn(program, args, env, nullptr, nullptr));
    } catch (const Error& e) {
      for (pid_t p : impl_->children) ::kill(p, SIGKILL);
      throw Error("cannot start rank " + std::to_string(r) + " (" + program + "): " + e.what());
    }
    impl_->running.push_back(true);
  }
  JoinSpec spec;
  spec.rank = 0;
  spec.world = processes;
  spec.store_port = port;
  spec.timeout = timeout;
  try {
    impl_->group = join_gloo(spec);
  } catch (const Error&) {
    finish(std::chrono::milliseconds(0));  // a child that could not start says why
    throw;
  }
}

LocalRankGroup::~LocalRankGroup() { finish(std::chrono::milliseconds(2000)); }

Collective& LocalRankGroup::collective() { return *impl_->group; }

std::string LocalRankGroup::finish(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + grace;
  bool termed = false;
  for (;;) {
    bool any = false;
    for (std::size_t i = 0; i < s.children.size(); ++i) {
      if (!s.running[i]) continue;
      int status = 0;
      const pid_t got = ::waitpid(s.children[i], &status, WNOHANG);
      if (got == s.children[i]) {
        s.running[i] = false;
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        // After a failure of our own the others were told to stop: not theirs.
        if (!clean && s.failure.empty() && !termed)
          s.failure = "rank " + std::to_string(i + 1) + " " + describe(status);
      } else {
        any = true;
      }
    }
    if (!any) return s.failure;
    if (Clock::now() >= deadline) {
      for (std::size_t i = 0; i < s.children.size(); ++i)
        if (s.running[i]) ::kill(s.children[i], termed ? SIGKILL : SIGTERM);
      if (termed) {
        for (std::size_t i = 0; i < s.children.size(); ++i)
          if (s.running[i]) ::waitpid(s.children[i], nullptr, 0);
        return s.failure;
      }
      termed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace mantissa
