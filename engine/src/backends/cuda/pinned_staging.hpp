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

}  // namespace mantissa::cuda
