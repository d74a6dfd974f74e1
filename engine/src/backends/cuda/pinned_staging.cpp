#include "backends/cuda/pinned_staging.hpp"

#include <algorithm>
#include <cstring>

#include "backends/cuda/cuda_check.hpp"

namespace mantissa::cuda {

PinnedStaging::~PinnedStaging() {
  for (Block& b : blocks_) {
    if (b.in_flight) cudaEventSynchronize(b.done);
    cudaEventDestroy(b.done);
    cudaFreeHost(b.host);
  }
}

PinnedStaging::Block& PinnedStaging::next_block() {
  if (next_ < blocks_.size()) {
    Block& b = blocks_[next_];
    if (!b.in_flight) return b;
    const cudaError_t q = cudaEventQuery(b.done);
    if (q == cudaSuccess) return b;
    if (q != cudaErrorNotReady) MANTISSA_CUDA_CHECK(q);
    cudaGetLastError();  // cudaErrorNotReady is a status, not an error to report later
    if (blocks_.size() >= kMaxBlocks) {
      MANTISSA_CUDA_CHECK(cudaEventSynchronize(b.done));  // all in flight: wait for the oldest
      return b;
    }
  }
  // Grow: the new block goes where the round-robin pointer is, so the order
  // of the blocks stays the order in which their copies were queued.
  Block fresh;
  MANTISSA_CUDA_CHECK(cudaHostAlloc(&fresh.host, kBlockBytes, cudaHostAllocDefault));
  const cudaError_t e = cudaEventCreateWithFlags(&fresh.done, cudaEventDisableTiming);
  if (e != cudaSuccess) {
    cudaFreeHost(fresh.host);
    MANTISSA_CUDA_CHECK(e);
  }
  const auto at = blocks_.begin() + std::ptrdiff_t(std::min(next_, blocks_.size()));
  return *blocks_.insert(at, fresh);
}

void PinnedStaging::upload(void* dst, const void* src, std::size_t bytes) {
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, kBlockBytes);
    Block& b = next_block();
    std::memcpy(b.host, s, n);
    MANTISSA_CUDA_CHECK(cudaMemcpyAsync(d, b.host, n, cudaMemcpyHostToDevice, stream_));
    MANTISSA_CUDA_CHECK(cudaEventRecord(b.done, stream_));
    b.in_flight = true;
    next_ = (next_ + 1) % std::max<std::size_t>(blocks_.size(), 1);
    d += n;
    s += n;
    bytes -= n;
  }
}

}  // namespace mantissa::cuda
