#include "backends/cuda/pinned_staging.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "backends/cuda/cuda_check.hpp"
#include "mantissa/error.hpp"

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

AsyncReads::~AsyncReads() {
  for (Slot& s : slots_) {
    if (s.done == nullptr) continue;
    if (s.ticket != 0) cudaEventSynchronize(s.done);
    cudaEventDestroy(s.done);
    cudaFreeHost(s.host);
  }
}

std::uint64_t AsyncReads::begin(const void* src, std::size_t bytes) {
  if (bytes > slot_bytes_)
    throw Error("asynchronous read of " + std::to_string(bytes) + " bytes (at most " +
                std::to_string(slot_bytes_) + ")");
  auto it = std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.ticket == 0; });
  if (it == slots_.end())
    throw Error("more than " + std::to_string(slots_.size()) + " asynchronous reads open");
  Slot& s = *it;
  if (s.done == nullptr) {  // first use of this slot
    MANTISSA_CUDA_CHECK(cudaHostAlloc(&s.host, slot_bytes_, cudaHostAllocDefault));
    const cudaError_t e = cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming);
    if (e != cudaSuccess) {
      cudaFreeHost(s.host);
      s.host = nullptr;
      MANTISSA_CUDA_CHECK(e);
    }
  }
  if (bytes > 0)
    MANTISSA_CUDA_CHECK(cudaMemcpyAsync(s.host, src, bytes, cudaMemcpyDeviceToHost, stream_));
  MANTISSA_CUDA_CHECK(cudaEventRecord(s.done, stream_));
  s.bytes = bytes;
  s.ticket = next_ticket_++;
  return s.ticket;
}

void AsyncReads::finish(std::uint64_t ticket, void* dst) {
  auto it = std::find_if(slots_.begin(), slots_.end(),
                         [&](const Slot& s) { return ticket != 0 && s.ticket == ticket; });
  if (it == slots_.end())
    throw Error("asynchronous read " + std::to_string(ticket) + " is not open");
  it->ticket = 0;  // free even if the wait reports an error
  MANTISSA_CUDA_CHECK(cudaEventSynchronize(it->done));
  std::memcpy(dst, it->host, it->bytes);
}

bool AsyncReads::ready(std::uint64_t ticket) const {
  const auto it = std::find_if(slots_.begin(), slots_.end(),
                               [&](const Slot& s) { return ticket != 0 && s.ticket == ticket; });
  if (it == slots_.end()) return true;
  const cudaError_t e = cudaEventQuery(it->done);
  if (e == cudaErrorNotReady) {
    (void)cudaGetLastError();  // a query that is not ready is not an error to keep
    return false;
  }
  return true;
}

}  // namespace mantissa::cuda
