#include "backends/cuda/multi_tensor.hpp"

#include <algorithm>
#include <cstring>

#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

constexpr std::size_t kAlign = 256;
std::size_t aligned(std::size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

}  // namespace

std::vector<Chunk> make_chunks(const std::vector<TensorSlot>& slots) {
  std::vector<Chunk> chunks;
  for (std::size_t k = 0; k < slots.size(); ++k) {
    for (std::int64_t b = 0; b < slots[k].numel; b += kChunkElements) {
      Chunk c;
      c.slot = std::int32_t(k);
      c.begin = b;
      c.length = std::min(kChunkElements, slots[k].numel - b);
      chunks.push_back(c);
    }
  }
  return chunks;
}

TableView TableCache::get(const std::vector<TensorSlot>& slots) {
  static_assert(sizeof(TensorSlot) == 64, "TensorSlot must have no padding: it is a cache key");
  std::string key(slots.size() * sizeof(TensorSlot), '\0');
  if (!slots.empty()) std::memcpy(key.data(), slots.data(), key.size());
  ++clock_;
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.last_use = clock_;
    return it->second.view;
  }

  if (recording_)
    throw Error("a gradient or parameter table was not prepared before the step was captured");
  const std::vector<Chunk> chunks = make_chunks(slots);
  MANTISSA_ASSERT(chunks.size() < std::size_t(kNoBadSlot), "too many gradient chunks");
  // Layout: slots | chunks | partials | first_bad | blocks_done, each 256-byte aligned.
  const std::size_t slots_at = 0;
  const std::size_t chunks_at = aligned(slots_at + slots.size() * sizeof(TensorSlot));
  const std::size_t partials_at = aligned(chunks_at + chunks.size() * sizeof(Chunk));
  const std::size_t bad_at = aligned(partials_at + std::max<std::size_t>(chunks.size(), 1) * 4);
  const std::size_t done_at = bad_at + 4;
  const std::size_t total = done_at + 4;
  std::vector<unsigned char> host(total, 0);
  if (!slots.empty())
    std::memcpy(host.data() + slots_at, slots.data(), slots.size() * sizeof(TensorSlot));
  if (!chunks.empty())
    std::memcpy(host.data() + chunks_at, chunks.data(), chunks.size() * sizeof(Chunk));
  const std::int32_t no_bad = kNoBadSlot;
  std::memcpy(host.data() + bad_at, &no_bad, 4);

  if (entries_.size() >= kMaxEntries && !keep_all_) {
    auto oldest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.last_use < b.second.last_use; });
    entries_.erase(oldest);  // its buffer returns to the cache; the stream orders any reuse
  }
  Entry e;
  e.buffer = DeviceBuffer(allocator_, total);
  staging_.upload(e.buffer.get(), host.data(), total);
  auto* base = e.buffer.as<unsigned char>();
  e.view.slots = reinterpret_cast<const TensorSlot*>(base + slots_at);
  e.view.chunks = reinterpret_cast<const Chunk*>(base + chunks_at);
  e.view.num_chunks = int(chunks.size());
  e.view.partials = reinterpret_cast<float*>(base + partials_at);
  e.view.first_bad = reinterpret_cast<int*>(base + bad_at);
  e.view.blocks_done = reinterpret_cast<unsigned*>(base + done_at);
  e.last_use = clock_;
  const TableView view = e.view;
  entries_.emplace(std::move(key), std::move(e));
  return view;
}

}  // namespace mantissa::cuda
