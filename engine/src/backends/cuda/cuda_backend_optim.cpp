// The optimizer step and the loss-scale update, decided on the device from
// the step-state vector: the host only turns the rules into plain parameters.
// Also the weight fingerprint of each step.
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/fingerprint.cuh"
#include "backends/cuda/loss_scale.cuh"
#include "backends/cuda/optimizer.cuh"
#include "optim/fingerprint_rule.hpp"
#include "optim/rule_params.hpp"
#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"

namespace mantissa::cuda {

void CudaBackend::optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                                 std::span<const Tensor> slots, std::span<const std::uint8_t> decay,
                                 Tensor& state, const OptimizerRule& rule) {
  StepState* step_state = step_state_of(state);
  const rules::OptimizerParams params = rules::optimizer_params(rule);
  const int per_master = rules::optimizer_slots(params);
  static_assert(rules::kMaxSlots <= 2, "a pointer-table slot holds master, gradient and two more");
  MANTISSA_ASSERT(grads.size() == masters.size() && decay.size() == masters.size() &&
                      slots.size() == std::size_t(per_master) * masters.size(),
                  "optimizer_step: one gradient, one decay flag and " +
                      std::to_string(per_master) + " state slot(s) per master");
  std::vector<TensorSlot> table(masters.size());
  for (std::size_t i = 0; i < masters.size(); ++i) {
    const Tensor& w = masters[i];
    MANTISSA_ASSERT(grads[i].dtype() == DType::F32 && grads[i].numel() == w.numel(),
                    "optimizer gradient must be fp32 and match its parameter");
    TensorSlot& s = table[i];
    s.ptr[0] = w.data();
    s.ptr[1] = grads[i].data();
    s.numel = w.numel();
    s.dtype[0] = std::int32_t(w.dtype());
    s.flags = decay[i] ? 1 : 0;
    // State slots are stored in the master's dtype, as on the CPU backend.
    for (int k = 0; k < per_master; ++k) {
      const Tensor& slot = slots[std::size_t(k) * masters.size() + i];
      MANTISSA_ASSERT(slot.dtype() == w.dtype() && slot.numel() == w.numel(),
                      "optimizer state must match its parameter: " + slot.describe());
      s.ptr[2 + k] = slot.data();
    }
  }
  enter();
  launch_optimizer_step(tables_.get(table), step_state, params, stream());
}

void CudaBackend::update_loss_scale(Tensor& state, const ScalerRule& rule) {
  StepState* step_state = step_state_of(state);
  enter();
  launch_update_loss_scale(step_state, rules::scaler_params(rule), stream());
}

void CudaBackend::weight_fingerprint(std::span<const Tensor> weights,
                                     std::span<const Tensor> previous, Tensor& out) {
  const auto n = std::int64_t(weights.size());
  MANTISSA_ASSERT(previous.empty() || previous.size() == weights.size(),
                  "weight_fingerprint: one previous copy per weight, or none");
  MANTISSA_ASSERT(out.dtype() == DType::F32 && out.numel() == rules::fingerprint_words(n),
                  "weight_fingerprint output must be " + std::to_string(rules::fingerprint_words(n)) +
                      " fp32 words");
  std::vector<TensorSlot> table(weights.size());
  for (std::size_t k = 0; k < weights.size(); ++k) {
    table[k].ptr[0] = weights[k].data();
    table[k].numel = weights[k].numel();
    table[k].dtype[0] = std::int32_t(weights[k].dtype());
    if (!previous.empty()) {
      MANTISSA_ASSERT(previous[k].dtype() == weights[k].dtype() &&
                          previous[k].numel() == weights[k].numel(),
                      "weight_fingerprint: a previous copy must match its weight");
      table[k].ptr[1] = previous[k].data();
    }
  }
  enter();
  launch_weight_fingerprint(tables_.get(table), out.data_as<float>(), out.numel(), stream());
}

}  // namespace mantissa::cuda
