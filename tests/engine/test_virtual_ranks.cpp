// Virtual ranks (TrainingSpec::virtual_ranks): PRECISION.md's data-parallel
// step in one process, offered as gradient accumulation. Each batch is cut
// into contiguous shards whose losses are divided by the batch's rows and
// whose scaled gradients are summed in fp32 in shard order.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "mantissa/error.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;
using testing::TrainedRun;

TrainedRun train_with(Project p, int ranks) {
  p.training.virtual_ranks = ranks;
  auto backend = create_backend("cpu");
  return testing::train_on(*backend, p);
}

std::vector<float> floats(const std::vector<std::uint8_t>& bytes) {
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

// PRECISION.md: against one process with the full batch, float32 agrees
// within 1e-5 relative over 10 steps; and a shard at a time holds less.
TEST(VirtualRanks, Float32AgreesWithTheFullBatchWithin1e5) {
  Project p = testing::spirals_project(Policy::Float32, 10, 64);
  const TrainedRun one = train_with(p, 1), four = train_with(p, 4);
  ASSERT_EQ(one.summary.outcome, RunOutcome::Finished) << one.summary.error;
  ASSERT_EQ(four.summary.outcome, RunOutcome::Finished) << four.summary.error;
  ASSERT_EQ(four.sink.steps.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    const double a = one.sink.steps[i].loss, b = four.sink.steps[i].loss;
    EXPECT_NEAR(b, a, 1e-5 * std::abs(a)) << "step " << i + 1;
    EXPECT_NEAR(four.sink.steps[i].grad_norm, one.sink.steps[i].grad_norm,
                1e-5 * one.sink.steps[i].grad_norm)
        << "step " << i + 1;
  }
  // Not the same bits: the sums are taken in another order.
  EXPECT_NE(one.masters, four.masters);
  for (std::size_t k = 0; k < one.masters.size(); ++k) {
    const auto a = floats(one.masters[k]), b = floats(four.masters[k]);
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      norm += double(a[i]) * a[i];
    }
    EXPECT_LT(std::sqrt(diff), 1e-5 * std::sqrt(norm)) << "master " << k;
  }
  EXPECT_LT(four.summary.peak_activation_memory, one.summary.peak_activation_memory);
}

// A batch of 3 rows in 4 shards: the first shard is empty and adds nothing,
// so the run is bit for bit the one with 3 shards of one row each.
TEST(VirtualRanks, AShardWithoutRowsAddsNothing) {
  Project p = testing::spirals_project(Policy::MixedBFloat16, 6, 3);
  const TrainedRun three = train_with(p, 3), four = train_with(p, 4);
  ASSERT_EQ(four.summary.outcome, RunOutcome::Finished) << four.summary.error;
  ASSERT_EQ(three.sink.steps.size(), four.sink.steps.size());
  for (std::size_t i = 0; i < three.sink.steps.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(three.sink.steps[i].loss),
              std::bit_cast<std::uint64_t>(four.sink.steps[i].loss))
        << "step " << i + 1;
  EXPECT_EQ(three.masters, four.masters);
}

// An overflow in the summed gradients skips the step for all shards at
// once: weights kept, scale halved, as with one rank.
TEST(VirtualRanks, AnOverflowSkipsTheWholeStep) {
  Project p = testing::spirals_project(Policy::MixedFloat16, 20);
  p.training.loss_scale.init_scale = 1099511627776.0;  // 2^40
  const TrainedRun r = train_with(p, 2);
  ASSERT_EQ(r.summary.outcome, RunOutcome::Finished) << r.summary.error;
  ASSERT_TRUE(r.sink.steps[0].skipped);
  EXPECT_EQ(r.sink.steps[1].loss_scale, r.sink.steps[0].loss_scale / 2);
  EXPECT_EQ(r.sink.steps[0].update_norm, 0.0);  // nothing applied
  EXPECT_FALSE(r.sink.steps.back().skipped);
}

TEST(VirtualRanks, TheProjectFileKeepsThemAndRefusesNone) {
  Project p = testing::spirals_project(Policy::Float32, 2);
  p.training.virtual_ranks = 8;
  const Project back = parse_project(project_to_json(p), "again.json");
  EXPECT_EQ(back.training.virtual_ranks, 8);
  std::string json = project_to_json(p);
  json.replace(json.find("\"virtual_ranks\": 8"), 18, "\"virtual_ranks\": 0");
  try {
    parse_project(json, "zero.json");
    FAIL() << "0 virtual ranks accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("virtual_ranks"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mantissa
