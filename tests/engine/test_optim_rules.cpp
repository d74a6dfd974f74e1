// The CPU optimizers and LR schedules against the update rules PyTorch
// documents (torch.optim.SGD, torch.optim.AdamW, clip_grad_norm_), computed
// here in plain double arithmetic, independently of the engine's kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/optim.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {
namespace ssw = step_state_word;
using Vec = std::vector<double>;

// Two parameter tensors: a "weight" that takes weight decay and a "bias" that
// does not, with gradients that change from step to step.
const Vec kW0 = {0.5, -1.25, 2.0, 0.0, -0.3};
const Vec kB0 = {0.1, -0.2};
Vec grad_w(int step) {
  return {0.3 - 0.1 * step, -0.7, 1.5 * step - 1.0, 0.05, -2.0 + step};
}
Vec grad_b(int step) {
  return {0.4 * step - 0.2, 0.9};
}

Tensor upload(Backend& b, const Vec& v) {
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from_host(b, Shape{std::int64_t(f.size())}, DType::F32, f.data());
}

void expect_close(const Tensor& t, const Vec& want, const char* what, int step) {
  const std::vector<float> got = t.to_host();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 2e-6 * std::max(1.0, std::abs(want[i])))
        << what << "[" << i << "] after step " << step;
}

// Runs `steps` optimizer steps on the CPU backend and compares masters (and
// the first moment) with `reference`, which advances its own copies one step.
template <class Reference>
void compare(OptimizerRule rule, int steps, Reference reference) {
  auto backend = create_backend("cpu");
  std::vector<Tensor> masters{upload(*backend, kW0), upload(*backend, kB0)};
  std::vector<Tensor> grads{upload(*backend, grad_w(0)), upload(*backend, grad_b(0))};
  // The optimizer's state, slot by slot: slots[k * 2 + i] is master i's slot k.
  std::vector<Tensor> slots;
  for (int k = 0; k < optimizer_slots(rule.optimizer); ++k)
    for (const Tensor& w : masters) slots.push_back(Tensor::zeros(*backend, w.shape(), DType::F32));
  const std::vector<std::uint8_t> decay{1, 0};
  Tensor state = make_step_state(*backend, StepState{});
  Vec w = kW0, b = kB0, mw(kW0.size()), mb(kB0.size()), vw(kW0.size()), vb(kB0.size());
  for (int step = 0; step < steps; ++step) {
    const Vec gw = grad_w(step), gb = grad_b(step);
    std::vector<float> fw(gw.begin(), gw.end()), fb(gb.begin(), gb.end());
    grads[0].copy_from_host(fw.data());
    grads[1].copy_from_host(fb.data());
    double sum_sq = 0;
    for (double g : gw) sum_sq += float(g) * double(float(g));
    for (double g : gb) sum_sq += float(g) * double(float(g));
    StepState s = read_step_state(state);
    s.grad_sum_squares = float(sum_sq);
    write_step_state(state, s);
    backend->optimizer_step(masters, grads, slots, decay, state, rule);
    // The global clip coefficient of torch.nn.utils.clip_grad_norm_.
    double clip = 1;
    if (rule.clip_grad_norm > 0) {
      const double norm = std::sqrt(double(float(sum_sq)));
      clip = std::min(1.0, rule.clip_grad_norm / (norm + 1e-6));
    }
    const double lr = scheduled_lr(rule, step);
    reference(w, gw, mw, vw, rule.optimizer.weight_decay, lr, clip, step + 1);
    reference(b, gb, mb, vb, 0.0, lr, clip, step + 1);
    expect_close(masters[0], w, "weight", step + 1);
    expect_close(masters[1], b, "bias", step + 1);
    if (!slots.empty()) {
      expect_close(slots[0], mw, "moment1 of weight", step + 1);
      expect_close(slots[1], mb, "moment1 of bias", step + 1);
    }
    if (slots.size() == 4) {
      expect_close(slots[2], vw, "moment2 of weight", step + 1);
      expect_close(slots[3], vb, "moment2 of bias", step + 1);
    }
    const StepState after = read_step_state(state);
    EXPECT_EQ(after.optimizer_steps, step + 1);
    EXPECT_FLOAT_EQ(after.learning_rate, float(lr));
  }
}

