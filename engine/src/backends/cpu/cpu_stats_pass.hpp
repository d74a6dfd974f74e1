#pragma once
// Per-tensor numerics taken inside the CPU's own ops (Backend::StatsTarget):
// sums over chunks, and the pass that runs an op chunk by chunk and counts
// each chunk while it is still in cache.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"

namespace mantissa::cpu {

// Statistics summed over chunks of one tensor, before its words are written.
struct StatsSums {
  std::uint64_t words[numerics_bits::kWords] = {};  // the counts; amax apart
  std::int32_t amax = 0;
  void merge(const StatsSums& other);
};
// Values per chunk: every count of a chunk stays exact in 16-bit lanes, and
// a chunk of fp32 (128 KiB) stays in L2 between an op and its statistics.
inline constexpr std::int64_t kStatsChunk = std::int64_t(1) << 15;
// How a tensor of `total` values is cut for statistics: into a multiple of
// the threads' count of equal chunks of at most kStatsChunk values (a whole
// number of 64-value steps), so that no thread waits at the end of a pass for
// another's extra chunk. The counts do not depend on the cut.
struct StatsChunks {
  std::int64_t count = 0, size = 0;
  std::int64_t begin(std::int64_t c) const { return c * size; }
  std::int64_t length(std::int64_t c, std::int64_t total) const {
    return std::min(size, total - c * size);
  }
};
StatsChunks stats_chunks(std::int64_t total);
// Adds values [begin, begin + n) of t, as stored (n <= kStatsChunk).
void add_stats(const Tensor& t, std::int64_t begin, std::int64_t n, StatsSums& sums);
// Writes the numerics_bits words of a tensor of `total` values over `stats`.
void write_stats(const StatsSums& sums, std::int64_t total, Tensor& stats);

// Whether tensor_stats must take this target (its histogram is due this
// step): ops take only the words.
bool histogram_due(const Backend::StatsTarget& target);

// Statistics taken inside an op (Backend::StatsTarget): the op runs chunk by
// chunk, and each chunk's values are counted while they are still in cache.
// A target whose histogram is due this step is left to take_rest()
// (tensor_stats), as is every target when the op cannot run in chunks.
class StatsPass {
 public:
  static constexpr int kMaxTargets = 2;
  StatsPass(std::initializer_list<std::pair<const Tensor*, Backend::StatsTarget*>> targets);
  bool empty() const { return count_ == 0; }
  // tensor_stats for the targets run() does not take; all of them when run()
  // was not called.
  void take_rest(Backend& backend);

  // Runs body(begin, n) over [0, total) chunk by chunk (the chunks spread
  // over threads when there are many; body must not start threads itself),
  // then the statistics of each kept tensor's values in that chunk. Every
  // kept tensor has `total` values.
  template <class Body>
  void run(std::int64_t total, Body&& body) {
    for (int k = 0; k < count_; ++k)
      MANTISSA_ASSERT(tensors_[std::size_t(k)]->numel() == total, "StatsPass over unequal tensors");
    const StatsChunks chunks = stats_chunks(total);
    std::array<StatsSums, kMaxTargets> sums{};
#pragma omp parallel if (total >= kParallelMin)
    {
      std::array<StatsSums, kMaxTargets> local{};
#pragma omp for schedule(static)
      for (std::int64_t c = 0; c < chunks.count; ++c) {
        const std::int64_t begin = chunks.begin(c);
        const std::int64_t n = chunks.length(c, total);
        body(begin, n);
        for (int k = 0; k < count_; ++k)
          add_stats(*tensors_[std::size_t(k)], begin, n, local[std::size_t(k)]);
      }
#pragma omp critical(mantissa_stats_pass)
      for (int k = 0; k < count_; ++k) sums[std::size_t(k)].merge(local[std::size_t(k)]);
    }
    finish(sums);
  }

 private:
  void finish(const std::array<StatsSums, kMaxTargets>& sums);
  std::array<const Tensor*, kMaxTargets> tensors_{};
  std::array<Backend::StatsTarget*, kMaxTargets> targets_{};
  int count_ = 0;  // targets run() takes: the first count_
  std::array<std::pair<const Tensor*, Backend::StatsTarget*>, kMaxTargets> rest_{};
  int rest_count_ = 0;
  bool ran_ = false;
};

}  // namespace mantissa::cpu
