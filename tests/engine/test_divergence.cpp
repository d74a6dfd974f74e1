// Divergence from fp32 (divergence.hpp): a candidate's fingerprint against a
// float32 reference, with a noise twin's band; the weight fingerprint itself.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "mantissa/divergence.hpp"
#include "mantissa/error.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;

std::vector<StepMetrics> train(Policy policy, double lr, bool twin = false) {
  Project p = testing::spirals_project(policy, 200);
  p.training.optimizer.lr = lr;
  p.training.optimizer.momentum = 0;
  auto backend = create_backend("cpu");
  TrainOptions o;
  o.noise_twin = twin;
  Trainer t(p, *backend, o);
  RecordingSink sink;
  TrainControl c;
  EXPECT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  return sink.steps;
}

// Must hold (on the spirals MLP here, 200 steps at lr 0.01): mixed bf16 keeps
// within the noise band of fp32 far longer than pure float16, whose updates
// round away against fp16 weights at this learning rate (no fp32 masters).
TEST(Divergence, PureFloat16LeavesTheNoiseBandBeforeMixedBfloat16) {
  const double lr = 0.01;
  const auto reference = train(Policy::Float32, lr);
  const auto twin = train(Policy::Float32, lr, true);
  // The twin starts one ulp away: its gradients differ, a little, from step 1
  // (its fp32 loss may round to the same value, as it does on AVX2 machines).
  ASSERT_EQ(twin.size(), reference.size());
  EXPECT_NE(twin.front().grad_norm, reference.front().grad_norm);
  const auto bf16 = train(Policy::MixedBFloat16, lr);
  const auto fp16 = train(Policy::Float16, lr);
  const Divergence b = divergence(bf16, reference, twin);
  const Divergence h = divergence(fp16, reference, twin);
  ASSERT_EQ(b.steps.size(), 200u);
  std::cout << "[ diverge  ] mixed_bfloat16: "
            << (b.first_divergent ? "leaves the band at step " + std::to_string(*b.first_divergent)
                                  : std::string("within the band for all 200 steps"))
            << "; float16: "
            << (h.first_divergent ? "leaves it at step " + std::to_string(*h.first_divergent)
                                  : std::string("within it"))
            << "\n";
  for (const Divergence* d : {&b, &h})
    for (const DivergenceMeasure& m : d->measures)
      std::cout << "[ diverge  ]   " << (d == &b ? "bf16 " : "fp16 ") << m.name << " floor "
                << m.floor << " first "
                << (m.first_divergent ? std::to_string(*m.first_divergent) : std::string("-"))
                << " at end " << m.candidate.back() << " twin " << m.twin.back() << "\n";
  ASSERT_TRUE(h.first_divergent.has_value());
  EXPECT_GT(b.within_until, *h.first_divergent);
  // Every fingerprint measure was recorded and compared.
  std::vector<std::string> names;
  for (const DivergenceMeasure& m : b.measures) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"loss", "grad_norm", "update_norm", "weights"}));
  // A run against itself never leaves, and its weights are the same bits throughout.
  const Divergence self = divergence(reference, reference, twin);
  EXPECT_FALSE(self.first_divergent.has_value());
  EXPECT_EQ(self.identical_until, 200);
  EXPECT_EQ(b.identical_until, 0);
  // A float32 rerun of the reference is the same run, bit for bit.
  EXPECT_EQ(divergence(train(Policy::Float32, lr), reference, twin).identical_until, 200);
}

// The weights measure leaves its band where one tensor's norm drifts, while
// the loss stays put.
TEST(Divergence, TheWeightsMeasureComparesEachTensorsNorm) {
  std::vector<StepMetrics> ref, twin, cand;
  for (int s = 1; s <= 10; ++s) {
    StepMetrics m;
    m.step = s;
    m.loss = 1.0;
    m.grad_norm = 1.0;
    m.update_norm = 0.1;
    m.weight_norms = {3.0, 4.0};
    m.weight_norm = 5.0;
    m.weights_checksum = 100 + s;
    ref.push_back(m);
    m.weight_norms = {3.0, 4.0 + 1e-6};
    m.weights_checksum = 200 + s;
    twin.push_back(m);
    // The second tensor's norm moves by 1e-3 from step 4 on; the first, the
    // loss and the other norms stay as the reference's.
    m.weight_norms = {3.0, s >= 4 ? 4.0 + 1e-3 : 4.0};
    m.weights_checksum = s <= 2 ? 100 + s : 300 + s;
    cand.push_back(m);
  }
  const Divergence d = divergence(cand, ref, twin, 10, 3, 1);
  ASSERT_EQ(d.measures.size(), 4u);
  EXPECT_EQ(d.measure("weights")->first_divergent, std::optional<std::int64_t>(4));
  // The loss decides the run's first divergent step; it stayed put.
  EXPECT_FALSE(d.first_divergent.has_value());
  // The weights' floor grows with the step: the twin's 10 x 2e-7 here.
  EXPECT_NEAR(d.measure("weights")->band[9], 10 * 1e-6 / 5, 1e-12);
  // sqrt(0^2 + 1e-3^2) / 5.
  EXPECT_NEAR(d.measure("weights")->candidate[3], 1e-3 / 5, 1e-12);
  EXPECT_EQ(d.identical_until, 2);
}

TEST(Divergence, ANoiseTwinIsAFloat32Run) {
  Project p = testing::spirals_project(Policy::MixedFloat16, 2);
  auto backend = create_backend("cpu");
  TrainOptions o;
  o.noise_twin = true;
  try {
    Trainer t(p, *backend, o);
    FAIL() << "a mixed fp16 noise twin was built";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("a noise twin is a float32 run"), std::string::npos);
  }
}

// The band and the run of consecutive steps, on made-up losses.
TEST(Divergence, FirstDivergentIsTheFirstOfConsecutiveStepsOutside) {
  std::vector<StepMetrics> ref, twin, cand;
  for (int s = 1; s <= 12; ++s) {
    StepMetrics m;
    m.step = s;
    m.loss = 1.0;
    ref.push_back(m);
    m.loss = 1.0 + 1e-6;
    twin.push_back(m);
    // Outside (1e-4 > 10 * 1e-6) at steps 3, then 6..12.
    m.loss = (s == 3 || s >= 6) ? 1.0 + 1e-4 : 1.0 + 1e-6;
    cand.push_back(m);
  }
  cand[7].skipped = true;  // step 8 not compared
  const Divergence d = divergence(cand, ref, twin, 10, 5, /*floor_steps=*/2);
  EXPECT_EQ(d.steps.size(), 11u);
  EXPECT_EQ(d.first_divergent, std::optional<std::int64_t>(6));
  EXPECT_EQ(d.within_until, 5);
  // No norms or checksums recorded: the loss alone.
  ASSERT_EQ(d.measures.size(), 1u);
  const DivergenceMeasure& loss = d.measures[0];
  EXPECT_TRUE(loss.outside(2));
  EXPECT_NEAR(loss.floor, 1e-6, 1e-12);  // steps 1 and 2
  EXPECT_NEAR(loss.band[0], 1e-5, 1e-12);  // 10 x the twin's 1e-6 beats 3 x the floor
  EXPECT_EQ(d.identical_until, 0);
}

}  // namespace
}  // namespace mantissa
