#pragma once
// Host-to-device copies that return as soon as the host buffer may be reused,
// without waiting for the GPU: the bytes are first copied into page-locked
// blocks, from which the stream copies them asynchronously. (cudaMemcpyAsync
// straight from pageable memory may or may not wait; callers such as the
// trainer upload from temporaries.) Blocks are taken round-robin, so the next
// block is always the one whose copy was queued longest ago; only when every
// block is still in flight does an upload wait for the oldest.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mantissa::cuda {

class PinnedStaging {
 public:
  static constexpr std::size_t kBlockBytes = std::size_t(1) << 20;
  static constexpr std::size_t kMaxBlocks = 64;

  explicit PinnedStaging(cudaStream_t stream) : stream_(stream) {}
  ~PinnedStaging();
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // Enqueues dst <- src (bytes) on the stream; src may be reused on return.
  void upload(void* dst, const void* src, std::size_t bytes);

 private:
  struct Block {
    void* host = nullptr;
    cudaEvent_t done = nullptr;
    bool in_flight = false;
  };
  Block& next_block();

  cudaStream_t stream_;
  std::vector<Block> blocks_;
  std::size_t next_ = 0;
};

// Device-to-host reads that do not wait (Backend::begin_download): each open
// read has a small page-locked slot and an event recorded behind its copy;
// finishing a read waits for that event only, so the stream keeps running
// the work enqueued after it.
class AsyncReads {
 public:
  AsyncReads(cudaStream_t stream, std::size_t slots, std::size_t slot_bytes)
      : stream_(stream), slot_bytes_(slot_bytes), slots_(slots) {}
  ~AsyncReads();
  AsyncReads(const AsyncReads&) = delete;
  AsyncReads& operator=(const AsyncReads&) = delete;

  // Throws Error when bytes exceed a slot or every slot is open.
  std::uint64_t begin(const void* src, std::size_t bytes);
  // Waits for the read's copy (where earlier kernel errors surface) and
  // copies its bytes to dst. Throws Error for a ticket that is not open.
  void finish(std::uint64_t ticket, void* dst);
  // Whether the read's copy has completed; true for an error too, which
  // finish() then reports.
  bool ready(std::uint64_t ticket) const;

 private:
  struct Slot {
    void* host = nullptr;
    cudaEvent_t done = nullptr;
    std::uint64_t ticket = 0;  // 0: free
    std::size_t bytes = 0;
  };
  cudaStream_t stream_;
  std::size_t slot_bytes_;
  std::vector<Slot> slots_;
  std::uint64_t next_ticket_ = 1;
};

}  // namespace mantissa::cuda
