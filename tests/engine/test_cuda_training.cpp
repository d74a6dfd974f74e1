// The training machinery on CUDA: losses, the one-launch gradient pass, the
// optimizer and the loss scaler against the CPU backend; PRECISION.md tests
// 2, 3, 4, 5, 7 and 8 through the backend ops on the GPU; and 50 trainer
// steps of each policy on CUDA against the same run on the CPU.
// Without a GPU every test here is skipped with the driver's reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/optim.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using namespace cuda_test;

namespace ssw = step_state_word;

// An optimizer's state slots in Backend::optimizer_step's layout: all the
// first slots, then all the second ones.
std::vector<Tensor> concat(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  std::vector<Tensor> out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}


struct Pair {
  Tensor c, g;  // cpu, gpu
};
Pair both(const Shape& s, DType t, const std::vector<float>& v) {
  return {Tensor::from_host(cpu(), s, t, v.data()), Tensor::from_host(gpu(), s, t, v.data())};
}
Pair both_states(const StepState& s) {
  return {make_step_state(cpu(), s), make_step_state(gpu(), s)};
}
Pair both_empty(const Shape& s, DType t) {
  return {Tensor::zeros(cpu(), s, t), Tensor::zeros(gpu(), s, t)};
}
bool same_bytes(const Pair& p) {
  return p.c.to_host_bytes() == p.g.to_host_bytes();
}

// ---- losses ---------------------------------------------------------------------

