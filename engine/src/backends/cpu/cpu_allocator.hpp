#pragma once
// A caching host allocator. Training allocates the same tensor sizes every
// step, so freed blocks are kept on per-size free lists and handed out again;
// in steady state no step calls malloc or touches fresh pages.
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "mantissa/backend.hpp"

namespace mantissa::cpu {

class CachingAllocator {
 public:
  static constexpr std::size_t kAlignment = 64;  // one cache line, one AVX-512 vector

  CachingAllocator() = default;
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Throws OutOfMemoryError naming the request and what is already held.
  void* allocate(std::size_t bytes);
  void deallocate(void* ptr, std::size_t bytes) noexcept;

  // in_use and peak count the bytes callers asked for; reserved counts whole
  // blocks (requests rounded up to kAlignment), live and cached.
  MemoryStats stats() const;
  void reset_peak();
  // Returns every cached block to the system (live blocks are untouched).
  void release_cached();

  static std::size_t block_size(std::size_t bytes);

 private:
  void release_cached_locked();

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_lists_;  // block size -> blocks
  std::size_t in_use_ = 0;
  std::size_t peak_ = 0;
  std::size_t reserved_ = 0;
};

}  // namespace mantissa::cpu
