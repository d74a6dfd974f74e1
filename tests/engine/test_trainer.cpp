// The trainer end to end on the CPU backend: PRECISION.md tests 5, 6, 9 and
// 10, determinism, skip events, and failure reporting. Tests 3 and 8 in a run
// are in test_trainer_scaling.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {
using testing::RecordingSink;
using testing::spirals_project;

std::vector<std::vector<std::uint8_t>> master_bytes(Graph& g) {
  std::vector<std::vector<std::uint8_t>> out;
  for (Param* p : g.params()) out.push_back(p->master.to_host_bytes());
  return out;
}

TEST(Trainer, LearnsMoonsAndReportsEveryStep) {
  auto backend = create_backend("cpu");
  Project p = spirals_project(Policy::Float32, 0);
  p.training.steps.reset();
  p.training.epochs = 20;
  p.dataset.kind = "moons";
  Trainer t(p, *backend);
  RecordingSink sink;
  TrainControl control;
  RunSummary s = t.run(sink, control);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  EXPECT_EQ(std::int64_t(sink.steps.size()), t.total_steps());
  EXPECT_EQ(sink.epochs.size(), 20u);
  EXPECT_LT(sink.epochs.back().train_loss, sink.epochs.front().train_loss * 0.8);
  EXPECT_GT(sink.epochs.back().val_accuracy, 0.6);
  for (std::size_t i = 0; i < sink.steps.size(); ++i) {
    EXPECT_EQ(sink.steps[i].step, std::int64_t(i) + 1);
    EXPECT_TRUE(std::isfinite(sink.steps[i].loss));
    EXPECT_GT(sink.steps[i].grad_norm, 0);
    EXPECT_GT(sink.steps[i].memory_in_use, 0);
    EXPECT_EQ(sink.steps[i].loss_scale, 1.0);  // float32: no scaling
  }
  ASSERT_FALSE(sink.checkpoints.empty());
  EXPECT_EQ(sink.checkpoints.back().first, t.total_steps());
}

TEST(Trainer, SameSeedSameTrajectory) {
  auto run = [](Policy policy) {
    auto backend = create_backend("cpu");
    Trainer t(spirals_project(policy, 30), *backend);
    RecordingSink sink;
    TrainControl c;
    t.run(sink, c);
    std::vector<double> losses;
    for (auto& m : sink.steps) losses.push_back(m.loss);
    return losses;
  };
  for (Policy p : {Policy::Float32, Policy::MixedFloat16, Policy::MixedBFloat16}) {
    auto a = run(p), b = run(p);
    ASSERT_EQ(a.size(), 30u);
    EXPECT_EQ(a, b) << policy_name(p);
  }
}

// PRECISION.md 6: with fp32 compute, S = 2^k (no overflow) gives weights
// bit-identical to S = 1.
TEST(Trainer, PowerOfTwoScaleIsExactInFp32) {
  auto final_weights = [](std::optional<double> scale) {
    auto backend = create_backend("cpu");
    Project p = spirals_project(Policy::Float32, 25);
    if (scale) {
      p.training.loss_scale.mode = LossScaleMode::Fixed;
      p.training.loss_scale.init_scale = *scale;
    }
    Trainer t(p, *backend);
    RecordingSink sink;
    TrainControl c;
    t.run(sink, c);
    EXPECT_EQ(sink.steps.back().loss_scale, scale.value_or(1.0));
    return master_bytes(t.graph());
  };
  auto base = final_weights(std::nullopt);
  EXPECT_EQ(base, final_weights(1024.0));
  EXPECT_EQ(base, final_weights(65536.0));
}

// PRECISION.md 10: checkpoint at step k, resume: the loss, scale and weight
// trajectory equal an uninterrupted run.
TEST(Trainer, ResumeFromCheckpointReproducesTheRun) {
  for (Policy policy : {Policy::MixedFloat16, Policy::MixedBFloat16}) {
    Project p = spirals_project(policy, 40);
    p.training.checkpoint_each_epoch = false;  // only the checkpoints asked for
    p.training.checkpoint_every = 15;
    p.training.loss_scale.growth_interval = 7;  // let the scale move within the run
    p.training.optimizer.kind = OptimizerKind::AdamW;
    p.training.optimizer.lr = 0.01;
    auto backend = create_backend("cpu");
    Trainer full(p, *backend);
    RecordingSink a;
    TrainControl c;
    full.run(a, c);
    ASSERT_GE(a.checkpoints.size(), 2u);
    ASSERT_EQ(a.checkpoints[0].first, 15);

    TrainOptions o;
    o.resume_from = a.checkpoints[0].second;
    Trainer resumed(p, *backend, o);
    RecordingSink b;
    resumed.run(b, c);
    ASSERT_EQ(b.steps.size(), 25u);
    for (std::size_t i = 0; i < b.steps.size(); ++i) {
      const StepMetrics& x = a.steps[15 + i];
      const StepMetrics& y = b.steps[i];
      EXPECT_EQ(x.step, y.step);
      EXPECT_EQ(x.loss, y.loss) << "step " << x.step;
      EXPECT_EQ(x.loss_scale, y.loss_scale) << "step " << x.step;
      EXPECT_EQ(x.growth_tracker, y.growth_tracker) << "step " << x.step;
    }
    EXPECT_EQ(master_bytes(full.graph()), master_bytes(resumed.graph())) << policy_name(policy);
  }
}