TEST(CudaParity, LossesAndAccuracy) {
  REQUIRE_CUDA();
  for (std::int64_t C : {2, 10, 1000}) {
    const std::int64_t N = 37;
    std::vector<float> labels(static_cast<std::size_t>(N));
    for (std::int64_t i = 0; i < N; ++i) labels[std::size_t(i)] = float((i * 7) % C);
    auto logits_v = random_values(std::size_t(N * C), std::uint32_t(C), -8, 8);
    logits_v[3] = logits_v[4] = 20.0f;  // a tie in row 0 (C > 4): the first maximum counts
    const Pair logits = both({N, C}, DType::F32, logits_v), lab = both({N}, DType::F32, labels);
    const Pair scale = both({1}, DType::F32, {1024.0f});
    // 16-bit logits as a mixed-precision graph hands them over: read as
    // they are, so both backends see the same widened values.
    Pair narrow = both_empty({N, C}, DType::BF16);
    cpu().cast(logits.c, narrow.c);
    gpu().cast(logits.g, narrow.g);
    for (DType gt : {DType::F32, DType::F16, DType::BF16}) {
      const Pair& in = gt == DType::BF16 ? narrow : logits;
      Pair loss = both_empty({1}, DType::F32), dl = both_empty({N, C}, gt);
      cpu().softmax_cross_entropy(in.c, lab.c, loss.c, dl.c, scale.c);
      gpu().softmax_cross_entropy(in.g, lab.g, loss.g, dl.g, scale.g);
      EXPECT_NEAR(loss.g.to_host()[0], loss.c.to_host()[0], 1e-5 * std::abs(loss.c.to_host()[0]));
      const auto a = dl.c.to_host(), b = dl.g.to_host();
      const double coef = 1024.0 / double(N);
      const double u = gt == DType::F32 ? 0x1p-24 : gt == DType::F16 ? 0x1p-11 : 0x1p-8;
      for (std::size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(b[i], a[i], 4e-6 * coef + 2 * u * std::abs(a[i])) << "C " << C << " i " << i;
    }
    Pair correct = both({1}, DType::F32, {5.0f});
    cpu().count_correct(logits.c, lab.c, correct.c);
    gpu().count_correct(logits.g, lab.g, correct.g);
    EXPECT_EQ(correct.c.to_host(), correct.g.to_host()) << "C " << C;
  }
  const Pair pred = both({9, 3}, DType::F32, random_values(27, 50));
  const Pair target = both({9, 3}, DType::F32, random_values(27, 51));
  const Pair scale = both({1}, DType::F32, {8.0f});
  Pair loss = both_empty({1}, DType::F32), dpred = both_empty({9, 3}, DType::F32);
  cpu().mse_loss(pred.c, target.c, loss.c, dpred.c, scale.c);
  gpu().mse_loss(pred.g, target.g, loss.g, dpred.g, scale.g);
  EXPECT_NEAR(loss.g.to_host()[0], loss.c.to_host()[0], 1e-6 * loss.c.to_host()[0]);
  EXPECT_TRUE(same_bytes(dpred));
}

// ---- the gradient pass (one launch over every gradient) ---------------------------

TEST(CudaParity, GradientPassUnscalesChecksAndSums) {
  REQUIRE_CUDA();
  for (float scale : {1.0f, 1024.0f, 3.0f}) {
    for (int bad : {-1, 0, 2, 3}) {
      std::vector<Tensor> gc, gg;
      std::uint32_t seed = 70;
      // Sizes straddle the 8192-element chunks; one tensor is empty; one is bf16.
      const std::int64_t sizes[] = {70000, 5, 0, 40000};
      for (std::size_t k = 0; k < 4; ++k) {
        auto v = random_values(std::size_t(sizes[k]), seed++, -100, 100);
        if (int(k) == bad && !v.empty()) v[v.size() / 2] = std::numeric_limits<float>::infinity();
        const DType t = k == 3 ? DType::BF16 : DType::F32;
        const Pair p = both({sizes[k]}, t, v);
        gc.push_back(p.c);
        gg.push_back(p.g);
      }
      const Pair s = both({1}, DType::F32, {scale});
      Pair found = both_empty({1}, DType::F32), sq = both_empty({1}, DType::F32);
      cpu().unscale_check_and_norm(gc, s.c, found.c, sq.c);
      gpu().unscale_check_and_norm(gg, s.g, found.g, sq.g);
      const float expect_found = bad < 0 || bad == 2 ? 0.0f : float(bad + 1);
      EXPECT_EQ(found.g.to_host()[0], expect_found) << "scale " << scale << " bad " << bad;
      EXPECT_EQ(found.c.to_host()[0], found.g.to_host()[0]);
      for (std::size_t k = 0; k < gc.size(); ++k)
        EXPECT_EQ(gc[k].to_host_bytes(), gg[k].to_host_bytes()) << "tensor " << k;
      if (expect_found == 0.0f) {
        EXPECT_NEAR(sq.g.to_host()[0], sq.c.to_host()[0], 1e-5 * sq.c.to_host()[0]);
      }

      // found_inf already set is left alone; sum_squares alone reads the unscaled values.
      Pair preset = both({1}, DType::F32, {9.0f});
      cpu().unscale_and_check(gc, s.c, preset.c);
      gpu().unscale_and_check(gg, s.g, preset.g);
      EXPECT_EQ(preset.g.to_host()[0], 9.0f);
      cpu().sum_squares(gc, sq.c);
      gpu().sum_squares(gg, sq.g);
      if (expect_found == 0.0f) {
        EXPECT_NEAR(sq.g.to_host()[0], sq.c.to_host()[0], 1e-5 * sq.c.to_host()[0]);
      }
    }
  }
  Pair sq = both({1}, DType::F32, {5.0f});
  gpu().sum_squares({}, sq.g);
  EXPECT_EQ(sq.g.to_host()[0], 0.0f) << "no gradients: the sum is 0";
}

// ---- optimizer and scaler -----------------------------------------------------------

TEST(CudaParity, OptimizerStepsAreBitIdentical) {
  REQUIRE_CUDA();
  for (DType mdt : {DType::F32, DType::F16, DType::BF16}) {
    for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::AdamW, OptimizerKind::Adam}) {
      for (bool nesterov : {false, true}) {
        OptimizerRule rule;
        rule.optimizer.kind = kind;
        rule.optimizer.lr = kind == OptimizerKind::Sgd ? 0.1 : 0.01;
        rule.optimizer.nesterov = nesterov;
        rule.optimizer.weight_decay = 0.05;
        rule.schedule.kind = ScheduleKind::Step;
        rule.schedule.step_size = 2;
        rule.schedule.warmup_steps = 1;
        rule.clip_grad_norm = nesterov ? 0.5 : 0.0;
        rule.skip_on_nonfinite = true;
        std::vector<Tensor> wc, wg, gc, gg, m1c, m1g, m2c, m2g;
        std::vector<std::uint8_t> decay;
        std::uint32_t seed = 90;
        for (std::int64_t n : {20000, 3, 9000}) {
          auto add = [&](std::vector<Tensor>& c, std::vector<Tensor>& g, DType t, float lo,
                         float hi) {
            const Pair p = both({n}, t, random_values(std::size_t(n), seed++, lo, hi));
            c.push_back(p.c);
            g.push_back(p.g);
          };
          add(wc, wg, mdt, -1, 1);
          add(gc, gg, DType::F32, -1, 1);
          add(m1c, m1g, mdt, -0.1f, 0.1f);
          if (kind != OptimizerKind::Sgd) add(m2c, m2g, mdt, 0, 0.01f);
          decay.push_back(n == 3 ? 0 : 1);
        }
        StepState s0{};
        s0.optimizer_steps = 3;
        Pair state = both_states(s0);
        for (int step = 0; step < 5; ++step) {
          StepState s = read_step_state(state.c);
          s.found_inf = step == 2 ? 1.0f : 0.0f;
          s.grad_sum_squares = 4.0f;
          write_step_state(state.c, s);
          write_step_state(state.g, s);
          cpu().optimizer_step(wc, gc, concat(m1c, m2c), decay, state.c, rule);
          gpu().optimizer_step(wg, gg, concat(m1g, m2g), decay, state.g, rule);
          EXPECT_EQ(read_step_state(state.c), read_step_state(state.g)) << "step " << step;
          for (std::size_t k = 0; k < wc.size(); ++k) {
            ASSERT_EQ(wc[k].to_host_bytes(), wg[k].to_host_bytes())
                << dtype_name(mdt) << " kind " << int(kind) << " step " << step << " tensor " << k;
            ASSERT_EQ(m1c[k].to_host_bytes(), m1g[k].to_host_bytes());
            if (kind != OptimizerKind::Sgd) {
              ASSERT_EQ(m2c[k].to_host_bytes(), m2g[k].to_host_bytes());
            }
          }
        }
      }
    }
  }
}

