// NCCL loaded with dlopen (nccl_library.hpp), and the watchdog that keeps a
// device collective from hanging when a peer is gone.
#include "dist/nccl_library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa::dist {

namespace {

template <class F>
bool bind(void* handle, const char* name, F& fn, std::string* missing) {
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    if (missing->empty()) *missing = name;
    return false;
  }
  fn = reinterpret_cast<F>(sym);
  return true;
}

}  // namespace

std::unique_ptr<NcclLibrary> NcclLibrary::open(const std::string& path, std::string* why) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    *why = "NCCL (" + path + ") did not load: " + (err != nullptr ? err : "unknown reason");
    return nullptr;
  }
  std::unique_ptr<NcclLibrary> lib(new NcclLibrary());
  lib->handle_ = handle;
  lib->path_ = path;
  std::string missing;
  bind(handle, "ncclGetVersion", lib->get_version, &missing);
  bind(handle, "ncclGetUniqueId", lib->get_unique_id, &missing);
  bind(handle, "ncclCommInitRank", lib->comm_init_rank, &missing);
  bind(handle, "ncclAllReduce", lib->all_reduce, &missing);
  bind(handle, "ncclCommGetAsyncError", lib->comm_get_async_error, &missing);
  bind(handle, "ncclCommAbort", lib->comm_abort, &missing);
  bind(handle, "ncclCommDestroy", lib->comm_destroy, &missing);
  bind(handle, "ncclGetErrorString", lib->get_error_string, &missing);
  if (!missing.empty()) {
    *why = "NCCL (" + path + ") has no " + missing + ": not a libnccl.so.2 Mantissa can use";
    return nullptr;
  }
  if (lib->get_version(&lib->version_) != kNcclSuccess || lib->version_ < 20900) {
    // 2.9 brought ncclCommGetAsyncError and ncclCommAbort as used here.
    *why = "NCCL (" + path + ") is version " + lib->version_text() + ": Mantissa needs 2.9 or later";
    return nullptr;
  }
  // Non-blocking communicators came with 2.14.
  if (lib->version_ >= 21400) {
    std::string absent;
    bind(handle, "ncclCommInitRankConfig", lib->comm_init_rank_config, &absent);
    bind(handle, "ncclCommFinalize", lib->comm_finalize, &absent);
  }
  return lib;
}

const NcclLibrary* NcclLibrary::process(std::string* why) {
  static std::once_flag once;
  static std::unique_ptr<NcclLibrary> lib;
  static std::string reason;
  std::call_once(once, [] {
    const char* env = std::getenv("MANTISSA_NCCL_LIBRARY");
    lib = open(env != nullptr && *env != '\0' ? env : "libnccl.so.2", &reason);
  });
  if (lib == nullptr && why != nullptr) *why = reason;
  return lib.get();
}

NcclLibrary::~NcclLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

std::string NcclLibrary::version_text() const {
  // NCCL_VERSION(X, Y, Z): X*10000 + Y*100 + Z since 2.9 (X*1000 + Y*100 + Z before).
  const int v = version_;
  if (v >= 20900) return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
                         std::to_string(v % 100);
  return std::to_string(v / 1000) + "." + std::to_string(v / 100 % 10) + "." + std::to_string(v % 100);
}

void NcclLibrary::check(int result, const char* what) const {
  if (result == kNcclSuccess) return;
  const char* words = get_error_string != nullptr ? get_error_string(result) : nullptr;
  throw Error(std::string("NCCL: ") + what + " failed: " +
              (words != nullptr ? words : "unknown error") + " (code " + std::to_string(result) +
              ")");
}

DeviceWait NcclLibrary::watch(NcclComm comm, std::function<bool()> done,
                               std::function<void()> on_abort) const {
  return {.done = std::move(done),
          .async_error =
              [this, comm] {
                int state = kNcclSuccess;
                const int r = comm_get_async_error(comm, &state);
                return r != kNcclSuccess ? r : state;
              },
          .abort =
              [this, comm, on_abort = std::move(on_abort)] {
                comm_abort(comm);
                if (on_abort) on_abort();
              },
          .describe =
              [this](int code) {
                const char* words = get_error_string(code);
                return std::string(words != nullptr ? words : "an unknown error") + " (code " +
                       std::to_string(code) + ")";
              }};
}

bool NcclLibrary::settled(NcclComm comm) const {
  int state = kNcclInProgress;
  return comm_get_async_error(comm, &state) == kNcclSuccess && state == kNcclSuccess;
}

NcclComm NcclLibrary::start_comm(int world, const NcclUniqueId& id, int rank,
                                 std::chrono::milliseconds timeout, const std::string& what) const {
  NcclComm comm = nullptr;
  if (!non_blocking()) {
    check(comm_init_rank(&comm, world, id, rank), "ncclCommInitRank");
    return comm;
  }
  NcclConfig config;
  const int r = comm_init_rank_config(&comm, world, id, rank, &config);
  if (r != kNcclSuccess && r != kNcclInProgress) {
    if (comm != nullptr) comm_abort(comm);
    check(r, "ncclCommInitRankConfig");
  }
  // Settled once NCCL's state for it is success: every rank has joined.
  wait_or_abort(watch(comm, [this, comm] { return settled(comm); }, {}), timeout, what);
  return comm;
}

std::string NcclLibrary::end_comm(NcclComm comm, std::chrono::milliseconds timeout,
                                  const std::string& what) const noexcept {
  if (comm == nullptr) return "";
  try {
    if (comm_finalize != nullptr) {
      const int r = comm_finalize(comm);
      if (r != kNcclSuccess && r != kNcclInProgress) {
        comm_abort(comm);
        check(r, "ncclCommFinalize");
      }
      // Aborts the communicator and throws when it does not settle.
      wait_or_abort(watch(comm, [this, comm] { return settled(comm); }, {}), timeout, what);
    }
    check(comm_destroy(comm), "ncclCommDestroy");
    return "";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return what + " failed";
  }
}

void NcclLibrary::enqueue_sum(void* data, std::size_t n, NcclComm comm, void* stream,
                              std::chrono::milliseconds timeout, const std::string& what,
                              const std::function<void()>& on_abort) const {
  const int r = all_reduce(data, data, n, kNcclFloat32, kNcclSum, comm, stream);
  if (r != kNcclInProgress) {
    check(r, "ncclAllReduce");
    return;
  }
  wait_or_abort(watch(comm, [this, comm] { return settled(comm); }, on_abort), timeout, what);
}

void wait_or_abort(const DeviceWait& wait, std::chrono::milliseconds timeout,
                   const std::string& what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(20);
  while (!wait.done()) {
    const int err = wait.async_error();
    if (err != kNcclSuccess && err != kNcclInProgress) {
      wait.abort();
      throw Error(what + " failed: NCCL reported " + wait.describe(err) +
                  " (another rank is gone or failed); the communicator was aborted");
    }
    if (Clock::now() >= deadline) {
      wait.abort();
      throw Error(what + " did not finish within " + seconds_text(timeout) +
                  " (another rank stalled or is gone); the communicator was aborted");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

}  // namespace mantissa::dist
