// The optimizer step and the loss-scale update, decided on the device from
// the step-state vector: the host only turns the rules into plain parameters.
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/loss_scale.cuh"
#include "backends/cuda/optimizer.cuh"
#include "backends/cuda/rule_params.hpp"
#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"

namespace mantissa::cuda {

namespace {

namespace ss = step_state;

void check_state(const Tensor& state) {
  MANTISSA_ASSERT(state.dtype() == DType::F32 && state.numel() >= ss::kSize,
                  "the step state must be f32 with " + std::to_string(ss::kSize) + " values, got " +
                      state.describe());
}

}  // namespace

void CudaBackend::optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                                 std::span<const Tensor> moment1, std::span<const Tensor> moment2,
                                 std::span<const std::uint8_t> decay, Tensor& state,
                                 const OptimizerRule& rule) {
  check_state(state);
  const OptimizerParams params = optimizer_params(rule);
  MANTISSA_ASSERT(grads.size() == masters.size() && decay.size() == masters.size(),
                  "optimizer_step: one gradient and one decay flag per master");
  if (params.adamw) {
    MANTISSA_ASSERT(moment1.size() == masters.size() && moment2.size() == masters.size(),
                    "optimizer_step: AdamW needs both moments for every master");
  }
  std::vector<TensorSlot> slots(masters.size());
  for (std::size_t i = 0; i < masters.size(); ++i) {
    const Tensor& w = masters[i];
    MANTISSA_ASSERT(grads[i].dtype() == DType::F32 && grads[i].numel() == w.numel(),
                    "optimizer gradient must be fp32 and match its parameter");
    TensorSlot& s = slots[i];
    s.ptr[0] = w.data();
    s.ptr[1] = grads[i].data();
    s.numel = w.numel();
    s.dtype[0] = std::int32_t(w.dtype());
    s.flags = decay[i] ? 1 : 0;
    // Moments are stored in the master's dtype, as on the CPU backend.
    if (i < moment1.size()) {
      MANTISSA_ASSERT(moment1[i].dtype() == w.dtype() && moment1[i].numel() == w.numel(),
                      "optimizer moment must match its parameter: " + moment1[i].describe());
      s.ptr[2] = moment1[i].data();
    }
    if (params.adamw) {
      MANTISSA_ASSERT(moment2[i].dtype() == w.dtype() && moment2[i].numel() == w.numel(),
                      "optimizer moment must match its parameter: " + moment2[i].describe());
      s.ptr[3] = moment2[i].data();
    }
  }
  enter();
  launch_optimizer_step(tables_.get(slots), state.data_as<float>(), params, stream());
}

void CudaBackend::update_loss_scale(Tensor& state, const ScalerRule& rule) {
  check_state(state);
  enter();
  launch_update_loss_scale(state.data_as<float>(), scaler_params(rule), stream());
}

}  // namespace mantissa::cuda
