#pragma once
// NCCL, loaded at run time (docs/data-parallel.md "NCCL"): the GPU ranks'
// gradient sum where libnccl.so.2 is present (NVIDIA's package, or the copy in
// PyTorch's nvidia-nccl wheel), and nothing to build against: the few entry
// points Mantissa calls are declared here with NCCL's stable C ABI.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace mantissa::dist {

struct NcclUniqueId {
  char internal[128];  // NCCL_UNIQUE_ID_BYTES
};
struct NcclCommTag;
using NcclComm = NcclCommTag*;

// The values of nccl.h that Mantissa passes or reads.
inline constexpr int kNcclSuccess = 0;
inline constexpr int kNcclInProgress = 7;
inline constexpr int kNcclFloat32 = 7;  // ncclFloat32
inline constexpr int kNcclSum = 0;      // ncclSum

// ncclConfig_t as NCCL 2.14 laid it out: later versions read a config by its
// size and version and keep their own defaults for the fields it lacks.
struct NcclConfig {
  std::size_t size = sizeof(NcclConfig);
  unsigned magic = 0xcafebeef;
  unsigned version = 21400;  // NCCL_VERSION(2, 14, 0)
  int blocking = 0;
};

struct DeviceWait;

class NcclLibrary {
 public:
  // libnccl from `path` (a file, or a name the dynamic loader searches for).
  // nullptr, with `why` naming the library and what was missing, when it does
  // not load or lacks an entry point.
  static std::unique_ptr<NcclLibrary> open(const std::string& path, std::string* why);
  // The process's NCCL: MANTISSA_NCCL_LIBRARY when set, else libnccl.so.2;
  // looked for once. nullptr with `why` when there is none.
  static const NcclLibrary* process(std::string* why);
  ~NcclLibrary();
  NcclLibrary(const NcclLibrary&) = delete;
  NcclLibrary& operator=(const NcclLibrary&) = delete;

  int version() const { return version_; }  // 22105 for 2.21.5
  std::string version_text() const;          // "2.21.5"
  const std::string& path() const { return path_; }

  // Throws Error("NCCL: <what> failed: <NCCL's words> (code N)") unless
  // `result` is success.
  void check(int result, const char* what) const;

  // Rank `rank` of `world` joins the communicator of `id`. Where the library
  // has ncclCommInitRankConfig (2.14 and later) the start-up is non-blocking
  // and watched like a sum: a rank that never joins makes the others abort
  // after `timeout` with an Error naming `what`, instead of waiting forever.
  // Before 2.14 it blocks in ncclCommInitRank.
  NcclComm start_comm(int world, const NcclUniqueId& id, int rank,
                      std::chrono::milliseconds timeout, const std::string& what) const;
  bool non_blocking() const { return comm_init_rank_config != nullptr; }

  // An in-place fp32 sum of `n` values on `stream`, enqueued: on a
  // non-blocking communicator an ncclInProgress answer is waited out (NCCL
  // asks that nothing else touch the communicator or its stream before).
  // `on_abort` runs when the watch aborts the communicator.
  void enqueue_sum(void* data, std::size_t n, NcclComm comm, void* stream,
                   std::chrono::milliseconds timeout, const std::string& what,
                   const std::function<void()>& on_abort) const;

  // Ends `comm`. From 2.14 ncclCommFinalize first flushes what is still
  // enqueued on it; on a non-blocking communicator that is watched like a
  // sum, and a finalize that fails or does not settle within `timeout`
  // aborts the communicator instead of waiting forever. Then
  // ncclCommDestroy. Never throws: returns what went wrong (naming `what`),
  // or an empty string.
  std::string end_comm(NcclComm comm, std::chrono::milliseconds timeout,
                       const std::string& what) const noexcept;

  // Whether NCCL's asynchronous state of `comm` is success (nothing in
  // progress, no error).
  bool settled(NcclComm comm) const;
  // A watch (wait_or_abort) on `comm`: NCCL's asynchronous state as the
  // error, ncclCommAbort then `on_abort` as the abort.
  DeviceWait watch(NcclComm comm, std::function<bool()> done,
                   std::function<void()> on_abort) const;

  // The entry points (nccl.h), as the library exports them.
  int (*get_version)(int*) = nullptr;
  int (*get_unique_id)(NcclUniqueId*) = nullptr;
  int (*comm_init_rank)(NcclComm*, int, NcclUniqueId, int) = nullptr;
  // 2.14 and later only (nullptr before).
  int (*comm_init_rank_config)(NcclComm*, int, NcclUniqueId, int, NcclConfig*) = nullptr;
  int (*comm_finalize)(NcclComm) = nullptr;
  int (*all_reduce)(const void*, void*, std::size_t, int, int, NcclComm, void*) = nullptr;
  int (*comm_get_async_error)(NcclComm, int*) = nullptr;
  int (*comm_abort)(NcclComm) = nullptr;
  int (*comm_destroy)(NcclComm) = nullptr;
  const char* (*get_error_string)(int) = nullptr;

 private:
  NcclLibrary() = default;
  void* handle_ = nullptr;
  int version_ = 0;
  std::string path_;
};

// The watchdog of one device collective: waits for `done` while polling
// `async_error` (NCCL's ncclCommGetAsyncError) every few milliseconds. When
// NCCL reports an error, or `timeout` passes (a peer died or stalled and the
// operation will never finish), it calls `abort` (ncclCommAbort, which frees
// the stream) and throws an Error naming `what` and the cause. Nothing hangs.
struct DeviceWait {
  std::function<bool()> done;
  std::function<int()> async_error;
  std::function<void()> abort;
  std::function<std::string(int)> describe;  // NCCL's words for a result
};
void wait_or_abort(const DeviceWait& wait, std::chrono::milliseconds timeout,
                   const std::string& what);

}  // namespace mantissa::dist
