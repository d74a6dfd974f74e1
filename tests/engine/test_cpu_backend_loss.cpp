// Losses, accuracy counting, loss-scale unscaling and squared norms on the CPU
// backend.
//
// Tolerances: losses are compared with double-precision references to 1e-6
// relative (fp32 exp/log per row, rows summed in double); gradients to a few
// fp32 ulp of their scale plus one rounding into a 16-bit dlogits.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "mantissa/error.hpp"
#include "reference_ops.hpp"
#include "test_cpu_backend_util.hpp"

namespace mantissa {
namespace {

using cpu_test::upload;
namespace ref = reference;

std::vector<float> random_labels(std::int64_t N, std::int64_t C, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<float> labels(static_cast<std::size_t>(N));
  for (auto& l : labels) l = float(gen() % std::uint64_t(C));
  return labels;
}

void check_cross_entropy(std::int64_t N, std::int64_t C, float scale, DType grad_dtype,
                         float spread, std::uint64_t seed) {
  Backend& b = cpu_test::default_backend();
  auto logits = ref::random_values(std::size_t(N * C), seed, -spread, spread);
  const auto labels = random_labels(N, C, seed + 1);
  Tensor x = upload(b, {N, C}, DType::F32, logits);
  Tensor lab = upload(b, {N}, DType::F32, labels);
  Tensor loss = Tensor::empty(b, {1}, DType::F32);
  Tensor dx = Tensor::empty(b, {N, C}, grad_dtype);
  Tensor s = upload(b, {1}, DType::F32, {scale});
  b.softmax_cross_entropy(x, lab, loss, dx, s);
  const auto r = ref::softmax_cross_entropy(logits, labels, N, C, scale);
  const std::string what = std::to_string(N) + "x" + std::to_string(C) + " scale " +
                           std::to_string(scale) + " " + std::string(dtype_name(grad_dtype));
  EXPECT_NEAR(loss.to_host()[0], r.loss, 1e-6 * std::abs(r.loss) + 1e-6) << what;
  const double u = grad_dtype == DType::F32 ? 0.0 : ref::unit_roundoff(grad_dtype);
  // Small gradients land among f16's subnormals, whose spacing is 2^-24: the
  // absolute error of rounding there is half of that (loss scaling exists to
  // lift gradients out of this range).
  const double subnormal = grad_dtype == DType::F16 ? std::ldexp(1.0, -25) : 0.0;
  EXPECT_TRUE(ref::all_close(dx.to_host(), r.grad, 1e-6 * scale / double(N) + subnormal, 1e-6 + u))
      << what;
}

TEST(CpuBackendLoss, CrossEntropyMatchesDoubleReference) {
  std::uint64_t seed = 6000;
  for (DType t : cpu_test::kAllDtypes) {
    for (float scale : {1.0f, 1024.0f, 65536.0f}) {
      check_cross_entropy(7, 5, scale, t, 3.0f, seed += 2);
      check_cross_entropy(64, 600, scale, t, 3.0f, seed += 2);  // threaded
    }
  }
  // Logits far beyond exp's range: the row maximum must be subtracted first.
  check_cross_entropy(9, 4, 1.0f, DType::F32, 500.0f, seed += 2);
  // More than one chunk of rows (2^18 values), the last one partial.
  check_cross_entropy(1100, 300, 1024.0f, DType::BF16, 3.0f, seed += 2);
}

// 16-bit logits are read as they are: the loss and the gradient are those of
// their exact fp32 widening, bit for bit, in one chunk of rows or several.
TEST(CpuBackendLoss, CrossEntropyOfSixteenBitLogitsIsThatOfTheirFp32Widening) {
  Backend& b = cpu_test::default_backend();
  std::uint64_t seed = 6300;
  for (DType t : {DType::F16, DType::BF16}) {
    for (auto [N, C] : {std::pair<std::int64_t, std::int64_t>{7, 5}, {1100, 300}}) {
      Tensor narrow = upload(b, {N, C}, t, ref::random_values(std::size_t(N * C), ++seed, -6, 6));
      Tensor wide = Tensor::empty(b, {N, C}, DType::F32);
      b.cast(narrow, wide);
      Tensor lab = upload(b, {N}, DType::F32, random_labels(N, C, ++seed));
      Tensor s = upload(b, {1}, DType::F32, {4096.0f});
      std::vector<std::vector<std::uint8_t>> losses, grads;
      for (const Tensor* x : {&narrow, &wide}) {
        Tensor loss = Tensor::empty(b, {1}, DType::F32);
        Tensor dx = Tensor::empty(b, {N, C}, t);
        b.softmax_cross_entropy(*x, lab, loss, dx, s);
        losses.push_back(loss.to_host_bytes());
        grads.push_back(dx.to_host_bytes());
      }
      const std::string what = std::string(dtype_name(t)) + " " + std::to_string(N) + "x" +
                               std::to_string(C);
      EXPECT_EQ(losses[0], losses[1]) << what;
      EXPECT_EQ(grads[0], grads[1]) << what;
    }
  }
}

// Rows go through oneDNN in chunks of 2^18 values: every row is computed
// alone, so a row's gradient is the same bits whether its batch needed one
// chunk or several. 2048 x 256 logits are two chunks; their first 512 rows
// are one, and with a quarter of the scale the coefficient scale / N is the
// same float (powers of two).
TEST(CpuBackendLoss, CrossEntropyChunksChangeNoBits) {
  Backend& b = cpu_test::default_backend();
  const std::int64_t N = 2048, C = 256, n = 512;
  const auto logits = ref::random_values(std::size_t(N * C), 6900, -8, 8);
  const auto labels = random_labels(N, C, 6901);
  const auto run = [&](std::int64_t rows, float scale) {
    Tensor x = upload(b, {rows, C}, DType::BF16,
                      std::vector<float>(logits.begin(), logits.begin() + rows * C));
    Tensor lab = upload(b, {rows}, DType::F32,
                        std::vector<float>(labels.begin(), labels.begin() + rows));
    Tensor loss = Tensor::empty(b, {1}, DType::F32);
    Tensor dx = Tensor::empty(b, {rows, C}, DType::BF16);
    b.softmax_cross_entropy(x, lab, loss, dx, upload(b, {1}, DType::F32, {scale}));
    auto bytes = dx.to_host_bytes();
    bytes.resize(std::size_t(n * C * 2));  // the first n rows
    return bytes;
  };
  EXPECT_EQ(run(N, 4096.0f), run(n, 1024.0f));
}

TEST(CpuBackendLoss, CrossEntropyOfHugeLogitsIsFinite) {
  Backend& b = cpu_test::default_backend();
  Tensor x = upload(b, {2, 3}, DType::F32, {1e4f, 0.0f, -1e4f, -1e4f, -1e4f, 1e4f});
  Tensor lab = upload(b, {2}, DType::F32, {0, 0});
  Tensor loss = Tensor::empty(b, {1}, DType::F32);
  Tensor dx = Tensor::empty(b, {2, 3}, DType::F32);
  b.softmax_cross_entropy(x, lab, loss, dx, upload(b, {1}, DType::F32, {1.0f}));
  // Row 0 is certain and right (loss 0); row 1 is certain and wrong (loss 2e4).
  EXPECT_FLOAT_EQ(loss.to_host()[0], 1e4f);
  EXPECT_EQ(dx.to_host(), (std::vector<float>{0, 0, 0, -0.5f, 0, 0.5f}));
}

TEST(CpuBackendLoss, MseMatchesDoubleReference) {
  Backend& b = cpu_test::default_backend();
  std::uint64_t seed = 6500;
  for (auto [N, D] : {std::pair<std::int64_t, std::int64_t>{5, 3}, {300, 170}}) {
    for (float scale : {1.0f, 4096.0f}) {
      const auto pv = ref::random_values(std::size_t(N * D), ++seed);
      const auto tv = ref::random_values(std::size_t(N * D), ++seed);
      Tensor loss = Tensor::empty(b, {1}, DType::F32);
      Tensor dp = Tensor::empty(b, {N, D}, DType::F32);
      b.mse_loss(upload(b, {N, D}, DType::F32, pv), upload(b, {N, D}, DType::F32, tv), loss, dp,
                 upload(b, {1}, DType::F32, {scale}));
      const auto r = ref::mse(pv, tv, scale);
      EXPECT_NEAR(loss.to_host()[0], r.loss, 1e-6 * r.loss);
      EXPECT_TRUE(ref::all_close(dp.to_host(), r.grad, 0.0, 1e-6));
    }
  }
}

TEST(CpuBackendLoss, CountCorrectUsesTheFirstMaximumAndAccumulates) {
  Backend& b = cpu_test::default_backend();
  Tensor x = upload(b, {4, 3}, DType::F32,
                    {0.1f, 0.7f, 0.2f,     // argmax 1
                     0.5f, 0.5f, 0.1f,     // tie: first maximum, 0
                     -1.0f, -2.0f, -0.5f,  // argmax 2
                     3.0f, 3.0f, 3.0f});   // all tied: 0
  Tensor lab = upload(b, {4}, DType::F32, {1, 1, 2, 0});
  Tensor correct = upload(b, {1}, DType::F32, {10.0f});
  b.count_correct(x, lab, correct);
  EXPECT_EQ(correct.to_host()[0], 13.0f);  // rows 0, 2, 3 are right
  b.count_correct(x, lab, correct);
  EXPECT_EQ(correct.to_host()[0], 16.0f);
}

TEST(CpuBackendLoss, OutOfRangeLabelIsAnInternalError) {
  Backend& b = cpu_test::default_backend();
  Tensor x = Tensor::zeros(b, {2, 3}, DType::F32);
  Tensor correct = Tensor::zeros(b, {1}, DType::F32);
  for (float bad : {3.0f, -1.0f, 0.5f}) {
    Tensor lab = upload(b, {2}, DType::F32, {0.0f, bad});
    EXPECT_THROW(b.count_correct(x, lab, correct), InternalError) << bad;
  }
}

// Gradients: three fp32 tensors and a bf16 one, the last large enough to run
// threaded.
struct GradSet {
  std::vector<std::vector<float>> values;
  std::vector<Tensor> tensors;
};

GradSet make_grads(Backend& b) {
  GradSet g;
  const std::int64_t sizes[] = {7, 1, 300, 50000};
  for (int k = 0; k < 4; ++k) {
    const DType t = k == 2 ? DType::BF16 : DType::F32;
    g.values.push_back(ref::round_to(
        t, ref::random_values(std::size_t(sizes[k]), 700 + std::uint64_t(k), -1000.0f, 1000.0f)));
    g.tensors.push_back(upload(b, {sizes[k]}, t, g.values.back()));
  }
  return g;
}

// Every tensor must hold exactly x * inv (rounded to its dtype), non-finite
// values included.
void expect_unscaled(const GradSet& g, float inv) {
  for (std::size_t k = 0; k < g.tensors.size(); ++k) {
    const auto got = g.tensors[k].to_host();
    const DType t = g.tensors[k].dtype();
    for (std::size_t i = 0; i < got.size(); ++i) {
      const float want = ref::round_to(t, {g.values[k][i] * inv})[0];
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(got[i])) << "tensor " << k << " at " << i;
      } else {
        ASSERT_EQ(got[i], want) << "tensor " << k << " at " << i;
      }
    }
  }
}

