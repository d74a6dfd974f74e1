#include "train/memory_fit.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/precision.hpp"

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

// A layer's weights, gradients and optimizer state as TrainingStep and the
// layers allocate them, per parameter: the master (fp32; the 16-bit type
// under the pure policies), its fp32 gradient, the optimizer's slots and the
// weight fingerprint's copy of the previous masters in the master's dtype,
// and a compute copy where the dtype the layer computes the parameter in
// differs from the master's (layer_util.cpp): the weights of a Linear,
// convolution, attention or embedding in the layer's own dtype, the other
// parameters in fp32. Virtual ranks add an fp32 sum of the gradients.
double layer_state_bytes(const LayerInfo& l, const TrainingSpec& t) {
  const DType master = master_dtype(t.policy);
  const double m = double(dtype_size(master));
  const double per_param = m + 4.0 + m * optimizer_slots(t.optimizer) + m +
                           (std::max(1, t.virtual_ranks) > 1 ? 4.0 : 0.0);
  const bool pure = t.policy == Policy::Float16 || t.policy == Policy::BFloat16;
  // The weights' compute dtype: under the pure policies the master's unless
  // pinned; otherwise what the layer emits (a pinned one fp32, an
  // embedding fp32 under the mixed policies).
  const DType own = l.pin_fp32 ? DType::F32
                    : pure     ? master
                               : l.output_dtype[summary_index(t.policy)];
  const double weight_copy = own != master ? double(dtype_size(own)) : 0.0;
  const double other_copy = master != DType::F32 ? 4.0 : 0.0;
  return double(l.params) * per_param + double(l.weight_params) * weight_copy +
         double(l.params - l.weight_params) * other_copy;
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
  const std::int64_t rows = (batch + ranks - 1) / ranks;
  const std::size_t p = summary_index(t.policy);
  for (const LayerInfo& l : s.layers) e.state += layer_state_bytes(l, t);
  e.activations = double(s.training_activation_bytes[p]) * double(rows);
  return e;
}

void check_model_fits(const ModelSummary& s, const TrainingSpec& t, std::int64_t batch,
                      const Backend& backend) {
  const std::size_t available = available_memory(backend);
  if (available == 0) return;  // unknown: let the allocator speak
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
        bytes_text(layer_state_bytes(*heaviest, t)) + ")");
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
