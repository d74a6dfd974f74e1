#include "train/memory_fit.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {
namespace {

std::size_t host_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// Per parameter: fp32 master and gradient, a 16-bit compute copy under mixed
// policies, the optimizer's fp32 state, the weight fingerprint's copy of the
// previous masters, and the fp32 values the initial weights are drawn into
// on the host.
double bytes_per_param(const TrainingSpec& t) {
  const bool mixed = t.policy != Policy::Float32;
  const double optimizer = 4.0 * optimizer_slots(t.optimizer);
  return 4.0 + 4.0 + (mixed ? 2.0 : 0.0) + optimizer + 4.0 + 4.0;
}

}  // namespace

std::size_t available_memory(const Backend& backend) {
  const MemoryStats m = backend.memory_stats();
  if (m.driver_total > 0) return m.driver_total - std::min(m.driver_total, m.driver_in_use);
  return host_available_bytes();
}

std::string memory_report(const Backend& backend) {
  const MemoryStats m = backend.memory_stats();
  std::string text = bytes_text(double(m.in_use)) + " held by tensors";
  if (const std::size_t free = available_memory(backend); free > 0)
    text += ", " + bytes_text(double(free)) +
            (m.driver_total > 0 ? " free on the device" : " of memory free");
  return text;
}

MemoryEstimate estimate_memory(const ModelSummary& s, const TrainingSpec& t, std::int64_t batch) {
  MemoryEstimate e;
  // Virtual ranks: an fp32 sum of the gradients more, and activations of one
  // shard at a time.
  const int ranks = std::max(1, t.virtual_ranks);
  const double per_param = bytes_per_param(t) + (ranks > 1 ? 4.0 : 0.0);
  const std::int64_t rows = (batch + ranks - 1) / ranks;
  const std::size_t p = summary_index(t.policy);
  for (const LayerInfo& l : s.layers) e.state += double(l.params) * per_param;
  e.activations = double(s.training_activation_bytes[p]) * double(rows);
  return e;
}

void check_model_fits(const ModelSummary& s, const TrainingSpec& t, std::int64_t batch,
                      const Backend& backend) {
  const std::size_t available = available_memory(backend);
  if (available == 0) return;  // unknown: let the allocator speak
  const double per_param = bytes_per_param(t);
  const std::size_t p = summary_index(t.policy);
  const MemoryEstimate e = estimate_memory(s, t, batch);
  const std::int64_t rows = (batch + std::max(1, t.virtual_ranks) - 1) / std::max(1, t.virtual_ranks);
  const double state = e.state, activations = e.activations;
  const LayerInfo* heaviest = nullptr;
  const LayerInfo* widest = nullptr;
  for (const LayerInfo& l : s.layers) {
    if (!heaviest || l.params > heaviest->params) heaviest = &l;
    if (!widest || l.activation_bytes[p] > widest->activation_bytes[p]) widest = &l;
  }
  const std::string have = bytes_text(double(available)) + " is available on " + backend.name();
  if (state > double(available)) {
    throw OutOfMemoryError(
        "the model does not fit: its weights, gradients and optimizer state need " +
        bytes_text(state) + " and " + have + "; layer '" + heaviest->id + "' alone holds " +
        std::to_string(heaviest->params) + " parameters (" +
        bytes_text(double(heaviest->params) * per_param) + ")");
  }
  if (state + activations > double(available)) {
    throw OutOfMemoryError(
        "a batch of " + std::to_string(batch) + " does not fit: its activations need " +
        bytes_text(activations) + " beside " + bytes_text(state) + " for the model, and " + have +
        "; layer '" + widest->id + "' outputs " +
        bytes_text(double(widest->activation_bytes[p]) * double(rows)) +
        (rows < batch ? " per shard (raise virtual_ranks or lower batch_size)"
                      : " per batch (lower batch_size, or raise virtual_ranks)"));
  }
}

}  // namespace mantissa
