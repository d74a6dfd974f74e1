// Optimizer steps and the loss-scale update on the CPU. Decisions (skip or
// step, grow or back off) are taken here from the state vector, as a GPU
// backend takes them on device, so the trainer never branches on them.
#include <omp.h>

#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"

namespace mantissa::cpu {

namespace {
namespace ss = step_state;
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

// SGD with momentum / Nesterov and L2 weight decay, PyTorch's torch.optim.SGD
// (dampening 0): g += wd * w; buf = momentum * buf + g; step = nesterov ? g +
// momentum * buf : buf; w -= lr * step. With zero-initialised buffers the
// first step gives buf = g, as PyTorch's first-step copy does.
template <DType D>
void sgd_kernel(void* w, const float* g, void* buf, std::int64_t n, float lr, float momentum,
                bool nesterov, float wd, float clip) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    float wi = load(w, D, i);
    float gi = g[i] * clip + wd * wi;
    if (buf) {
      float b = momentum * load(buf, D, i) + gi;
      store(buf, D, i, b);
      gi = nesterov ? gi + momentum * b : b;
    }
    store(w, D, i, wi - lr * gi);
  }
}

// AdamW (decoupled weight decay), PyTorch's torch.optim.AdamW.
template <DType D>
void adamw_kernel(void* w, const float* g, void* m, void* v, std::int64_t n, float lr, float b1,
                  float b2, float eps, float wd, float bc1, float bc2, float clip) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    float wi = load(w, D, i) * (1.0f - lr * wd);
    float gi = g[i] * clip;
    float mi = b1 * load(m, D, i) + (1.0f - b1) * gi;
    float vi = b2 * load(v, D, i) + (1.0f - b2) * gi * gi;
    store(m, D, i, mi);
    store(v, D, i, vi);
    store(w, D, i, wi - lr * (mi / bc1) / (std::sqrt(vi / bc2) + eps));
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
                                std::span<const Tensor> moment1, std::span<const Tensor> moment2,
                                std::span<const std::uint8_t> decay, Tensor& state,
                                const OptimizerRule& rule) {
  float* s = state.data_as<float>();
  if (s[ss::kFoundInf] > 0 && rule.skip_on_nonfinite) {
    // Skipped: masters, moments and the step counter stay bit-identical.
    s[ss::kSkippedThisStep] = 1;
    s[ss::kLearningRate] = 0;
    return;
  }
  s[ss::kSkippedThisStep] = 0;
  const auto t = std::int64_t(s[ss::kOptimizerSteps]);
  const float lr = float(scheduled_lr(rule, t));
  float clip = 1.0f;
  if (rule.clip_grad_norm > 0) {
    const double norm = std::sqrt(double(s[ss::kGradSumSquares]));
    if (norm > rule.clip_grad_norm) clip = float(rule.clip_grad_norm / (norm + 1e-6));
  }
  const OptimizerSpec& o = rule.optimizer;
  const double step = double(t + 1);
  const float bc1 = float(1.0 - std::pow(o.beta1, step));
  const float bc2 = float(1.0 - std::pow(o.beta2, step));
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
    const float* g = grads[ch.tensor].data_as<const float>() + ch.begin;
    const float wd = decay[ch.tensor] ? float(o.weight_decay) : 0.0f;
    if (o.kind == OptimizerKind::Sgd) {
      void* buf = ch.tensor < moment1.size() ? at(moment1[ch.tensor]) : nullptr;
      dispatch(w.dtype(), [&](auto d) {
        sgd_kernel<decltype(d)::value>(at(w), g, buf, ch.n, lr, float(o.momentum), o.nesterov, wd,
                                       clip);
      });
    } else {
      dispatch(w.dtype(), [&](auto d) {
        adamw_kernel<decltype(d)::value>(at(w), g, at(moment1[ch.tensor]), at(moment2[ch.tensor]),
                                         ch.n, lr, float(o.beta1), float(o.beta2), float(o.eps),
                                         wd, bc1, bc2, clip);
      });
    }
  }
  s[ss::kOptimizerSteps] = float(t + 1);
  s[ss::kLearningRate] = lr;
}

void CpuBackend::update_loss_scale(Tensor& state, const ScalerRule& rule) {
  float* s = state.data_as<float>();
  s[ss::kScaleUsed] = s[ss::kScale];
  s[ss::kStepsTaken] =
      s[ss::kStepsTaken] + 1.0f >= ss::kStepsTakenPeriod ? 0.0f : s[ss::kStepsTaken] + 1.0f;
  const bool found = s[ss::kFoundInf] > 0;
  if (found && rule.skips()) {
    s[ss::kSkippedTotal] += 1;
    s[ss::kConsecutiveSkips] += 1;
  } else {
    s[ss::kConsecutiveSkips] = 0;
  }
  if (rule.mode != LossScaleMode::Dynamic) return;
  if (found) {
    float scale = s[ss::kScale] * float(rule.backoff_factor);
    if (rule.min_scale > 0) scale = std::max(scale, float(rule.min_scale));
    s[ss::kScale] = scale;
    s[ss::kGrowthTracker] = 0;
    return;
  }
  s[ss::kGrowthTracker] += 1;
  if (s[ss::kGrowthTracker] >= float(rule.growth_interval)) {
    float grown = s[ss::kScale] * float(rule.growth_factor);
    if (rule.max_scale > 0) grown = std::min(grown, float(rule.max_scale));
    if (std::isfinite(grown)) s[ss::kScale] = grown;
    s[ss::kGrowthTracker] = 0;
  }
}

}  // namespace mantissa::cpu