// torch.optim.SGD (dampening 0): g += wd·w; buf = g on the first step, then
// buf = μ·buf + g; g = g + μ·buf with Nesterov, else buf; w -= lr·g.
void sgd_reference(Vec& w, const Vec& grad, Vec& buf, Vec&, double wd, double lr, double clip,
                   int t, double mu, bool nesterov) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    double g = double(float(grad[i])) * clip + wd * w[i];
    if (mu != 0) {
      buf[i] = t == 1 ? g : mu * buf[i] + g;
      g = nesterov ? g + mu * buf[i] : buf[i];
    }
    w[i] -= lr * g;
  }
}

// torch.optim.AdamW: w *= 1 - lr·wd; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
// w -= lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps).
void adamw_reference(Vec& w, const Vec& grad, Vec& m, Vec& v, double wd, double lr, double clip,
                     int t, double b1, double b2, double eps) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double g = double(float(grad[i])) * clip;
    w[i] *= 1 - lr * wd;
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    const double step_size = lr / (1 - std::pow(b1, t));
    const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
    w[i] -= step_size * m[i] / denom;
  }
}

// torch.optim.Adam (weight_decay as L2): g += wd·w; m = β1·m + (1-β1)·g;
// v = β2·v + (1-β2)·g²; w -= lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps).
void adam_reference(Vec& w, const Vec& grad, Vec& m, Vec& v, double wd, double lr, double clip,
                    int t, double b1, double b2, double eps) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double g = double(float(grad[i])) * clip + wd * w[i];
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    const double step_size = lr / (1 - std::pow(b1, t));
    const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
    w[i] -= step_size * m[i] / denom;
  }
}

TEST(OptimizerRules, SgdMomentumMatchesTorchFormula) {
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "heavy ball");
    OptimizerRule r;
    r.optimizer.kind = OptimizerKind::Sgd;
    r.optimizer.lr = 0.05;
    r.optimizer.momentum = 0.9;
    r.optimizer.nesterov = nesterov;
    r.optimizer.weight_decay = 0.01;  // L2, added to the gradient
    compare(r, 4,
            [&](Vec& w, const Vec& g, Vec& buf, Vec& v, double wd, double lr, double clip, int t) {
              sgd_reference(w, g, buf, v, wd, lr, clip, t, 0.9, nesterov);
            });
  }
}

TEST(OptimizerRules, PlainSgdHasNoMomentumBuffer) {
  OptimizerRule r;
  r.optimizer.lr = 0.2;
  r.optimizer.momentum = 0;
  compare(r, 3,
          [&](Vec& w, const Vec& g, Vec& buf, Vec& v, double wd, double lr, double clip, int t) {
            sgd_reference(w, g, buf, v, wd, lr, clip, t, 0.0, false);
          });
}

// Adam's weight decay enters the moments (L2), unlike AdamW's; with clipping
// on, the clip applies to the gradient before the decay term is added.
TEST(OptimizerRules, AdamWithL2DecayMatchesTorchFormula) {
  OptimizerRule r;
  r.optimizer.kind = OptimizerKind::Adam;
  r.optimizer.lr = 0.02;
  r.optimizer.beta1 = 0.85;
  r.optimizer.beta2 = 0.99;
  r.optimizer.eps = 1e-7;
  r.optimizer.weight_decay = 0.05;
  r.clip_grad_norm = 0.5;
  EXPECT_EQ(optimizer_slots(r.optimizer), 2);
  compare(r, 5,
          [&](Vec& w, const Vec& g, Vec& m, Vec& v, double wd, double lr, double clip, int t) {
            adam_reference(w, g, m, v, wd, lr, clip, t, 0.85, 0.99, 1e-7);
          });
}