TEST(CudaParity, LossScaleUpdatesAreIdentical) {
  REQUIRE_CUDA();
  ScalerRule rule;
  rule.mode = LossScaleMode::Dynamic;
  rule.growth_interval = 3;
  rule.min_scale = 4;
  StepState s0{};
  s0.scale = 64;
  Pair state = both_states(s0);
  std::mt19937 gen(3);
  for (int step = 0; step < 60; ++step) {
    StepState s = read_step_state(state.c);
    s.found_inf = gen() % 4 == 0 ? 2.0f : 0.0f;
    write_step_state(state.c, s);
    write_step_state(state.g, s);
    cpu().update_loss_scale(state.c, rule);
    gpu().update_loss_scale(state.g, rule);
    ASSERT_EQ(read_step_state(state.c), read_step_state(state.g)) << "step " << step;
  }
}

// ---- PRECISION.md tests on the GPU --------------------------------------------------

struct ScalerHarness {
  Tensor state;
  ScalerRule rule;
  explicit ScalerHarness(double init, long interval = 2000) {
    state = make_step_state(gpu(), StepState{});
    rule.mode = LossScaleMode::Dynamic;
    rule.growth_interval = interval;
    StepState s = get();
    s.scale = float(init);
    write_step_state(state, s);
  }
  StepState get() { return read_step_state(state); }
  void step(bool overflow) {
    StepState s = get();
    s.found_inf = overflow ? 1.0f : 0.0f;
    write_step_state(state, s);
    gpu().update_loss_scale(state, rule);
  }
};

