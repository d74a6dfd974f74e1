// The weight fingerprint (Backend::weight_fingerprint, docs/divergence.md):
// the op's words against the rule computed here, and what a training run
// reports and stores per step.
#include <gtest/gtest.h>

#include <bit>
#include "backends/cpu/cpu_kernels.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/dtype.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"
#include "mantissa/tensor.hpp"
#include "optim/fingerprint_rule.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;

struct Words {
  std::uint64_t checksum = 0;
  float update = 0;
  std::vector<float> norms;
};

Words read_words(const Tensor& out) {
  const std::vector<float> w = out.to_host();
  Words r;
  std::uint32_t lo = 0, hi = 0;
  std::memcpy(&lo, &w[0], 4);
  std::memcpy(&hi, &w[1], 4);
  r.checksum = (std::uint64_t(hi) << 32) | lo;
  r.update = w[2];
  r.norms.assign(w.begin() + 3, w.end());
  return r;
}

TEST(Fingerprint, WordsFollowTheRuleAndThePreviousCopyFollowsTheWeights) {
  auto backend = create_backend("cpu");
  Backend& b = *backend;
  // 40,000 values: more than one work item, so chunks are summed apart.
  std::vector<float> a(40000), c{1.5f, -2.0f, 0.25f};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::sin(float(i)) * 0.01f;
  Tensor wa = Tensor::empty(b, Shape{std::int64_t(a.size())}, DType::F32);
  wa.copy_from_host(a.data());
  // A 16-bit master (the pure policies): its 16-bit patterns are summed.
  Tensor wc = Tensor::empty(b, Shape{3}, DType::BF16);
  std::vector<std::uint16_t> cbits;
  for (float v : c) cbits.push_back(f32_to_bf16(v));
  std::memcpy(wc.data(), cbits.data(), 6);
  std::vector<Tensor> weights{wa, wc};
  std::vector<Tensor> previous{Tensor::zeros(b, wa.shape(), DType::F32),
                               Tensor::zeros(b, wc.shape(), DType::BF16)};
  Tensor out = Tensor::zeros(b, Shape{rules::fingerprint_words(2)}, DType::F32);
  b.weight_fingerprint(weights, previous, out);

  std::uint64_t want = 0;
  double sq_a = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    want += rules::fingerprint_term(float_bits(a[i]), 0, std::int64_t(i));
    sq_a += double(a[i]) * a[i];
  }
  for (std::size_t i = 0; i < c.size(); ++i) want += rules::fingerprint_term(cbits[i], 1, std::int64_t(i));
  const Words first = read_words(out);
  EXPECT_EQ(first.checksum, want);
  ASSERT_EQ(first.norms.size(), 2u);
  EXPECT_FLOAT_EQ(first.norms[0], float(sq_a));
  EXPECT_FLOAT_EQ(first.norms[1], 1.5f * 1.5f + 4.0f + 0.0625f);
  // From zeros, the update is the weights themselves ...
  EXPECT_FLOAT_EQ(first.update, float(sq_a) + first.norms[1]);
  // ... and the previous copies now hold the weights: unchanged weights, no update.
  EXPECT_EQ(previous[0].to_host(), a);
  b.weight_fingerprint(weights, previous, out);
  EXPECT_EQ(read_words(out).update, 0.0f);
  EXPECT_EQ(read_words(out).checksum, want);

  // One ulp in one value changes the checksum; so does swapping two values.
  std::vector<float> moved = a;
  moved[12345] = std::nextafter(moved[12345], 1.0f);
  wa.copy_from_host(moved.data());
  b.weight_fingerprint(weights, {}, out);
  EXPECT_NE(read_words(out).checksum, want);
  EXPECT_EQ(read_words(out).update, 0.0f);  // no previous copies: no update
  std::vector<float> swapped = a;
  std::swap(swapped[1], swapped[2]);
  wa.copy_from_host(swapped.data());
  b.weight_fingerprint(weights, {}, out);
  EXPECT_NE(read_words(out).checksum, want);

  // A wrong output size names itself.
  Tensor small = Tensor::zeros(b, Shape{3}, DType::F32);
  EXPECT_THROW(b.weight_fingerprint(weights, {}, small), Error);
}

