#include "backends/cpu/cpu_allocator.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cpu {

CachingAllocator::~CachingAllocator() {
  release_cached_locked();
}

std::size_t CachingAllocator::block_size(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t block = block_size(bytes);
  std::lock_guard lock(mutex_);
  void* ptr = nullptr;
  if (auto it = free_lists_.find(block); it != free_lists_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
  } else {
    ptr = std::aligned_alloc(kAlignment, block);
    if (ptr == nullptr) {
      // Cached blocks of other sizes may be what stands in the way.
      release_cached_locked();
      ptr = std::aligned_alloc(kAlignment, block);
    }
    if (ptr == nullptr) {
      throw OutOfMemoryError("cpu: out of memory allocating " + bytes_text(double(bytes)) + " (" +
                             bytes_text(double(in_use_)) + " already held by tensors)");
    }
    reserved_ += block;
  }
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr, std::size_t bytes) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  in_use_ -= bytes;
  try {
    free_lists_[block_size(bytes)].push_back(ptr);
  } catch (...) {
    // The free list could not grow: give the block back instead of caching it.
    std::free(ptr);
    reserved_ -= block_size(bytes);
  }
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  MemoryStats s;
  s.in_use = in_use_;
  s.peak = peak_;
  s.reserved = reserved_;
  return s;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  peak_ = in_use_;
}

void CachingAllocator::release_cached() {
  std::lock_guard lock(mutex_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() {
  for (auto& [block, list] : free_lists_) {
    for (void* p : list) std::free(p);
    reserved_ -= block * list.size();
  }
  free_lists_.clear();
}

}  // namespace mantissa::cpu
