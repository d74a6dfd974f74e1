#pragma once
// The CUDA caching allocator: SizeClassCache over cudaMalloc, behind a mutex.
// All work runs on the backend's one stream, so a freed block can be handed
// to the next request at once: any kernel that still reads it was enqueued
// before whatever the new owner enqueues. Only giving blocks back to the
// driver waits for the stream.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>

#include "backends/cuda/size_class_cache.hpp"
#include "mantissa/backend.hpp"

namespace mantissa::cuda {

// cudaMalloc / cudaFree; release() first waits for the stream, whose queued
// kernels may still read a cached block.
struct CudaMallocSource {
  cudaStream_t stream = nullptr;
  void* obtain(std::size_t bytes);  // nullptr on cudaErrorMemoryAllocation
  void release(void* ptr, std::size_t bytes) noexcept;
};

class CudaAllocator {
 public:
  CudaAllocator(std::string device_name, cudaStream_t stream);
  ~CudaAllocator();
  CudaAllocator(const CudaAllocator&) = delete;
  CudaAllocator& operator=(const CudaAllocator&) = delete;

  // Throws OutOfMemoryError naming the request and what is already held.
  void* allocate(std::size_t bytes, bool counted);
  void deallocate(void* ptr) noexcept;
  // in_use / peak / reserved from the cache, driver_* from cudaMemGetInfo.
  MemoryStats stats() const;
  CacheStats cache_stats() const;
  void reset_peak();
  // Waits for the stream, then returns cached blocks to the driver.
  void release_cached();
  // Graph capture (SizeClassCache::begin_reserve): blocks a recording touches
  // stay its own until release_reservation().
  void begin_reserve();
  void end_reserve();
  void release_reservation() noexcept;

 private:
  std::string device_name_;
  cudaStream_t stream_;
  mutable std::mutex mutex_;
  SizeClassCache<CudaMallocSource> cache_;
};

// Device memory the backend uses for itself (workspaces, pointer tables,
// partial sums): one owner, movable, never copied; the block goes back to the
// allocator's cache when the owner dies. Not counted as tensor memory.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(CudaAllocator& allocator, std::size_t bytes)
      : allocator_(&allocator), ptr_(allocator.allocate(bytes, false)), bytes_(bytes) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : allocator_(std::exchange(o.allocator_, nullptr)),
        ptr_(std::exchange(o.ptr_, nullptr)),
        bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      allocator_ = std::exchange(o.allocator_, nullptr);
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }

  void reset() noexcept {
    if (ptr_ != nullptr) allocator_->deallocate(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  CudaAllocator* allocator_ = nullptr;
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace mantissa::cuda