TEST(OptimizerRules, AdamWDecoupledDecayMatchesTorchFormula) {
  OptimizerRule r;
  r.optimizer.kind = OptimizerKind::AdamW;
  r.optimizer.lr = 0.01;
  r.optimizer.beta1 = 0.8;
  r.optimizer.beta2 = 0.95;
  r.optimizer.eps = 1e-6;
  r.optimizer.weight_decay = 0.1;  // decoupled: scales w, never enters m or v
  compare(r, 4,
          [&](Vec& w, const Vec& g, Vec& m, Vec& v, double wd, double lr, double clip, int t) {
            adamw_reference(w, g, m, v, wd, lr, clip, t, 0.8, 0.95, 1e-6);
          });
}

// The first AdamW step moves every weight with a non-zero gradient by lr
// (times the sign), minus the decoupled decay: a closed form, no recursion.
TEST(OptimizerRules, AdamWFirstStepIsLrTimesSign) {
  auto backend = create_backend("cpu");
  const float w0[3] = {2.0f, -1.0f, 0.5f}, g0[3] = {3.0f, -0.001f, 250.0f};
  Tensor w = Tensor::from_host(*backend, Shape{3}, DType::F32, w0);
  Tensor g = Tensor::from_host(*backend, Shape{3}, DType::F32, g0);
  Tensor m = Tensor::zeros(*backend, Shape{3}, DType::F32);
  Tensor v = Tensor::zeros(*backend, Shape{3}, DType::F32);
  Tensor state = make_step_state(*backend, StepState{});
  OptimizerRule r;
  r.optimizer.kind = OptimizerKind::AdamW;
  r.optimizer.lr = 0.01;
  r.optimizer.weight_decay = 0.5;
  r.optimizer.eps = 0;
  std::vector<Tensor> ws{w}, gs{g}, slots{m, v};
  backend->optimizer_step(ws, gs, slots, std::vector<std::uint8_t>{1}, state, r);
  const auto got = w.to_host();
  for (int i = 0; i < 3; ++i) {
    const double want = double(w0[i]) * (1 - 0.01 * 0.5) - 0.01 * (g0[i] > 0 ? 1 : -1);
    EXPECT_NEAR(got[std::size_t(i)], want, 1e-6) << i;
  }
}

// Gradient clipping scales every gradient by max_norm / (norm + 1e-6) when
// the global norm is above max_norm, before momentum sees it.
TEST(OptimizerRules, ClippedSgdMatchesTorchFormula) {
  OptimizerRule r;
  r.optimizer.lr = 0.1;
  r.optimizer.momentum = 0.5;
  r.clip_grad_norm = 1.0;  // the test gradients have norms between 1.5 and 4
  compare(r, 3,
          [&](Vec& w, const Vec& g, Vec& buf, Vec& v, double wd, double lr, double clip, int t) {
            EXPECT_LT(clip, 1.0);
            sgd_reference(w, g, buf, v, wd, lr, clip, t, 0.5, false);
          });
}

// Linear warm-up: step t (from 0) of W uses lr·(t+1)/W. Cosine after it:
// min + (lr - min)·(1 + cos(π·(t - W)/(T - W)))/2, reaching min once T steps
// are done.
double warmup_cosine(double lr, double min_lr, std::int64_t warmup, std::int64_t total,
                     std::int64_t t) {
  if (t < warmup) return lr * double(t + 1) / double(warmup);
  const double progress = std::min(1.0, double(t - warmup) / double(total - warmup));
  return min_lr + (lr - min_lr) * 0.5 * (1 + std::cos(std::acos(-1.0) * progress));
}