// The AVX2 loop and the plain one sum in the same four lanes: the same bits,
// with and without the previous copy, for lengths that leave every tail.
TEST(Fingerprint, TheAvx2PathGivesThePlainPathsBits) {
  if (!cpu::has_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
  std::vector<float> w(40003), prev(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = std::sin(float(i) * 0.37f + 0.5f) * 3.0f;
    prev[i] = w[i] + std::cos(float(i)) * 1e-3f;
  }
  for (const std::int64_t n : {std::int64_t(1), std::int64_t(3), std::int64_t(4),
                               std::int64_t(16387), std::int64_t(40003)})
    for (const float* p : {static_cast<const float*>(nullptr), static_cast<const float*>(prev.data())}) {
      const cpu::FingerprintSums plain = cpu::fingerprint_sums(w.data(), p, 5, n, false);
      const cpu::FingerprintSums wide = cpu::fingerprint_sums(w.data(), p, 5, n, true);
      EXPECT_EQ(std::bit_cast<std::uint64_t>(wide.sq), std::bit_cast<std::uint64_t>(plain.sq)) << n;
      EXPECT_EQ(std::bit_cast<std::uint64_t>(wide.du), std::bit_cast<std::uint64_t>(plain.du)) << n;
      EXPECT_EQ(wide.checksum, plain.checksum) << n;
      EXPECT_GT(plain.sq, 0.0);
      EXPECT_EQ(plain.du > 0.0, p != nullptr);
    }
}

// Each step reports the masters it left: their norms, their checksum, and
// the norm of what it changed; a skipped step changes nothing.
TEST(Fingerprint, ATrainingStepReportsTheMastersItLeft) {
  Project p = testing::spirals_project(Policy::MixedFloat16, 40);
  p.training.loss_scale.init_scale = 1099511627776.0;  // 2^40: the first steps overflow
  auto backend = create_backend("cpu");
  const testing::TrainedRun run = testing::train_on(*backend, p);
  ASSERT_EQ(run.summary.outcome, RunOutcome::Finished) << run.summary.error;
  const auto& steps = run.sink.steps;
  ASSERT_TRUE(steps.front().skipped);
  ASSERT_GE(steps.size(), 2u);
  // Skipped steps: no update, the same weights as the step before.
  for (std::size_t i = 1; i < steps.size(); ++i) {
    if (!steps[i].skipped) continue;
    EXPECT_EQ(steps[i].update_norm, 0.0) << "step " << steps[i].step;
    EXPECT_EQ(steps[i].weights_checksum, steps[i - 1].weights_checksum);
  }
  EXPECT_EQ(steps.front().update_norm, 0.0);
  // The last step's norms and checksum are those of the masters the run ended with.
  const StepMetrics& last = steps.back();
  ASSERT_FALSE(last.skipped);
  EXPECT_GT(last.update_norm, 0.0);
  ASSERT_EQ(last.weight_norms.size(), run.masters.size());
  std::uint64_t checksum = 0;
  double total = 0;
  for (std::size_t k = 0; k < run.masters.size(); ++k) {
    const auto& bytes = run.masters[k];
    std::vector<float> w(bytes.size() / 4);
    std::memcpy(w.data(), bytes.data(), bytes.size());
    double sq = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      sq += double(w[i]) * w[i];
      checksum += rules::fingerprint_term(float_bits(w[i]), std::int64_t(k), std::int64_t(i));
    }
    EXPECT_NEAR(last.weight_norms[k], std::sqrt(sq), 1e-6 * std::sqrt(sq)) << "master " << k;
    total += sq;
  }
  EXPECT_EQ(std::uint64_t(last.weights_checksum), checksum);
  EXPECT_NEAR(last.weight_norm, std::sqrt(total), 1e-6 * std::sqrt(total));
}

// The store keeps the names once and every step's norms; a resumed run drops
// the norms of the steps it redoes.
TEST(Fingerprint, TheStoreKeepsEachStepsNormsWithTheirNames) {
  const auto dir = std::filesystem::temp_directory_path() / "mantissa-fingerprint-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RunStore store(dir / "runs.db");
  Project p = testing::spirals_project(Policy::Float32, 6);
  auto backend = create_backend("cpu");
  NewRun nr;
  nr.project_name = p.name;
  nr.policy = "float32";
  std::int64_t id = 0;
  {
    RunRecorder rec(store, nr);
    id = rec.run_id();
    Trainer t(p, *backend);
    TrainControl c;
    ASSERT_EQ(t.run(rec, c).outcome, RunOutcome::Finished);
  }
  EXPECT_EQ(store.weight_names(id),
            (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  const auto norms = store.weight_norms(id);
  ASSERT_EQ(norms.size(), 6u);
  const auto steps = store.step_metrics(id);
  for (const StepMetrics& m : steps) {
    ASSERT_EQ(norms.at(m.step).size(), 4u);
    double sq = 0;
    for (double n : norms.at(m.step)) sq += n * n;
    EXPECT_NEAR(std::sqrt(sq), m.weight_norm, 1e-5 * m.weight_norm);
    EXPECT_NE(m.weights_checksum, 0);
  }
  {
    RunRecorder again(store, id, 3);
  }
  EXPECT_EQ(store.weight_norms(id).size(), 3u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mantissa