// PRECISION.md 9: linear outputs are 16-bit under mixed policies, loss and
// softmax inputs fp32, a pinned layer fp32.
TEST(Trainer, AutocastDtypesFollowTheOpClasses) {
  for (Policy policy : {Policy::MixedFloat16, Policy::MixedBFloat16}) {
    Project p = spirals_project(policy, 1);
    p.model.layers[3].pin_fp32 = true;  // fc2
    auto backend = create_backend("cpu");
    Graph g(p.model, *backend, policy, 1);
    EXPECT_EQ(g.layer("fc1").dtype(), compute_dtype(policy));
    EXPECT_EQ(g.layer("act1").dtype(), compute_dtype(policy));
    EXPECT_EQ(g.layer("fc2").dtype(), DType::F32);  // pinned
    EXPECT_EQ(g.layer("loss").dtype(), DType::F32);
    std::vector<float> x(8, 0.5f);
    ExecContext ctx{*backend, true, 0};
    g.prepare_step();
    Tensor out = g.forward(ctx, Tensor::from_host(*backend, Shape{4, 2}, DType::F32, x.data()));
    EXPECT_EQ(out.dtype(), DType::F32);
    Project q = spirals_project(policy, 1);
    Graph h(q.model, *backend, policy, 1);
    h.prepare_step();
    Tensor out16 = h.forward(ctx, Tensor::from_host(*backend, Shape{4, 2}, DType::F32, x.data()));
    EXPECT_EQ(out16.dtype(), compute_dtype(policy));
    // Masters stay fp32 under mixed policies; compute copies are 16-bit.
    for (Param* prm : h.params()) EXPECT_EQ(prm->master.dtype(), DType::F32) << prm->name;
    EXPECT_EQ(h.params()[0]->compute.dtype(), compute_dtype(policy));
  }
}

// A huge initial scale overflows: the first steps are skipped with events that
// name the step, the tensor and the scale change; then training proceeds.
TEST(Trainer, OverflowSkipsThenRecovers) {
  Project p = spirals_project(Policy::MixedFloat16, 30);
  p.training.loss_scale.init_scale = 1099511627776.0;  // 2^40: fp16 gradients overflow
  p.training.steps = 60;
  RecordingSink sink;
  const RunSummary s = testing::run_on_cpu(p, sink);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_TRUE(sink.steps.front().skipped);
  std::int64_t skipped = 0;
  for (auto& m : sink.steps) skipped += m.skipped;
  EXPECT_GT(skipped, 0);
  EXPECT_LT(skipped, 40);
  EXPECT_FALSE(sink.steps.back().skipped);
  EXPECT_EQ(sink.steps.back().skipped_total, skipped);
  EXPECT_EQ(sink.steps[1].loss_scale, sink.steps[0].loss_scale * 0.5);
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events[0].kind, EventKind::Overflow);
  EXPECT_NE(sink.events[0].message.find("step 1 skipped: non-finite value in "),
            std::string::npos)
      << sink.events[0].message;
  EXPECT_FALSE(sink.events[0].tensor.empty());
  // The scales as the plot labels them, not 1.09951e+12 → 5.49756e+11.
  EXPECT_NE(sink.events[0].message.find(", scale 2^40 → 2^39"), std::string::npos)
      << sink.events[0].message;
  // PRECISION.md 5: a clean step after skipped ones is an ordinary step.
  const StepMetrics& first_clean =
      *std::find_if(sink.steps.begin(), sink.steps.end(), [](auto& m) { return !m.skipped; });
  EXPECT_TRUE(std::isfinite(first_clean.grad_norm));
  EXPECT_GT(first_clean.lr, 0);
}

TEST(Trainer, StopRequestEndsAtAStepBoundary) {
  struct StopAt3 : RecordingSink {
    TrainControl* c = nullptr;
    void step_recorded(const StepMetrics& m) override {
      RecordingSink::step_recorded(m);
      if (m.step == 3) c->request_stop();
    }
  } sink;
  auto backend = create_backend("cpu");
  Trainer t(spirals_project(Policy::Float32, 50), *backend);
  TrainControl c;
  sink.c = &c;
  RunSummary s = t.run(sink, c);
  // On the CPU a step has run when it is enqueued, so its metrics are read
  // before the next one is: the run stops right after the step that asked.
  // (A GPU reads a step late; there the step in flight is finished too.)
  EXPECT_EQ(s.outcome, RunOutcome::Stopped);
  EXPECT_EQ(s.steps, 3);
  EXPECT_EQ(sink.steps.size(), 3u);
  ASSERT_FALSE(sink.checkpoints.empty());  // a stopped run can be resumed
  EXPECT_EQ(sink.checkpoints.back().first, 3);
}