TEST(OptimizerRules, WarmupAndCosineScheduleFollowTheFormula) {
  OptimizerRule r;
  r.optimizer.lr = 0.1;
  r.schedule.kind = ScheduleKind::Cosine;
  r.schedule.warmup_steps = 4;
  r.schedule.min_lr = 0.01;
  r.total_steps = 24;
  for (std::int64_t t = 0; t <= 30; ++t)
    EXPECT_NEAR(scheduled_lr(r, t), warmup_cosine(0.1, 0.01, 4, 24, t), 1e-15) << "step " << t;
  // Landmarks: a quarter, the full rate at the end of warm-up, the midpoint
  // half-way through the cosine, the floor at the end and after it.
  EXPECT_DOUBLE_EQ(scheduled_lr(r, 0), 0.025);
  EXPECT_DOUBLE_EQ(scheduled_lr(r, 3), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(r, 4), 0.1);
  EXPECT_NEAR(scheduled_lr(r, 14), 0.055, 1e-15);
  EXPECT_NEAR(scheduled_lr(r, 24), 0.01, 1e-15);
  EXPECT_NEAR(scheduled_lr(r, 29), 0.01, 1e-15);
  for (std::int64_t t = 4; t < 24; ++t) EXPECT_GT(scheduled_lr(r, t), scheduled_lr(r, t + 1));

  // Warm-up before a constant rate.
  OptimizerRule c;
  c.optimizer.lr = 0.3;
  c.schedule.warmup_steps = 3;
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 1), 0.2);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 2), 0.3);
  EXPECT_DOUBLE_EQ(scheduled_lr(c, 50), 0.3);
}

// In a run, each step reports the rate of the schedule for the optimizer
// steps already taken, with T the run's total steps.
TEST(OptimizerRules, TrainerReportsTheScheduledRate) {
  Project p = testing::spirals_project(Policy::Float32, 20);
  p.training.optimizer.lr = 0.2;
  p.training.schedule.kind = ScheduleKind::Cosine;
  p.training.schedule.warmup_steps = 5;
  p.training.schedule.min_lr = 0.02;
  auto backend = create_backend("cpu");
  Trainer t(p, *backend);
  testing::RecordingSink sink;
  TrainControl control;
  ASSERT_EQ(t.run(sink, control).outcome, RunOutcome::Finished);
  ASSERT_EQ(sink.steps.size(), 20u);
  for (const StepMetrics& m : sink.steps)
    EXPECT_FLOAT_EQ(m.lr, float(warmup_cosine(0.2, 0.02, 5, 20, m.step - 1))) << "step " << m.step;
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// Every optimizer is one row: a project names it, reads exactly its
// hyperparameters, writes it back, and trains with its state slots.
TEST(OptimizerRules, EveryOptimizerKindRoundTripsThroughAProjectAndTrains) {
  ASSERT_EQ(optimizer_kinds().size(), 3u);
  for (const OptimizerInfo& info : optimizer_kinds()) {
    SCOPED_TRACE(std::string(info.name));
    EXPECT_EQ(find_optimizer(info.name), &info);
    EXPECT_EQ(&optimizer_info(info.kind), &info);
    Project p = testing::spirals_project(Policy::Float32, 4);
    p.training.optimizer.kind = info.kind;
    p.training.optimizer.lr = 0.01;
    p.training.optimizer.beta1 = 0.7;
    const std::string json = project_to_json(p);
    EXPECT_NE(json.find("\"type\": \"" + std::string(info.name) + "\""), std::string::npos) << json;
    EXPECT_EQ(json.find("\"beta1\"") != std::string::npos, info.uses_betas) << json;
    EXPECT_EQ(json.find("\"momentum\"") != std::string::npos, info.uses_momentum) << json;
    const Project back = parse_project(json, "round-trip.json");
    EXPECT_EQ(back.training.optimizer.kind, info.kind);
    if (info.uses_betas) {
      EXPECT_EQ(back.training.optimizer.beta1, 0.7);
    }
    EXPECT_EQ(optimizer_slots(back.training.optimizer), info.kind == OptimizerKind::Sgd ? 1 : 2);
    testing::RecordingSink sink;
    testing::run_on_cpu(back, sink);
    ASSERT_EQ(sink.steps.size(), 4u);
    for (const StepMetrics& m : sink.steps) EXPECT_TRUE(std::isfinite(m.loss));
  }
  OptimizerSpec plain;
  plain.momentum = 0;
  EXPECT_EQ(optimizer_slots(plain), 0) << "SGD without momentum keeps no buffer";
}

}  // namespace
}  // namespace mantissa
