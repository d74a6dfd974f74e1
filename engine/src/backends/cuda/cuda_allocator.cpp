#include "backends/cuda/cuda_allocator.hpp"

#include <cstdio>

#include "backends/cuda/cuda_check.hpp"
#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cuda {

void* CudaMallocSource::obtain(std::size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t e = cudaMalloc(&ptr, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the (non-sticky) error
    return nullptr;
  }
  MANTISSA_CUDA_CHECK(e);
  return ptr;
}

void CudaMallocSource::release(void* ptr, std::size_t) noexcept {
  // Errors here would come from earlier work; the next download reports those.
  if (stream != nullptr) cudaStreamSynchronize(stream);
  cudaFree(ptr);
}

CudaAllocator::CudaAllocator(std::string device_name, cudaStream_t stream)
    : device_name_(std::move(device_name)), stream_(stream), cache_(CudaMallocSource{stream}) {}

// The cache's destructor gives the cached blocks back, each after the stream is idle.
CudaAllocator::~CudaAllocator() = default;

void* CudaAllocator::allocate(std::size_t bytes, bool counted) {
  std::lock_guard lock(mutex_);
  void* ptr = cache_.allocate(bytes, counted);
  if (ptr == nullptr) {
    const CacheStats s = cache_.stats();
    std::size_t free_bytes = 0, total_bytes = 0;
    std::string driver;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      driver = "; the driver reports " + bytes_text(double(total_bytes - free_bytes)) + " of " +
               bytes_text(double(total_bytes)) + " in use";
    } else {
      cudaGetLastError();
    }
    throw OutOfMemoryError(device_name_ + ": out of memory allocating " +
                           bytes_text(double(bytes)) + " (" + bytes_text(double(s.in_use)) +
                           " held by tensors, " + bytes_text(double(s.reserved)) +
                           " reserved by the allocator" + driver + ")");
  }
  return ptr;
}

void CudaAllocator::deallocate(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  cache_.deallocate(ptr);
}

MemoryStats CudaAllocator::stats() const {
  CacheStats c;
  {
    std::lock_guard lock(mutex_);
    c = cache_.stats();
  }
  MemoryStats s;
  s.in_use = c.in_use;
  s.peak = c.peak;
  s.reserved = c.reserved;
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
    s.driver_in_use = total_bytes - free_bytes;
    s.driver_total = total_bytes;
  } else {
    cudaGetLastError();
  }
  return s;
}

CacheStats CudaAllocator::cache_stats() const {
  std::lock_guard lock(mutex_);
  return cache_.stats();
}

void CudaAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  cache_.reset_peak();
}

void CudaAllocator::release_cached() {
  if (stream_ != nullptr) MANTISSA_CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::lock_guard lock(mutex_);
  cache_.release_cached();
}

void CudaAllocator::begin_reserve() {
  std::lock_guard lock(mutex_);
  cache_.begin_reserve();
}

void CudaAllocator::end_reserve() {
  std::lock_guard lock(mutex_);
  cache_.end_reserve();
}

void CudaAllocator::release_reservation() noexcept {
  std::lock_guard lock(mutex_);
  cache_.release_reservation();
}

}  // namespace mantissa::cuda