TEST(CpuBackendUnscale, FiniteGradientsAreUnscaledAndFlagUntouched) {
  Backend& b = cpu_test::default_backend();
  GradSet g = make_grads(b);
  Tensor found = Tensor::zeros(b, {1}, DType::F32);
  b.unscale_and_check(g.tensors, upload(b, {1}, DType::F32, {3.0f}), found);
  EXPECT_EQ(found.to_host()[0], 0.0f);
  expect_unscaled(g, float(1.0 / 3.0));  // inv = float(1 / double(S)), not 1.0f / 3.0f chains
}

TEST(CpuBackendUnscale, NonFiniteInLastTensorIsFoundAndAllAreStillUnscaled) {
  Backend& b = cpu_test::default_backend();
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {inf, -inf, std::nanf("")}) {
    GradSet g = make_grads(b);
    // Plant the value deep inside the last (threaded) tensor.
    g.values[3][31337] = bad;
    g.tensors[3] = upload(b, {50000}, DType::F32, g.values[3]);
    Tensor found = Tensor::zeros(b, {1}, DType::F32);
    b.unscale_and_check(g.tensors, upload(b, {1}, DType::F32, {65536.0f}), found);
    EXPECT_EQ(found.to_host()[0], 4.0f) << bad;  // 1 + index of the last tensor
    expect_unscaled(g, 1.0f / 65536.0f);
  }
}

