#pragma once
// The optimizer's part of a training step, written once: the learning-rate
// schedule, the per-step optimizer scalars and each optimizer's element
// update (the loss-scale rule is precision/scaler_rule.hpp). The CPU
// backend's loops (backends/cpu/cpu_optim.cpp), the CUDA kernel
// (backends/cuda/optimizer.cu) and scheduled_lr() (rules.cpp) all call these
// functions, so the backends agree bit for bit by construction.
//
// C++17 and plain structs only: kernel sources include this header, and they
// do not include the engine's public headers; rule_params.hpp turns an
// OptimizerRule into these parameters.
//
// An optimizer is one struct below (its state slots per parameter and its
// element update) plus its case in with_optimizer(); its name and which
// hyperparameters it reads are its row in optimizers.cpp.
#include <cmath>
#include <cstdint>

#include "core/portable.hpp"
#include "mantissa/step_state.hpp"

namespace mantissa::rules {

// ---- learning rate ---------------------------------------------------------

enum class ScheduleCode : int { Constant, Step, Cosine };  // ScheduleKind's order

struct ScheduleParams {
  double base_lr = 0;
  ScheduleCode kind = ScheduleCode::Constant;
  std::int64_t warmup_steps = 0;
  std::int64_t step_size = 1;
  double gamma = 1;
  double min_lr = 0;
  std::int64_t total_steps = 0;
};

// The LR at optimizer step `step` (steps already taken): a linear warm-up
// from 0, then the schedule.
MANTISSA_HD inline double schedule_lr(const ScheduleParams& s, std::int64_t step) {
  const double base = s.base_lr;
  if (s.warmup_steps > 0 && step < s.warmup_steps)
    return base * double(step + 1) / double(s.warmup_steps);
  const std::int64_t t = step - s.warmup_steps;
  switch (s.kind) {
    case ScheduleCode::Constant:
      return base;
    case ScheduleCode::Step: {
      const std::int64_t size = s.step_size > 1 ? s.step_size : 1;
      return base * pow(s.gamma, double(t / size));
    }
    case ScheduleCode::Cosine: {
      const std::int64_t span0 = s.total_steps - s.warmup_steps;
      const std::int64_t span = span0 > 1 ? span0 : 1;
      const double ratio = double(t) / double(span);
      const double progress = ratio < 1.0 ? ratio : 1.0;
      return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    }
  }
  return base;
}

// ---- optimizers ----------------------------------------------------------------

enum class OptimizerCode : int { Sgd, AdamW, Adam };  // OptimizerKind's order

inline constexpr int kMaxSlots = 2;  // per-parameter state tensors, at most

struct OptimizerParams {
  ScheduleParams schedule;
  OptimizerCode code = OptimizerCode::Sgd;
  float momentum = 0;  // SGD
  bool nesterov = false;
  float weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999;  // Adam / AdamW, kept in double for the bias corrections
  float eps = 1e-8f;
  double clip_grad_norm = 0;  // 0: no clipping
  bool skip_on_nonfinite = false;
};

// Whether the state says this optimizer step must not run.
MANTISSA_HD inline bool step_is_skipped(const OptimizerParams& p, const StepState& state) {
  return state.found_inf > 0 && p.skip_on_nonfinite;
}

// The scalars one optimizer step uses, from the state before the step.
// (No default member initialisers: kernels keep one in shared memory.)
struct StepScalars {
  std::int64_t t;  // optimizer steps already taken
  float lr;
  float clip;      // gradient multiplier from global-norm clipping
  float bc1, bc2;  // Adam bias corrections
};

MANTISSA_HD inline StepScalars step_scalars(const OptimizerParams& p, const StepState& state) {
  StepScalars s;
  s.clip = 1.0f;
  s.t = state.optimizer_steps;
  s.lr = float(schedule_lr(p.schedule, s.t));
  if (p.clip_grad_norm > 0) {
    const double norm = sqrt(double(state.grad_sum_squares));
    if (norm > p.clip_grad_norm) s.clip = float(p.clip_grad_norm / (norm + 1e-6));
  }
  const double step = double(s.t + 1);
  s.bc1 = float(1.0 - pow(p.beta1, step));
  s.bc2 = float(1.0 - pow(p.beta2, step));
  return s;
}

// What an optimizer step leaves in the state: skipped (nothing else
// changes, the step count included) or taken with scalars sc.
MANTISSA_HD inline void note_skipped_step(StepState& state) {
  state.skipped_this_step = 1;
  state.learning_rate = 0.0f;
}
MANTISSA_HD inline void note_taken_step(StepState& state, const StepScalars& sc) {
  state.skipped_this_step = 0;
  state.optimizer_steps = sc.t + 1;
  state.learning_rate = sc.lr;
}

// Each optimizer: slots(p), the per-parameter state tensors it keeps (in
// the master's dtype), and update(), one element's step. `w` is the master
// value, `g` the fp32 gradient, `wd` the weight decay for this parameter (0
// where it is exempt), `m` and `v` the element's state slots widened to fp32
// (those the optimizer keeps), updated in place; it returns the new master
// value. (Two scalars rather than an array: an array in the CPU's element
// loop keeps the compiler from vectorising it.) Callers round w and
// the slots to their storage type afterwards; the update itself uses the
// unrounded values.

// SGD (PyTorch torch.optim.SGD, dampening 0): g += wd * w; buf = momentum *
// buf + g; step = nesterov ? g + momentum * buf : buf; w -= lr * step. With
// zero-initialised buffers the first step gives buf = g, as PyTorch's
// first-step copy does.
struct Sgd {
  MANTISSA_HD static int slots(const OptimizerParams& p) { return p.momentum != 0 ? 1 : 0; }
  MANTISSA_HD static float update(const OptimizerParams& p, const StepScalars& s, float wd,
                                  float w, float g, float& m, float&) {
    float gi = g * s.clip + wd * w;
    if (p.momentum != 0) {
      const float b = p.momentum * m + gi;
      m = b;
      gi = p.nesterov ? gi + p.momentum * b : b;
    }
    return w - s.lr * gi;
  }
};

// AdamW (decoupled weight decay, PyTorch torch.optim.AdamW).
struct AdamW {
  MANTISSA_HD static int slots(const OptimizerParams&) { return 2; }
  MANTISSA_HD static float update(const OptimizerParams& p, const StepScalars& s, float wd,
                                  float w, float g, float& m, float& v) {
    const float b1 = float(p.beta1), b2 = float(p.beta2);
    const float wi = w * (1.0f - s.lr * wd);
    const float gi = g * s.clip;
    m = b1 * m + (1.0f - b1) * gi;
    v = b2 * v + (1.0f - b2) * gi * gi;
    return wi - s.lr * (m / s.bc1) / (sqrtf(v / s.bc2) + p.eps);
  }
};

// Adam with L2 weight decay added to the gradient (PyTorch torch.optim.Adam).
struct Adam {
  MANTISSA_HD static int slots(const OptimizerParams&) { return 2; }
  MANTISSA_HD static float update(const OptimizerParams& p, const StepScalars& s, float wd,
                                  float w, float g, float& m, float& v) {
    const float b1 = float(p.beta1), b2 = float(p.beta2);
    const float gi = g * s.clip + wd * w;
    m = b1 * m + (1.0f - b1) * gi;
    v = b2 * v + (1.0f - b2) * gi * gi;
    return w - s.lr * (m / s.bc1) / (sqrtf(v / s.bc2) + p.eps);
  }
};

// Calls f(Optimizer{}) for the code's optimizer struct; host code (a kernel
// launch) and device code both dispatch through it.
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class F>
MANTISSA_HD decltype(auto) with_optimizer(OptimizerCode code, F&& f) {
  switch (code) {
    case OptimizerCode::AdamW:
      return f(AdamW{});
    case OptimizerCode::Adam:
      return f(Adam{});
    case OptimizerCode::Sgd:
      break;
  }
  return f(Sgd{});
}

MANTISSA_HD inline int optimizer_slots(const OptimizerParams& p) {
  return with_optimizer(p.code, [&](auto o) { return decltype(o)::slots(p); });
}

}  // namespace mantissa::rules
