// PRECISION.md tests 2, 3, 4, 7 and 8 on the CPU backend: the scaler and the
// optimizer as units, driven through the same backend ops the trainer uses.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/optim.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {
namespace ssw = step_state_word;

struct ScalerHarness {
  std::unique_ptr<Backend> backend = create_backend("cpu");
  Tensor state = make_step_state(*backend, StepState{});
  ScalerRule rule;

  explicit ScalerHarness(double init, long interval = 2000) {
    rule.mode = LossScaleMode::Dynamic;
    rule.growth_interval = interval;
    StepState s = get();
    s.scale = float(init);
    write_step_state(state, s);
  }
  StepState get() { return read_step_state(state); }
  // One step's scaler update with or without a non-finite gradient.
  void step(bool overflow) {
    StepState s = get();
    s.found_inf = overflow ? 1.0f : 0.0f;
    write_step_state(state, s);
    backend->update_loss_scale(state, rule);
  }
};

// PRECISION.md 2: inf / -inf / NaN in the LAST gradient tensor of a real model
// skips the step: weights, moments and the step counter stay bit-identical,
// the scale halves, the tracker resets and one step is counted as skipped.
TEST(LossScaling, NonFiniteInLastGradientSkipsTheStep) {
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    auto backend = create_backend("cpu");
    Project p = testing::spirals_project(Policy::MixedFloat16, 1);
    Graph g(p.model, *backend, Policy::MixedFloat16, 1);
    std::vector<Tensor> masters, grads, m1, m2;
    std::vector<std::uint8_t> decay;
    for (Param* prm : g.params()) {
      masters.push_back(prm->master);
      grads.push_back(prm->grad);
      m1.push_back(Tensor::zeros(*backend, prm->master.shape(), DType::F32));
      m2.push_back(Tensor::zeros(*backend, prm->master.shape(), DType::F32));
      backend->fill(m1.back(), 0.25f);
      backend->fill(m2.back(), 0.5f);
      decay.push_back(1);
    }
    // A real backward first, so every gradient tensor holds ordinary values.
    std::vector<float> x(8, 0.3f), y{0, 1, 1, 0};
    Tensor state = make_step_state(*backend, StepState{});
    StepState s0{};
    s0.scale = 65536;
    s0.growth_tracker = 17;
    s0.optimizer_steps = 5;
    write_step_state(state, s0);
    ExecContext ctx{*backend, true, 0};
    g.prepare_step();
    g.forward(ctx, Tensor::from_host(*backend, Shape{4, 2}, DType::F32, x.data()));
    Tensor loss = state.slice(ssw::kLoss, Shape{1});
    g.loss_and_backward(ctx, Tensor::from_host(*backend, Shape{4}, DType::F32, y.data()),
                        state.slice(ssw::kScale, Shape{1}), loss);
    auto last = grads.back().to_host();
    last.back() = bad;
    grads.back().copy_from_host(last.data());

    auto before = [&](const std::vector<Tensor>& ts) {
      std::vector<std::vector<std::uint8_t>> out;
      for (auto& t : ts) out.push_back(t.to_host_bytes());
      return out;
    };
    auto w0 = before(masters), a0 = before(m1), b0 = before(m2);
    const std::vector<float> g0 = grads.front().to_host();
    OptimizerRule orule;
    orule.optimizer.kind = OptimizerKind::AdamW;
    orule.optimizer.weight_decay = 0.1;
    orule.skip_on_nonfinite = true;
    ScalerRule srule;
    srule.mode = LossScaleMode::Dynamic;

    Tensor found_inf = state.slice(ssw::kFoundInf, Shape{1});
    backend->unscale_and_check(grads, state.slice(ssw::kScale, Shape{1}), found_inf);
    std::vector<Tensor> slots(m1);  // AdamW's slots: all first moments, then all second
    slots.insert(slots.end(), m2.begin(), m2.end());
    backend->optimizer_step(masters, grads, slots, decay, state, orule);
    backend->update_loss_scale(state, srule);
    const StepState s = read_step_state(state);
    EXPECT_EQ(s.found_inf, float(grads.size())) << "index of the last tensor, plus one";
    EXPECT_EQ(before(masters), w0);
    EXPECT_EQ(before(m1), a0);
    EXPECT_EQ(before(m2), b0);
    EXPECT_EQ(s.optimizer_steps, 5);
    EXPECT_EQ(s.scale, 32768.0f);
    EXPECT_EQ(s.scale_used, 65536.0f);
    EXPECT_EQ(s.growth_tracker, 0);
    EXPECT_EQ(s.skipped_total, 1);
    EXPECT_EQ(s.skipped_this_step, 1);
    // Gradients were unscaled in place even though the step was skipped.
    const std::vector<float> g1 = grads.front().to_host();
    for (std::size_t i = 0; i < g0.size(); ++i) EXPECT_EQ(g1[i], g0[i] * (1.0f / 65536.0f)) << i;
  }
}