// PRECISION.md 2 and 5: inf / -inf / NaN in the last gradient of a real model
// skips the step on the device (weights, moments and step counter
// bit-identical, scale halved, tracker 0, one skip); the next clean step is
// an ordinary step.
TEST(CudaPrecision, NonFiniteInLastGradientSkipsThenACleanStepIsOrdinary) {
  REQUIRE_CUDA();
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    Backend& b = gpu();
    Project p = testing::spirals_project(Policy::MixedFloat16, 1);
    Graph g(p.model, b, Policy::MixedFloat16, 1);
    std::vector<Tensor> masters, grads, m1, m2;
    std::vector<std::uint8_t> decay;
    for (Param* prm : g.params()) {
      masters.push_back(prm->master);
      grads.push_back(prm->grad);
      m1.push_back(Tensor::zeros(b, prm->master.shape(), DType::F32));
      m2.push_back(Tensor::zeros(b, prm->master.shape(), DType::F32));
      b.fill(m1.back(), 0.25f);
      b.fill(m2.back(), 0.5f);
      decay.push_back(1);
    }
    StepState s0{};
    s0.scale = 65536;
    s0.growth_tracker = 17;
    s0.optimizer_steps = 5;
    Tensor state = make_step_state(b, s0);
    Tensor scale = state.slice(ssw::kScale, Shape{1});
    Tensor found = state.slice(ssw::kFoundInf, Shape{1});
    Tensor sq = state.slice(ssw::kGradSumSquares, Shape{1});
    OptimizerRule orule;
    orule.optimizer.kind = OptimizerKind::AdamW;
    orule.optimizer.weight_decay = 0.1;
    orule.skip_on_nonfinite = true;
    ScalerRule srule;
    srule.mode = LossScaleMode::Dynamic;
    const std::vector<float> x(8, 0.3f), y{0, 1, 1, 0};
    ExecContext ctx{b, true, 0};
    auto backward = [&] {
      g.prepare_step();
      g.forward(ctx, Tensor::from_host(b, Shape{4, 2}, DType::F32, x.data()));
      b.fill(found, 0.0f);
      Tensor loss = state.slice(ssw::kLoss, Shape{1});
      g.loss_and_backward(ctx, Tensor::from_host(b, Shape{4}, DType::F32, y.data()), scale, loss);
    };
    auto bytes = [](const std::vector<Tensor>& ts) {
      std::vector<std::vector<std::uint8_t>> out;
      for (auto& t : ts) out.push_back(t.to_host_bytes());
      return out;
    };
    backward();
    auto last = grads.back().to_host();
    last.back() = bad;
    grads.back().copy_from_host(last.data());
    const auto w0 = bytes(masters), a0 = bytes(m1), b0 = bytes(m2);
    b.unscale_check_and_norm(grads, scale, found, sq);
    b.optimizer_step(masters, grads, concat(m1, m2), decay, state, orule);
    b.update_loss_scale(state, srule);
    StepState s = read_step_state(state);
    EXPECT_EQ(s.found_inf, float(grads.size())) << "1 + index of the last tensor";
    EXPECT_EQ(bytes(masters), w0);
    EXPECT_EQ(bytes(m1), a0);
    EXPECT_EQ(bytes(m2), b0);
    EXPECT_EQ(s.optimizer_steps, 5);
    EXPECT_EQ(s.scale, 32768.0f);
    EXPECT_EQ(s.scale_used, 65536.0f);
    EXPECT_EQ(s.growth_tracker, 0);
    EXPECT_EQ(s.skipped_total, 1);
    EXPECT_EQ(s.skipped_this_step, 1);
    EXPECT_EQ(s.learning_rate, 0.0f);

    // PRECISION.md 5: the next clean step is an ordinary one.
    backward();
    b.unscale_check_and_norm(grads, scale, found, sq);
    b.optimizer_step(masters, grads, concat(m1, m2), decay, state, orule);
    b.update_loss_scale(state, srule);
    s = read_step_state(state);
    EXPECT_EQ(s.found_inf, 0.0f);
    EXPECT_EQ(s.skipped_this_step, 0);
    EXPECT_EQ(s.optimizer_steps, 6);
    EXPECT_EQ(s.growth_tracker, 1);
    EXPECT_EQ(s.consecutive_skips, 0);
    EXPECT_TRUE(std::isfinite(s.grad_sum_squares));
    EXPECT_NE(bytes(masters), w0) << "the clean step updated the weights";
    for (auto& t : masters)
      for (float v : t.to_host()) ASSERT_TRUE(std::isfinite(v));
  }
}

