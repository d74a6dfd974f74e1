#pragma once
// Device copies of multi-tensor pointer tables, cached by their contents: a
// training step passes the same gradients (and masters, moments) every time,
// so the table is built and copied once and each later step launches the
// kernel with no host-to-device traffic at all.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backends/cuda/cuda_allocator.hpp"
#include "backends/cuda/multi_tensor_layout.hpp"
#include "backends/cuda/pinned_staging.hpp"

namespace mantissa::cuda {

// Splits every slot into chunks of at most kChunkElements (empty slots get none).
std::vector<Chunk> make_chunks(const std::vector<TensorSlot>& slots);

class TableCache {
 public:
  static constexpr std::size_t kMaxEntries = 16;

  TableCache(CudaAllocator& allocator, PinnedStaging& staging)
      : allocator_(allocator), staging_(staging) {}

  // The device table for `slots`, copied to the device on first use.
  TableView get(const std::vector<TensorSlot>& slots);
  std::size_t size() const { return entries_.size(); }
  // While a step is recorded a missing table is an error (its upload would
  // not be part of the recording), and while a recording exists no table is
  // evicted (the recording holds its address).
  void set_recording(bool on) { recording_ = on; }
  void set_keep_all(bool on) { keep_all_ = on; }

 private:
  struct Entry {
    DeviceBuffer buffer;
    TableView view;
    std::uint64_t last_use = 0;
  };
  CudaAllocator& allocator_;
  PinnedStaging& staging_;
  std::map<std::string, Entry> entries_;  // key: the slots' bytes
  std::uint64_t clock_ = 0;
  bool recording_ = false;
  bool keep_all_ = false;
};

}  // namespace mantissa::cuda
