// The fused gradient pass of the training step: unscale, finite check and sum
// of squares over every gradient in one sweep, with one OpenMP region for all
// tensors (a region per tensor costs more than the work for small layers).
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/cpu_stats_pass.hpp"
#include "backends/numerics_checks.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {
struct Chunk {
  float* data;
  std::int64_t n;
  std::int64_t tensor;
};
constexpr std::int64_t kChunk = 16384;  // elements per work item
}  // namespace

void CpuBackend::unscale_check_and_norm(std::span<const Tensor> grads, const Tensor& scale,
                                        Tensor& found_inf, Tensor& sum_squares) {
  unscale_check_and_norm_stats(grads, scale, found_inf, sum_squares, {});
}

// With statistics: each chunk is counted as it arrives, before it is
// unscaled, while it is in cache.
void CpuBackend::unscale_check_and_norm_stats(std::span<const Tensor> grads, const Tensor& scale,
                                              Tensor& found_inf, Tensor& sum_squares,
                                              std::span<StatsTarget* const> grad_stats) {
  MANTISSA_ASSERT(grad_stats.empty() || grad_stats.size() == grads.size(),
                  "one statistics target per gradient, or none");
  bool all_f32 = true;
  for (const Tensor& g : grads) all_f32 = all_f32 && g.dtype() == DType::F32;
  // Targets whose histogram is due (and all of them when the general ops
  // run) are counted by tensor_stats first, before unscaling.
  for (std::size_t k = 0; k < grad_stats.size(); ++k)
    if (grad_stats[k] != nullptr && (!all_f32 || histogram_due(*grad_stats[k])))
      take_stats(grads[k], *grad_stats[k]);
  if (!all_f32) {  // rare: the general ops handle every dtype
    unscale_and_check(grads, scale, found_inf);
    this->sum_squares(grads, sum_squares);
    return;
  }
  const float inv = float(1.0 / double(scale.data_as<const float>()[0]));
  std::vector<Chunk> chunks;
  std::int64_t total = 0;
  for (std::size_t k = 0; k < grads.size(); ++k) {
    float* p = grads[k].data_as<float>();
    const std::int64_t n = grads[k].numel();
    for (std::int64_t b = 0; b < n; b += kChunk)
      chunks.push_back({p + b, std::min(kChunk, n - b), std::int64_t(k)});
    total += n;
  }
  const auto count = std::int64_t(chunks.size());
  // Which gradients' statistics this pass takes (not those whose histogram
  // is due: tensor_stats takes them).
  std::vector<char> counted(grads.size(), 0);
  bool any_counted = false;
  for (std::size_t k = 0; k < grad_stats.size(); ++k) {
    if (grad_stats[k] == nullptr || histogram_due(*grad_stats[k])) continue;
    check_tensor_stats_args(grad_stats[k]->stats, nullptr);  // taken below
    counted[k] = 1;
    any_counted = true;
  }
  std::vector<StatsSums> sums(any_counted ? grads.size() : 0);
  std::int64_t first_bad = std::numeric_limits<std::int64_t>::max();
  double sum = 0.0;
#pragma omp parallel reduction(min : first_bad) reduction(+ : sum) if (total >= kParallelMin)
  {
  std::vector<StatsSums> local(sums.size());
#pragma omp for schedule(static)
  for (std::int64_t c = 0; c < count; ++c) {
    float* v = chunks[std::size_t(c)].data;
    const std::int64_t n = chunks[std::size_t(c)].n;
    const auto k = std::size_t(chunks[std::size_t(c)].tensor);
    if (any_counted && counted[k] != 0)
      add_stats(grads[k], v - grads[k].data_as<float>(), n, local[k]);
    int any = 0;
    float s = 0.0f;
    if (inv == 1.0f) {
#pragma omp simd reduction(| : any) reduction(+ : s)
      for (std::int64_t i = 0; i < n; ++i) {
        any |= is_nonfinite(v[i]) ? 1 : 0;
        s += v[i] * v[i];
      }
    } else {
#pragma omp simd reduction(| : any) reduction(+ : s)
      for (std::int64_t i = 0; i < n; ++i) {
        any |= is_nonfinite(v[i]) ? 1 : 0;  // checked before unscaling, as GradScaler does
        const float x = v[i] * inv;
        v[i] = x;
        s += x * x;
      }
    }
    if (any) first_bad = std::min(first_bad, chunks[std::size_t(c)].tensor);
    sum += double(s);
  }
  if (any_counted) {
#pragma omp critical(mantissa_grad_stats)
    for (std::size_t k = 0; k < sums.size(); ++k) sums[k].merge(local[k]);
  }
  }
  for (std::size_t k = 0; k < sums.size(); ++k) {
    if (counted[k] == 0) continue;
    write_stats(sums[k], grads[k].numel(), grad_stats[k]->stats);
  }
  float* flag = found_inf.data_as<float>();
  if (first_bad != std::numeric_limits<std::int64_t>::max() && flag[0] == 0.0f)
    flag[0] = float(first_bad + 1);
  sum_squares.data_as<float>()[0] = float(sum);
}

}  // namespace mantissa::cpu
