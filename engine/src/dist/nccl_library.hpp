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

  // The entry points (nccl.h), as the library exports them.
  int (*get_version)(int*) = nullptr;
  int (*get_unique_id)(NcclUniqueId*) = nullptr;
  int (*comm_init_rank)(NcclComm*, int, NcclUniqueId, int) = nullptr;
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