TEST(Trainer, DatasetThatDoesNotFitTheModelIsAClearError) {
  Project p = spirals_project(Policy::Float32, 5);
  p.model.layers[0].shape = {3};
  auto backend = create_backend("cpu");
  try {
    Trainer t(p, *backend);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'input'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("spirals"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// Engine accounting of activation memory: 16-bit activations under mixed
// policies take well under the fp32 run's peak above the model state.
TEST(Trainer, MixedPoliciesHalveActivationMemory) {
  auto peak_activations = [](Policy policy) {
    Project p = testing::spirals_project(policy, 3, 256);
    p.model.layers[1].out_features = 1024;  // fc1
    LayerSpec fc = p.model.layers[1];
    fc.id = "fc1b";
    fc.inputs = {"act1"};
    LayerSpec act = p.model.layers[2];
    act.id = "act1b";
    act.inputs = {"fc1b"};
    p.model.layers[3].inputs = {"act1b"};
    p.model.layers.insert(p.model.layers.begin() + 3, {fc, act});
    auto backend = create_backend("cpu");
    Trainer t(p, *backend);
    testing::RecordingSink sink;
    TrainControl c;
    RunSummary s = t.run(sink, c);
    EXPECT_EQ(s.outcome, RunOutcome::Finished) << s.error;
    return double(s.peak_activation_memory);
  };
  const double fp32 = peak_activations(Policy::Float32);
  ASSERT_GT(fp32, 0);
  EXPECT_LT(peak_activations(Policy::MixedBFloat16), 0.6 * fp32);
  EXPECT_LT(peak_activations(Policy::MixedFloat16), 0.6 * fp32);
}

// The run's rate leaves out its first steps (warm-up); a run no longer than
// them is rated over every step, not reported as 0 samples/s.
TEST(Trainer, ARunShorterThanItsWarmUpStillHasARate) {
  for (const std::int64_t steps : {2, 6}) {
    const Project p = testing::spirals_project(Policy::Float32, steps);
    auto be = create_backend("cpu");
    TrainOptions o;
    o.warmup_steps_excluded = 3;
    Trainer t(p, *be, o);
    testing::RecordingSink sink;
    TrainControl c;
    const RunSummary s = t.run(sink, c);
    ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
    double seconds = 0;
    for (std::size_t i = steps > 3 ? 3 : 0; i < sink.steps.size(); ++i)
      seconds += sink.steps[i].step_time_s;
    const double rows = double(sink.steps.size() - (steps > 3 ? 3 : 0)) * 32;
    EXPECT_NEAR(s.samples_per_s, rows / seconds, 1e-6 * rows / seconds) << steps << " steps";
  }
}

// Without a validation split nothing is validated: the epochs and the run
// report no validation loss or accuracy (NaN, stored as null), not 0.
TEST(Trainer, NoValidationSplitReportsNoValidationFigures) {
  Project p = testing::spirals_project(Policy::Float32, 6);
  p.dataset.validation_fraction = 0;
  auto be = create_backend("cpu");
  Trainer t(p, *be);
  testing::RecordingSink sink;
  TrainControl c;
  const RunSummary s = t.run(sink, c);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_FALSE(sink.epochs.empty());
  for (const EpochMetrics& e : sink.epochs) {
    EXPECT_TRUE(std::isnan(e.val_loss)) << e.val_loss;
    EXPECT_TRUE(std::isnan(e.val_accuracy)) << e.val_accuracy;
  }
  EXPECT_TRUE(std::isnan(s.final_val_loss));
  EXPECT_TRUE(std::isnan(s.final_val_accuracy));
  // With one, the figures are the validation pass's.
  p.dataset.validation_fraction = 0.2;
  Trainer with(p, *be);
  testing::RecordingSink sink2;
  const RunSummary v = with.run(sink2, c);
  EXPECT_GT(v.final_val_loss, 0);
  EXPECT_GT(v.final_val_accuracy, 0);
}

// An applied step whose loss is not finite (float32, no loss scaling to skip
// it) makes the epoch's train loss NaN: the mean of the finite steps alone
// read as a healthy run.
TEST(Trainer, AnAppliedNonFiniteStepMakesTheEpochLossNaN) {
  Project p = testing::spirals_project(Policy::Float32, 10);
  p.training.optimizer.lr = 1e300;  // the weights leave fp32's range at the first update
  auto be = create_backend("cpu");
  Trainer t(p, *be);
  testing::RecordingSink sink;
  TrainControl c;
  t.run(sink, c);
  bool some_nonfinite = false;
  for (const StepMetrics& m : sink.steps) some_nonfinite |= !std::isfinite(m.loss);
  ASSERT_TRUE(some_nonfinite) << "the run was meant to diverge";
  ASSERT_TRUE(std::isfinite(sink.steps.front().loss)) << "the first step starts from finite weights";
  ASSERT_FALSE(sink.epochs.empty());
  // The first epoch holds that finite step and the non-finite ones after it.
  EXPECT_TRUE(std::isnan(sink.epochs.front().train_loss)) << sink.epochs.front().train_loss;
}

}  // namespace
}  // namespace mantissa