// PRECISION.md 3: N-1 clean steps leave the scale alone, the N-th doubles it;
// an overflow at k < N restarts the count.
TEST(CudaPrecision, GrowsAfterGrowthIntervalCleanSteps) {
  REQUIRE_CUDA();
  const long n = 5;
  ScalerHarness h(1024, n);
  for (long i = 0; i < n - 1; ++i) h.step(false);
  EXPECT_EQ(h.get().scale, 1024.0f);
  h.step(false);
  EXPECT_EQ(h.get().scale, 2048.0f);
  EXPECT_EQ(h.get().growth_tracker, 0);
  for (int i = 0; i < 3; ++i) h.step(false);
  h.step(true);
  EXPECT_EQ(h.get().scale, 1024.0f);
  for (long i = 0; i < n - 1; ++i) h.step(false);
  EXPECT_EQ(h.get().scale, 1024.0f);
  h.step(false);
  EXPECT_EQ(h.get().scale, 2048.0f);
}

// PRECISION.md 4: repeated overflows follow S0 x 0.5^k exactly; min_scale stops it.
TEST(CudaPrecision, RepeatedOverflowsHalveExactly) {
  REQUIRE_CUDA();
  ScalerHarness h(65536);
  for (int k = 1; k <= 40; ++k) {
    h.step(true);
    ASSERT_EQ(h.get().scale, float(65536.0 * std::ldexp(1.0, -k))) << "after " << k;
    ASSERT_EQ(h.get().skipped_total, k);
  }
  ScalerHarness m(65536);
  m.rule.min_scale = 128;
  for (int k = 0; k < 20; ++k) m.step(true);
  EXPECT_EQ(m.get().scale, 128.0f);
}

// PRECISION.md 7: a gradient of 1e-8 vanishes in an fp16 backward with S = 1
// and survives with S = 65536.
TEST(CudaPrecision, ScalingRescuesTinyFp16Gradients) {
  REQUIRE_CUDA();
  auto grad_with_scale = [](float scale) {
    Backend& b = gpu();
    Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "tiny",
      "dataset": {"kind": "blobs"},
      "model": {"nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [1]}},
        {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 1}},
        {"id": "loss", "type": "MSE", "inputs": ["fc"]}]}})",
                              "tiny.json");
    Graph g(p.model, b, Policy::MixedFloat16, 1);
    for (Param* prm : g.params()) b.fill(prm->master, 0.0f);
    g.prepare_step();
    float x = 1.0f, target = -5e-9f;
    ExecContext ctx{b, true, 0};
    g.forward(ctx, Tensor::from_host(b, Shape{1, 1}, DType::F32, &x));
    Tensor s = Tensor::from_host(b, Shape{1}, DType::F32, &scale);
    Tensor loss = Tensor::empty(b, Shape{1}, DType::F32);
    Tensor found = Tensor::zeros(b, Shape{1}, DType::F32);
    g.loss_and_backward(ctx, Tensor::from_host(b, Shape{1, 1}, DType::F32, &target), s, loss);
    std::vector<Tensor> grads;
    for (Param* prm : g.params()) grads.push_back(prm->grad);
    b.unscale_and_check(grads, s, found);
    return grads[0].to_host()[0];
  };
  EXPECT_EQ(grad_with_scale(1.0f), 0.0f);
  EXPECT_NEAR(grad_with_scale(65536.0f), 1e-8f, 1e-10f);
}

