// Optimizer steps and the loss-scale update on the CPU. Decisions (skip or
// step, grow or back off) are taken here from the state vector, as a GPU
// backend takes them on device, so the trainer never branches on them. The
// rules themselves are step_rules.hpp's, which the CUDA kernels share.
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"
#include "optim/rule_params.hpp"

namespace mantissa::cpu {

namespace {
constexpr std::int64_t kChunk = 16384;  // elements per work item

// Loads element i of a master / moment tensor as fp32 and stores it back
// rounded to the tensor's dtype (fp16 / bf16 under the pure policies).
inline float load(const void* p, DType d, std::int64_t i) {
  switch (d) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::F16:
      return f16_to_f32(static_cast<const std::uint16_t*>(p)[i]);
    case DType::BF16:
      return bf16_to_f32(static_cast<const std::uint16_t*>(p)[i]);
  }
  return 0;
}
inline void store(void* p, DType d, std::int64_t i, float v) {
  switch (d) {
    case DType::F32:
      static_cast<float*>(p)[i] = v;
      break;
    case DType::F16:
      static_cast<std::uint16_t*>(p)[i] = f32_to_f16(v);
      break;
    case DType::BF16:
      static_cast<std::uint16_t*>(p)[i] = f32_to_bf16(v);
      break;
  }
}

// One chunk of one master through optimizer O's element update
// (step_rules.hpp): the master and its slots are loaded as fp32, updated,
// and stored back rounded to the master's dtype.
template <class O, DType D, int Slots>
void update_kernel(const rules::OptimizerParams& p, const rules::StepScalars& sc, float wd,
                   void* w, const float* g, void* const* slot, std::int64_t n) {
  // The slot count is a constant here, so the loop over slots unrolls and the
  // element loop vectorises as a hand-written one per optimizer would.
  // Local copies: the stores below go through untyped pointers, which the
  // compiler must otherwise assume may change the caller's parameters.
  const rules::OptimizerParams params = p;
  const rules::StepScalars scalars = sc;
  void* s0 = Slots > 0 ? slot[0] : nullptr;
  void* s1 = Slots > 1 ? slot[1] : nullptr;
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    float m = 0, v = 0;
    if constexpr (Slots > 0) m = load(s0, D, i);
    if constexpr (Slots > 1) v = load(s1, D, i);
    const float nw = O::update(params, scalars, wd, load(w, D, i), g[i], m, v);
    if constexpr (Slots > 0) store(s0, D, i, m);
    if constexpr (Slots > 1) store(s1, D, i, v);
    store(w, D, i, nw);
  }
}

template <class F>
void dispatch(DType d, F&& f) {
  switch (d) {
    case DType::F32:
      f(std::integral_constant<DType, DType::F32>{});
      break;
    case DType::F16:
      f(std::integral_constant<DType, DType::F16>{});
      break;
    case DType::BF16:
      f(std::integral_constant<DType, DType::BF16>{});
      break;
  }
}
}  // namespace

void CpuBackend::optimizer_step(std::span<const Tensor> masters, std::span<const Tensor> grads,
                                std::span<const Tensor> slots, std::span<const std::uint8_t> decay,
                                Tensor& state, const OptimizerRule& rule) {
  StepState& s = *step_state_of(state);
  const rules::OptimizerParams params = rules::optimizer_params(rule);
  if (rules::step_is_skipped(params, s)) {
    // Skipped: masters, slots and the step counter stay bit-identical.
    rules::note_skipped_step(s);
    return;
  }
  const int per_master = rules::optimizer_slots(params);
  MANTISSA_ASSERT(grads.size() == masters.size() && decay.size() == masters.size() &&
                      slots.size() == std::size_t(per_master) * masters.size(),
                  "optimizer_step: one gradient, one decay flag and " +
                      std::to_string(per_master) + " state slot(s) per master");
  const rules::StepScalars sc = rules::step_scalars(params, s);
  // One work list over every tensor, one OpenMP region: small layers do not
  // each pay a region's start-up.
  struct Chunk {
    std::size_t tensor;
    std::int64_t begin, n;
  };
  std::vector<Chunk> chunks;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < masters.size(); ++i) {
    MANTISSA_ASSERT(grads[i].dtype() == DType::F32 && grads[i].numel() == masters[i].numel(),
                    "optimizer gradient must be fp32 and match its parameter");
    for (int k = 0; k < per_master; ++k) {
      const Tensor& slot = slots[std::size_t(k) * masters.size() + i];
      MANTISSA_ASSERT(slot.dtype() == masters[i].dtype() && slot.numel() == masters[i].numel(),
                      "optimizer state must match its parameter: " + slot.describe());
    }
    const std::int64_t n = masters[i].numel();
    for (std::int64_t b = 0; b < n; b += kChunk) chunks.push_back({i, b, std::min(kChunk, n - b)});
    total += n;
  }
  const auto count = std::int64_t(chunks.size());
#pragma omp parallel for schedule(static) if (total > 32768)
  for (std::int64_t c = 0; c < count; ++c) {
    const Chunk& ch = chunks[std::size_t(c)];
    const Tensor& w = masters[ch.tensor];
    const std::size_t off = std::size_t(ch.begin) * dtype_size(w.dtype());
    auto at = [&](const Tensor& x) { return static_cast<char*>(x.data()) + off; };
    void* slot[rules::kMaxSlots] = {};
    for (int k = 0; k < per_master; ++k)
      slot[k] = at(slots[std::size_t(k) * masters.size() + ch.tensor]);
    const float* g = grads[ch.tensor].data_as<const float>() + ch.begin;
    const float wd = decay[ch.tensor] ? params.weight_decay : 0.0f;
    rules::with_optimizer(params.code, [&](auto o) {
      dispatch(w.dtype(), [&](auto d) {
        constexpr DType D = decltype(d)::value;
        using O = decltype(o);
        if (per_master == 0)
          update_kernel<O, D, 0>(params, sc, wd, at(w), g, slot, ch.n);
        else if (per_master == 1)
          update_kernel<O, D, 1>(params, sc, wd, at(w), g, slot, ch.n);
        else
          update_kernel<O, D, 2>(params, sc, wd, at(w), g, slot, ch.n);
      });
    });
  }
  rules::note_taken_step(s, sc);
}

void CpuBackend::update_loss_scale(Tensor& state, const ScalerRule& rule) {
  rules::apply_scaler_rule(*step_state_of(state), rules::scaler_params(rule));
}

}  // namespace mantissa::cpu