// PRECISION.md 3: after N-1 clean steps the scale is unchanged, at N it
// doubles; an overflow at step k < N restarts the count.
TEST(LossScaling, GrowsAfterGrowthIntervalCleanSteps) {
  const long n = 5;
  ScalerHarness h(1024, n);
  for (long i = 0; i < n - 1; ++i) h.step(false);
  EXPECT_EQ(h.get().scale, 1024.0f);
  EXPECT_EQ(h.get().growth_tracker, n - 1);
  h.step(false);
  EXPECT_EQ(h.get().scale, 2048.0f);
  EXPECT_EQ(h.get().growth_tracker, 0);

  for (int i = 0; i < 3; ++i) h.step(false);
  h.step(true);  // overflow at k = 4 < N
  EXPECT_EQ(h.get().scale, 1024.0f);
  for (long i = 0; i < n - 1; ++i) h.step(false);
  EXPECT_EQ(h.get().scale, 1024.0f) << "the count restarted at the overflow";
  h.step(false);
  EXPECT_EQ(h.get().scale, 2048.0f);
}

TEST(LossScaling, GrowthNeverReachesInfinityAndMaxScaleClamps) {
  ScalerHarness h(std::ldexp(1.0, 127), 1);
  h.step(false);
  EXPECT_EQ(h.get().scale, float(std::ldexp(1.0, 127))) << "2^128 would be inf in fp32";
  ScalerHarness c(1000, 1);
  c.rule.max_scale = 3000;
  c.step(false);
  EXPECT_EQ(c.get().scale, 2000.0f);
  c.step(false);
  EXPECT_EQ(c.get().scale, 3000.0f);
}

// PRECISION.md 4: repeated overflows follow S0 × 0.5^k exactly; with
// min_scale the scale stops there.
TEST(LossScaling, RepeatedOverflowsHalveExactly) {
  ScalerHarness h(65536);
  for (int k = 1; k <= 40; ++k) {
    h.step(true);
    EXPECT_EQ(h.get().scale, float(65536.0 * std::ldexp(1.0, -k))) << "after " << k;
    EXPECT_EQ(h.get().skipped_total, k);
    EXPECT_EQ(h.get().consecutive_skips, k);
  }
  ScalerHarness m(65536);
  m.rule.min_scale = 128;
  for (int k = 0; k < 20; ++k) m.step(true);
  EXPECT_EQ(m.get().scale, 128.0f);
  m.step(false);
  EXPECT_EQ(m.get().consecutive_skips, 0);
}

TEST(LossScaling, FixedScaleNeverChangesAndSkipsOnlyWhenAsked) {
  ScalerHarness h(512);
  h.rule.mode = LossScaleMode::Fixed;
  h.step(true);
  EXPECT_EQ(h.get().scale, 512.0f);
  EXPECT_EQ(h.get().skipped_total, 0);
  EXPECT_FALSE(h.rule.skips());
  h.rule.skip_nonfinite = true;
  h.step(true);
  EXPECT_EQ(h.get().scale, 512.0f);
  EXPECT_EQ(h.get().skipped_total, 1);
}

