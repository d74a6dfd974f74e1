#pragma once
// The bookkeeping of the CUDA caching allocator, apart from cudaMalloc so that
// it can be tested on any machine: requests are rounded to size classes, freed
// blocks are kept and handed out again, and the byte counts MemoryStats
// reports are kept here. Blocks are never split, so every block keeps the
// alignment its source gave it (256 bytes for cudaMalloc).
//
// Source is any type with
//   void* obtain(std::size_t bytes);               // nullptr when out of memory
//   void release(void* ptr, std::size_t bytes) noexcept;
// Not thread-safe; the owner locks.
#include <cstddef>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace mantissa::cuda {

// Requests up to 1 MiB round up to a multiple of 512 bytes; larger ones to one
// of eight steps per power of two (at most 12.5% rounding waste).
inline constexpr std::size_t kSmallLimit = std::size_t(1) << 20;
inline constexpr std::size_t kSmallGranule = 512;

inline std::size_t size_class(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= kSmallLimit) return (bytes + kSmallGranule - 1) / kSmallGranule * kSmallGranule;
  std::size_t power = kSmallLimit;
  while (power * 2 <= bytes) power *= 2;  // largest power of two <= bytes
  const std::size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

// A cached block is reused for a request when it wastes at most a quarter of
// the request's class: nearby sizes share blocks, far-off ones do not.
inline bool block_fits(std::size_t block, std::size_t cls) {
  return block <= cls + cls / 4;
}

struct CacheStats {
  std::size_t in_use = 0;    // bytes requested by live counted allocations
  std::size_t peak = 0;      // high-water mark of in_use
  std::size_t reserved = 0;  // bytes of every block obtained from the source, live or cached
  std::size_t cached = 0;    // bytes of blocks waiting for reuse
  std::size_t live_blocks = 0;
  std::size_t cached_blocks = 0;
};

template <class Source>
class SizeClassCache {
 public:
  explicit SizeClassCache(Source source) : source_(std::move(source)) {}
  ~SizeClassCache() {
    release_reservation();
    release_cached();
  }
  SizeClassCache(const SizeClassCache&) = delete;
  SizeClassCache& operator=(const SizeClassCache&) = delete;

  // A block of at least `bytes`, or nullptr when the source has no memory
  // even after every cached block went back to it. `counted` allocations
  // (tensors) count towards in_use / peak; the backend's own scratch does not.
  void* allocate(std::size_t bytes, bool counted) {
    const std::size_t cls = size_class(bytes);
    void* ptr = nullptr;
    std::size_t block = 0;
    // While recording, blocks the recording already owns come first: reusing
    // one later in the same recording follows stream order.
    if (auto own = reserved_free_.lower_bound(cls);
        reserving_ && own != reserved_free_.end() && block_fits(own->first, cls)) {
      block = own->first;
      ptr = own->second;
      reserved_free_.erase(own);
      stats_.cached -= block;
    } else if (auto it = free_.lower_bound(cls); it != free_.end() && block_fits(it->first, cls)) {
      block = it->first;
      ptr = it->second;
      free_.erase(it);
      stats_.cached -= block;
    } else {
      ptr = source_.obtain(cls);
      // Cached blocks of other sizes may be what stands in the way; giving
      // them back waits for the stream, which would break a recording, so
      // while recording the request fails instead (the step then runs
      // eagerly, where the retry is allowed).
      if (ptr == nullptr && !free_.empty() && !reserving_) {
        release_cached();
        ptr = source_.obtain(cls);
      }
      if (ptr == nullptr) return nullptr;
      block = cls;
      stats_.reserved += block;
    }
    live_.emplace(ptr, Live{block, counted ? bytes : 0});
    if (reserving_) reserved_.insert(ptr);
    if (counted) {
      stats_.in_use += bytes;
      if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
    }
    return ptr;
  }

  // Returns a block to the cache; unknown pointers are ignored.
  void deallocate(void* ptr) noexcept {
    auto it = live_.find(ptr);
    if (it == live_.end()) return;
    const Live live = it->second;
    live_.erase(it);
    stats_.in_use -= live.counted_bytes;
    try {
      // A block a recording used (or that was freed while recording, which
      // the recording may still read) is kept for the recording alone.
      if (reserving_ || reserved_.count(ptr) != 0) {
        reserved_.insert(ptr);
        reserved_free_.emplace(live.block, ptr);
        stats_.cached += live.block;
        return;
      }
      free_.emplace(live.block, ptr);
      stats_.cached += live.block;
    } catch (...) {
      source_.release(ptr, live.block);  // the free list could not grow
      stats_.reserved -= live.block;
    }
  }

  // Gives every cached block back to the source (live blocks are untouched).
  void release_cached() noexcept {
    // (A recording's freed blocks stay: it may still run.)
    for (const auto& [block, ptr] : free_) {
      source_.release(ptr, block);
      stats_.reserved -= block;
      stats_.cached -= block;
    }
    free_.clear();
  }

  void reset_peak() { stats_.peak = stats_.in_use; }

  // Recording (CUDA graph capture): between begin_reserve() and end_reserve()
  // every block handed out or given back is marked as the recording's; a
  // marked block, when freed, waits in a list of its own that only the
  // recording draws from, so no later request gets an address the recording
  // reads or writes on replay. release_reservation() (the recording is gone)
  // returns those blocks to the ordinary cache and unmarks live ones.
  void begin_reserve() { reserving_ = true; }
  void end_reserve() { reserving_ = false; }
  void release_reservation() noexcept {
    reserving_ = false;
    for (const auto& [block, ptr] : reserved_free_) {
      try {
        free_.emplace(block, ptr);
      } catch (...) {
        source_.release(ptr, block);
        stats_.reserved -= block;
        stats_.cached -= block;
      }
    }
    reserved_free_.clear();
    reserved_.clear();
  }
  bool reserving() const { return reserving_; }
  std::size_t reserved_blocks() const { return reserved_.size(); }

  CacheStats stats() const {
    CacheStats s = stats_;
    s.live_blocks = live_.size();
    s.cached_blocks = free_.size() + reserved_free_.size();
    return s;
  }

  // Size of the block behind a live pointer (0 if unknown).
  std::size_t block_size(void* ptr) const {
    auto it = live_.find(ptr);
    return it == live_.end() ? 0 : it->second.block;
  }

  Source& source() { return source_; }

 private:
  struct Live {
    std::size_t block;
    std::size_t counted_bytes;
  };
  Source source_;
  std::multimap<std::size_t, void*> free_;  // block size -> cached block
  std::unordered_map<void*, Live> live_;
  bool reserving_ = false;
  std::unordered_set<void*> reserved_;                // the recording's blocks, live or free
  std::multimap<std::size_t, void*> reserved_free_;  // its freed blocks
  CacheStats stats_;
};

}  // namespace mantissa::cuda