// PRECISION.md 8: w = 1 updated by 1e-4 for 100 steps reaches 1.01 with fp32
// masters and stays 1 when stored in fp16.
TEST(CudaPrecision, MasterWeightsKeepSmallUpdates) {
  REQUIRE_CUDA();
  auto final_weight = [](Policy policy) {
    Backend& b = gpu();
    float one = 1.0f, minus_one = -1.0f;
    Tensor w = Tensor::from_host(b, Shape{1}, master_dtype(policy), &one);
    Tensor g = Tensor::from_host(b, Shape{1}, DType::F32, &minus_one);
    Tensor state = make_step_state(b, StepState{});
    OptimizerRule rule;
    rule.optimizer.lr = 1e-4;
    rule.optimizer.momentum = 0;
    std::vector<Tensor> ws{w}, gs{g};
    std::vector<std::uint8_t> decay{1};
    for (int i = 0; i < 100; ++i) b.optimizer_step(ws, gs, {}, decay, state, rule);
    EXPECT_EQ(read_step_state(state).optimizer_steps, 100);
    return w.to_host()[0];
  };
  EXPECT_NEAR(final_weight(Policy::MixedFloat16), 1.01f, 1e-5f);
  EXPECT_EQ(final_weight(Policy::Float16), 1.0f);
}

// ---- trainer: 50 steps of each policy, CUDA against CPU ----------------------------

std::vector<StepMetrics> train(Backend& b, const Project& p) {
  Trainer t(p, b);
  testing::RecordingSink sink;
  TrainControl c;
  const RunSummary s = t.run(sink, c);
  EXPECT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  return sink.steps;
}

// Loss tolerance after 50 steps: the runs start from the same weights and
// batches and differ only by accumulation order (and, under 16-bit policies,
// the occasional rounding flip of an activation), which stays small on
// these problems.
double loss_tolerance(Policy p) {
  return p == Policy::Float32 ? 2e-3 : 3e-2;
}

void expect_same_run(const std::vector<StepMetrics>& a, const std::vector<StepMetrics>& b,
                     Policy policy, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  ASSERT_EQ(a.size(), 50u) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].skipped, b[i].skipped) << what << " step " << i + 1;
    EXPECT_EQ(a[i].loss_scale, b[i].loss_scale) << what << " step " << i + 1;
    EXPECT_TRUE(std::isfinite(b[i].loss)) << what << " step " << i + 1;
  }
  const double tol = loss_tolerance(policy) * std::max(1.0, std::abs(a.back().loss));
  EXPECT_NEAR(b.back().loss, a.back().loss, tol) << what << ": final loss, CUDA vs CPU";
  EXPECT_NEAR(b.front().loss, a.front().loss, 1e-3 * std::max(1.0, std::abs(a.front().loss)))
      << what << ": first loss";
  EXPECT_GT(b.back().memory_in_use, 0) << what;
}

TEST(CudaTraining, FiftyStepsOfEachPolicyMatchTheCpu) {
  REQUIRE_CUDA();
  for (Policy policy : {Policy::MixedFloat16, Policy::MixedBFloat16, Policy::Float32}) {
    Project p = testing::spirals_project(policy, 50);
    p.training.optimizer.kind = OptimizerKind::AdamW;
    p.training.optimizer.lr = 0.01;
    p.training.loss_scale.growth_interval = 10;  // the scale moves within the run
    expect_same_run(train(cpu(), p), train(gpu(), p), policy,
                    "spirals MLP " + std::string(policy_name(policy)));
  }
}