// PRECISION.md 7: a gradient of 1e-8 becomes 0 in an fp16 backward with S = 1
// and survives with S = 65536.
TEST(LossScaling, ScalingRescuesTinyFp16Gradients) {
  auto grad_with_scale = [](float scale) {
    auto backend = create_backend("cpu");
    Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "tiny",
      "dataset": {"kind": "blobs"},
      "model": {"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [1]}},
        {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 1}},
        {"id": "loss", "type": "MSE", "inputs": ["fc"]}]}})",
                              "tiny.json");
    Graph g(p.model, *backend, Policy::MixedFloat16, 1);
    for (Param* prm : g.params()) backend->fill(prm->master, 0.0f);  // prediction 0
    g.prepare_step();
    float x = 1.0f, target = -5e-9f;  // d(loss)/d(pred) = 2 (0 - target) = 1e-8
    ExecContext ctx{*backend, true, 0};
    g.forward(ctx, Tensor::from_host(*backend, Shape{1, 1}, DType::F32, &x));
    Tensor s = Tensor::from_host(*backend, Shape{1}, DType::F32, &scale);
    Tensor loss = Tensor::empty(*backend, Shape{1}, DType::F32);
    Tensor found = Tensor::zeros(*backend, Shape{1}, DType::F32);
    g.loss_and_backward(ctx, Tensor::from_host(*backend, Shape{1, 1}, DType::F32, &target), s,
                        loss);
    std::vector<Tensor> grads;
    for (Param* prm : g.params()) grads.push_back(prm->grad);
    backend->unscale_and_check(grads, s, found);
    return grads[0].to_host()[0];  // d loss / d weight = 1e-8 * x
  };
  EXPECT_EQ(grad_with_scale(1.0f), 0.0f);
  EXPECT_NEAR(grad_with_scale(65536.0f), 1e-8f, 1e-10f);
}

// PRECISION.md 8: w = 1.0 updated by 1e-4 for 100 steps reaches ≈ 1.01 with
// fp32 master weights; stored in fp16 (pure float16) it stays at 1.0.
TEST(LossScaling, MasterWeightsKeepSmallUpdates) {
  auto final_weight = [](Policy policy) {
    auto backend = create_backend("cpu");
    float one = 1.0f, minus_one = -1.0f;
    Tensor w = Tensor::from_host(*backend, Shape{1}, master_dtype(policy), &one);
    Tensor g = Tensor::from_host(*backend, Shape{1}, DType::F32, &minus_one);
    Tensor state = make_step_state(*backend, StepState{});
    OptimizerRule rule;
    rule.optimizer.lr = 1e-4;
    rule.optimizer.momentum = 0;
    std::vector<Tensor> ws{w}, gs{g};
    std::vector<std::uint8_t> decay{1};
    for (int i = 0; i < 100; ++i) backend->optimizer_step(ws, gs, {}, decay, state, rule);
    EXPECT_EQ(read_step_state(state).optimizer_steps, 100);
    return w.to_host()[0];
  };
  EXPECT_NEAR(final_weight(Policy::MixedFloat16), 1.01f, 1e-5f);
  EXPECT_EQ(final_weight(Policy::Float16), 1.0f);
}

TEST(LossScaling, LearningRateScheduleAdvancesOnlyOnRealSteps) {
  OptimizerRule r;
  r.optimizer.lr = 1.0;
  r.schedule.kind = ScheduleKind::Step;
  r.schedule.step_size = 2;
  r.schedule.gamma = 0.5;
  EXPECT_EQ(scheduled_lr(r, 0), 1.0);
  EXPECT_EQ(scheduled_lr(r, 2), 0.5);
  auto backend = create_backend("cpu");
  float one = 1.0f;
  Tensor w = Tensor::from_host(*backend, Shape{1}, DType::F32, &one);
  Tensor g = Tensor::from_host(*backend, Shape{1}, DType::F32, &one);
  Tensor state = make_step_state(*backend, StepState{});
  r.skip_on_nonfinite = true;
  r.optimizer.momentum = 0;  // plain SGD: no state slots
  std::vector<Tensor> ws{w}, gs{g};
  std::vector<std::uint8_t> decay{0};
  auto set_found = [&](float v) {
    StepState s = read_step_state(state);
    s.found_inf = v;
    write_step_state(state, s);
  };
  set_found(0);
  backend->optimizer_step(ws, gs, {}, decay, state, r);
  backend->optimizer_step(ws, gs, {}, decay, state, r);
  set_found(1);
  for (int i = 0; i < 5; ++i) backend->optimizer_step(ws, gs, {}, decay, state, r);
  EXPECT_EQ(read_step_state(state).optimizer_steps, 2);
  set_found(0);
  backend->optimizer_step(ws, gs, {}, decay, state, r);
  EXPECT_EQ(read_step_state(state).learning_rate, 0.5f) << "third real step uses the decayed LR";
}

