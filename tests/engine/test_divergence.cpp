// Divergence from fp32 (divergence.hpp): a candidate's loss against a
// float32 reference, with a noise twin's band.
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
  // The twin starts one ulp away: its loss differs, a little, from step 1.
  ASSERT_EQ(twin.size(), reference.size());
  EXPECT_NE(twin.front().loss, reference.front().loss);
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
  ASSERT_TRUE(h.first_divergent.has_value());
  EXPECT_GT(b.within_until, *h.first_divergent);
  // A run against itself never leaves.
  EXPECT_FALSE(divergence(reference, reference, twin).first_divergent.has_value());
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
  EXPECT_TRUE(d.steps[2].outside);
  EXPECT_NEAR(d.floor, 1e-6, 1e-12);  // steps 1 and 2
  EXPECT_NEAR(d.steps[0].band, 1e-5, 1e-12);  // 10 x the twin's 1e-6 beats 3 x the floor
}

}  // namespace
}  // namespace mantissa