// The same runs with every full-size step replayed from one CUDA graph and
// with every op launched from the host: the graph replays the very kernels
// on the very addresses, so the two agree bit for bit.
TEST(CudaTraining, CapturedStepsGiveTheBitsOfEagerSteps) {
  REQUIRE_CUDA();
  for (Policy policy : {Policy::MixedFloat16, Policy::Float32}) {
    Project p = testing::spirals_project(policy, 50);
    p.training.loss_scale.growth_interval = 10;
    Project eager = p;
    eager.training.capture_graphs = false;
    auto captured_backend = create_backend("cuda");
    auto eager_backend = create_backend("cuda");
    const testing::TrainedRun a = testing::train_on(*captured_backend, p);
    const testing::TrainedRun b = testing::train_on(*eager_backend, eager);
    ASSERT_EQ(a.summary.outcome, RunOutcome::Finished) << a.summary.error;
    ASSERT_EQ(b.summary.outcome, RunOutcome::Finished) << b.summary.error;
    const auto& events = a.sink.events;
    const auto captured_event = std::find_if(events.begin(), events.end(), [](auto& e) {
      return e.message.find("captured as one graph") != std::string::npos;
    });
    EXPECT_NE(captured_event, events.end()) << "the step was not captured";
    ASSERT_EQ(a.sink.steps.size(), b.sink.steps.size());
    for (std::size_t i = 0; i < a.sink.steps.size(); ++i) {
      EXPECT_EQ(a.sink.steps[i].loss, b.sink.steps[i].loss)
          << policy_name(policy) << " step " << i + 1;
      EXPECT_EQ(a.sink.steps[i].loss_scale, b.sink.steps[i].loss_scale) << "step " << i + 1;
    }
    EXPECT_EQ(a.masters, b.masters) << policy_name(policy);
  }
}

// A small CNN (convolution, batch norm, ReLU, max pooling, dropout, linear) on
// 6x6 single-channel images from a CSV file.
TEST(CudaTraining, FiftyStepsOfASmallCnnMatchTheCpu) {
  REQUIRE_CUDA();
  const auto dir = std::filesystem::temp_directory_path() / "mantissa-cuda-cnn";
  std::filesystem::create_directories(dir);
  const auto csv = dir / "images.csv";
  {
    std::ofstream out(csv);
    std::mt19937 gen(17);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    for (int i = 0; i < 160; ++i) {
      const int label = i % 3;  // a bright row, column or diagonal
      for (int y = 0; y < 6; ++y)
        for (int x = 0; x < 6; ++x) {
          const bool on =
              (label == 0 && y == 2) || (label == 1 && x == 3) || (label == 2 && x == y);
          out << (on ? 1.0f : 0.0f) + noise(gen) << ",";
        }
      out << label << "\n";
    }
  }
  const std::string json = R"({"format": "mantissa-project", "version": 1, "name": "tiny-cnn",
    "dataset": {"kind": "csv", "path": ")" +
                           csv.string() + R"("},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [1, 6, 6]}},
      {"id": "conv", "type": "Conv2d", "inputs": ["input"],
       "params": {"out_channels": 4, "kernel": 3, "padding": 1}},
      {"id": "bn", "type": "BatchNorm", "inputs": ["conv"]},
      {"id": "relu", "type": "ReLU", "inputs": ["bn"]},
      {"id": "pool", "type": "MaxPool2d", "inputs": ["relu"], "params": {"kernel": 2}},
      {"id": "flat", "type": "Flatten", "inputs": ["pool"]},
      {"id": "drop", "type": "Dropout", "inputs": ["flat"], "params": {"p": 0.1}},
      {"id": "fc", "type": "Linear", "inputs": ["drop"], "params": {"out_features": 3}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]},
    "training": {"policy": "float32", "batch_size": 16, "steps": 50, "seed": 4,
                 "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9}}})";
  for (Policy policy : {Policy::MixedFloat16, Policy::MixedBFloat16, Policy::Float32}) {
    Project p = parse_project(json, "tiny-cnn.json");
    p.training.policy = policy;
    expect_same_run(train(cpu(), p), train(gpu(), p), policy,
                    "CNN " + std::string(policy_name(policy)));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mantissa