// The counters are integers: past 2^24 optimizer steps (where an fp32 count
// stops advancing, 2^24 + 1 rounding back to 2^24) the step count, the LR
// schedule and the growth interval keep counting.
TEST(LossScaling, CountersKeepCountingPastFloatPrecision) {
  constexpr std::int64_t k24 = std::int64_t(1) << 24;
  auto backend = create_backend("cpu");
  float one = 1.0f;
  Tensor w = Tensor::from_host(*backend, Shape{1}, DType::F32, &one);
  Tensor g = Tensor::from_host(*backend, Shape{1}, DType::F32, &one);
  StepState s0{};
  s0.scale = 1024;
  s0.optimizer_steps = k24;
  s0.steps_taken = k24;
  s0.growth_tracker = k24;
  Tensor state = make_step_state(*backend, s0);
  OptimizerRule r;
  r.optimizer.lr = 1.0;
  r.optimizer.momentum = 0;
  r.schedule.kind = ScheduleKind::Step;
  r.schedule.step_size = k24 + 2;  // the LR halves at optimizer step 2^24 + 2
  r.schedule.gamma = 0.5;
  ScalerRule scaler;
  scaler.mode = LossScaleMode::Dynamic;
  scaler.growth_interval = long(k24 + 2);
  std::vector<Tensor> ws{w}, gs{g};
  std::vector<std::uint8_t> decay{0};
  std::vector<float> lrs;
  for (int i = 0; i < 3; ++i) {
    backend->optimizer_step(ws, gs, {}, decay, state, r);
    backend->update_loss_scale(state, scaler);
    lrs.push_back(read_step_state(state).learning_rate);
  }
  const StepState s = read_step_state(state);
  EXPECT_EQ(s.optimizer_steps, k24 + 3);
  EXPECT_EQ(s.steps_taken, k24 + 3);
  EXPECT_EQ(lrs, (std::vector<float>{1.0f, 1.0f, 0.5f}));
  // The tracker reached 2^24 + 2 on the second step: the scale doubled, and
  // the count restarted.
  EXPECT_EQ(s.scale, 2048.0f);
  EXPECT_EQ(s.growth_tracker, 1);
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// The fused pass of the training step equals unscale_and_check followed by
// sum_squares, bit for bit, for clean and non-finite gradients and S = 1.
TEST(LossScaling, FusedGradientPassEqualsSeparateOps) {
  auto backend = create_backend("cpu");
  for (float scale : {1.0f, 1024.0f, 3.0f}) {
    for (int bad_tensor : {-1, 0, 2}) {
      std::vector<Tensor> a, b;
      std::mt19937 gen(9);
      std::normal_distribution<float> n01;
      for (std::int64_t n : {70000, 5, 40000}) {
        std::vector<float> v(static_cast<std::size_t>(n));
        for (auto& x : v) x = n01(gen) * 100.0f;
        if (int(a.size()) == bad_tensor) v[v.size() / 2] = std::numeric_limits<float>::infinity();
        a.push_back(Tensor::from_host(*backend, Shape{n}, DType::F32, v.data()));
        b.push_back(Tensor::from_host(*backend, Shape{n}, DType::F32, v.data()));
      }
      Tensor s = Tensor::from_host(*backend, Shape{1}, DType::F32, &scale);
      Tensor fa = Tensor::zeros(*backend, Shape{1}, DType::F32);
      Tensor fb = Tensor::zeros(*backend, Shape{1}, DType::F32);
      Tensor qa = Tensor::zeros(*backend, Shape{1}, DType::F32);
      Tensor qb = Tensor::zeros(*backend, Shape{1}, DType::F32);
      backend->unscale_and_check(a, s, fa);
      backend->sum_squares(a, qa);
      backend->unscale_check_and_norm(b, s, fb, qb);
      EXPECT_EQ(fa.to_host()[0], fb.to_host()[0]) << scale << " " << bad_tensor;
      EXPECT_EQ(fb.to_host()[0], float(bad_tensor + 1));
      if (bad_tensor < 0) {
        EXPECT_NEAR(qa.to_host()[0], qb.to_host()[0], 1e-5 * qa.to_host()[0]);
      }
      for (std::size_t k = 0; k < a.size(); ++k)
        EXPECT_EQ(a[k].to_host_bytes(), b[k].to_host_bytes()) << "tensor " << k;
    }
  }
}

}  // namespace
}  // namespace mantissa