TEST(CpuBackendUnscale, FlagNamesTheFirstBadTensorAndIsNeverOverwritten) {
  Backend& b = cpu_test::default_backend();
  GradSet g = make_grads(b);
  g.values[1][0] = std::nanf("");
  g.values[2][5] = std::numeric_limits<float>::infinity();
  g.tensors[1] = upload(b, {1}, DType::F32, g.values[1]);
  g.tensors[2] = upload(b, {300}, DType::BF16, g.values[2]);
  Tensor found = Tensor::zeros(b, {1}, DType::F32);
  Tensor scale = upload(b, {1}, DType::F32, {2.0f});
  b.unscale_and_check(g.tensors, scale, found);
  EXPECT_EQ(found.to_host()[0], 2.0f);
  expect_unscaled(g, 0.5f);

  // A flag already set (by an earlier group of gradients) stays as it is.
  Tensor preset = upload(b, {1}, DType::F32, {9.0f});
  b.unscale_and_check(g.tensors, scale, preset);
  EXPECT_EQ(preset.to_host()[0], 9.0f);
}

TEST(CpuBackendSumSquares, MatchesDoubleReference) {
  Backend& b = cpu_test::default_backend();
  GradSet g = make_grads(b);
  double expected = 0.0;
  for (const auto& v : g.values) {
    for (float x : v) expected += double(x) * double(x);
  }
  Tensor out = upload(b, {1}, DType::F32, {123.0f});  // overwritten
  b.sum_squares(g.tensors, out);
  EXPECT_NEAR(out.to_host()[0], expected, 1e-6 * expected);
  b.sum_squares({}, out);
  EXPECT_EQ(out.to_host()[0], 0.0f);
}

}  // namespace
}  // namespace mantissa
