// Matmul, bias add and bias gradient on the CPU backend against the reference.
//
// Tolerances: with inputs already rounded to their dtype, the only errors are
// fp32 accumulation, bounded by (K + 2) * 2^-24 * sum|a_ik b_kj| for any
// summation order, plus one rounding of the result into a 16-bit output
// (unit roundoff 2^-11 for f16, 2^-8 for bf16, relative).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "reference_ops.hpp"
#include "test_cpu_backend_util.hpp"

namespace mantissa {
namespace {

using cpu_test::upload;
namespace ref = reference;

struct MatmulShape {
  std::int64_t M, K, N;
};

void check_matmul(const cpu_test::Case& cs, DType out, const MatmulShape& s, bool ta, bool tb,
                  float beta, std::uint64_t seed) {
  Backend& b = *cs.backend;
  const auto av = ref::round_to(cs.dtype, ref::random_values(std::size_t(s.M * s.K), seed));
  const auto bv = ref::round_to(cs.dtype, ref::random_values(std::size_t(s.K * s.N), seed + 1));
  auto cv = ref::round_to(out, ref::random_values(std::size_t(s.M * s.N), seed + 2));
  if (beta == 0.0f) {
    // beta = 0 must overwrite c, whatever it held.
    std::fill(cv.begin(), cv.end(), std::numeric_limits<float>::quiet_NaN());
  }
  Tensor a = upload(b, ta ? Shape{s.K, s.M} : Shape{s.M, s.K}, cs.dtype, av);
  Tensor bt = upload(b, tb ? Shape{s.N, s.K} : Shape{s.K, s.N}, cs.dtype, bv);
  Tensor c = upload(b, {s.M, s.N}, out, cv);
  b.matmul(a, ta, bt, tb, c, beta);

  ref::Vec mag;
  const ref::Vec expected = ref::matmul(av, ta, bv, tb, s.M, s.K, s.N, cv, beta, &mag);
  for (auto& m : mag) m *= double(s.K + 2) * std::ldexp(1.0, -24);
  const double rel = out == DType::F32 ? 0.0 : ref::unit_roundoff(out);
  EXPECT_TRUE(ref::all_close(c.to_host(), expected, mag, rel))
      << cs.name() << " -> " << dtype_name(out) << ", " << s.M << "x" << s.K << "x" << s.N
      << (ta ? " Aᵀ" : "") << (tb ? " Bᵀ" : "") << ", beta " << beta;
}

TEST(CpuBackendMatmul, MatchesReferenceForEveryDtypeTransposeAndBeta) {
  const MatmulShape shapes[] = {{3, 5, 7}, {1, 1, 1}, {17, 33, 9}, {8, 130, 31}};
  std::uint64_t seed = 100;
  for (const auto& cs : cpu_test::primitive_cases()) {
    // c is fp32 or a's dtype.
    std::vector<DType> outs{cs.dtype};
    if (cs.dtype != DType::F32) outs.push_back(DType::F32);
    for (DType out : outs) {
      for (const auto& s : shapes) {
        for (int t = 0; t < 4; ++t) {
          for (float beta : {0.0f, 1.0f, 0.5f}) {
            check_matmul(cs, out, s, t & 1, t & 2, beta, seed += 3);
          }
        }
      }
    }
  }
}

TEST(CpuBackendMatmul, EmptyInnerDimensionScalesC) {
  Backend& b = cpu_test::default_backend();
  Tensor a = Tensor::zeros(b, {2, 0}, DType::F32);
  Tensor bt = Tensor::zeros(b, {0, 3}, DType::F32);
  Tensor c = upload(b, {2, 3}, DType::F32, {1, 2, 3, 4, 5, 6});
  b.matmul(a, false, bt, false, c, 0.5f);
  EXPECT_EQ(c.to_host(), (std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3}));
  b.matmul(a, false, bt, false, c, 0.0f);
  EXPECT_EQ(c.to_host(), std::vector<float>(6, 0.0f));
}

TEST(CpuBackendMatmul, PrimitivesAreBuiltOncePerShape) {
  cpu::CpuBackend b;
  const auto v = ref::random_values(12 * 20, 7);
  Tensor a = upload(b, {12, 20}, DType::F32, v);
  Tensor w = upload(b, {20, 12}, DType::F32, v);
  Tensor c = Tensor::empty(b, {12, 12}, DType::F32);
  b.matmul(a, false, w, false, c, 0.0f);
  const std::size_t after_first = b.cached_primitives();
  EXPECT_GE(after_first, 1u);
  const auto first = c.to_host();
  for (int i = 0; i < 5; ++i) b.matmul(a, false, w, false, c, 0.0f);
  EXPECT_EQ(b.cached_primitives(), after_first);
  EXPECT_EQ(c.to_host(), first);
  Tensor gram = Tensor::empty(b, {20, 20}, DType::F32);
  b.matmul(a, true, a, false, gram, 0.0f);
  EXPECT_EQ(b.cached_primitives(), after_first + 1);  // a new shape is a new primitive
}

void check_bias_add(DType t, Shape shape, std::uint64_t seed) {
  Backend& b = cpu_test::default_backend();
  const std::int64_t C = shape[1];
  const auto yv = ref::round_to(t, ref::random_values(std::size_t(shape.numel()), seed));
  const auto bias = ref::random_values(std::size_t(C), seed + 1);
  Tensor y = upload(b, shape, t, yv);
  b.bias_add(y, upload(b, {C}, DType::F32, bias));
  const std::int64_t inner = shape.numel() / (shape[0] * C);
  ref::Vec expected(yv.size());
  for (std::size_t i = 0; i < yv.size(); ++i) {
    expected[i] = double(yv[i]) + bias[std::size_t((std::int64_t(i) / inner) % C)];
  }
  // One fp32 addition, then one rounding into y's dtype.
  EXPECT_TRUE(ref::all_close(y.to_host(), expected, 0.0, ref::unit_roundoff(t) * 1.01 + 1e-7))
      << dtype_name(t) << " " << shape.str();
}

TEST(CpuBackendBias, AddMatchesReference) {
  std::uint64_t seed = 500;
  for (DType t : cpu_test::kAllDtypes) {
    check_bias_add(t, {5, 7}, seed++);
    check_bias_add(t, {3, 5, 7, 2}, seed++);
    check_bias_add(t, {2, 3, 60, 60}, seed++);  // big enough to run threaded
    check_bias_add(t, {600, 70}, seed++);
  }
}

void check_bias_grad(DType t, Shape shape, float beta, std::uint64_t seed) {
  Backend& b = cpu_test::default_backend();
  const std::int64_t C = shape[1];
  const auto dyv = ref::round_to(t, ref::random_values(std::size_t(shape.numel()), seed));
  const auto old = ref::random_values(std::size_t(C), seed + 1);
  Tensor db = upload(b, {C}, DType::F32, old);
  b.bias_grad(upload(b, shape, t, dyv), db, beta);
  const std::int64_t inner = shape.numel() / (shape[0] * C);
  ref::Vec expected(std::size_t(C), 0.0), mag(std::size_t(C), 0.0);
  for (std::size_t i = 0; i < dyv.size(); ++i) {
    const std::size_t c = std::size_t((std::int64_t(i) / inner) % C);
    expected[c] += dyv[i];
    mag[c] += std::abs(dyv[i]);
  }
  for (std::size_t c = 0; c < std::size_t(C); ++c) {
    expected[c] += double(beta) * old[c];
    mag[c] = mag[c] * 1e-6 + 1e-7;  // fp32 partial sums over blocks of <= 1024
  }
  EXPECT_TRUE(ref::all_close(db.to_host(), expected, mag, 1e-6))
      << dtype_name(t) << " " << shape.str() << " beta " << beta;
}

TEST(CpuBackendBias, GradMatchesReference) {
  std::uint64_t seed = 900;
  for (DType t : cpu_test::kAllDtypes) {
    for (float beta : {0.0f, 1.0f}) {
      check_bias_grad(t, {5, 7}, beta, seed++);
      check_bias_grad(t, {3, 5, 7, 2}, beta, seed++);
      check_bias_grad(t, {2, 3, 60, 60}, beta, seed++);
      check_bias_grad(t, {700, 70}, beta, seed++);
    }
  }
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// linear_forward adds the bias before rounding to the output's dtype, once
// (as cuBLASLt's bias epilogue does): 1 + 2^-9 alone rounds down to 1 in
// bf16, and 1 + 2^-9 (bias) would round down again; summed first, 1 + 2^-8 +
// 2^-20 lies past the halfway point and rounds up to 1 + 2^-7.
TEST(CpuBackendLinear, BiasIsAddedBeforeTheOneRounding) {
  Backend& b = cpu_test::default_backend();
  Tensor x = upload(b, {1, 2}, DType::BF16, {1.0f, std::ldexp(1.0f, -9)});
  Tensor w = upload(b, {1, 2}, DType::BF16, {1.0f, 1.0f});
  Tensor bias = upload(b, {1}, DType::F32, {std::ldexp(1.0f, -9) + std::ldexp(1.0f, -20)});
  Tensor y = Tensor::empty(b, {1, 1}, DType::BF16);
  b.linear_forward(x, w, &bias, y, false);
  EXPECT_EQ(y.to_host()[0], 1.0f + std::ldexp(1.0f, -7));
  // Without a bias it is the plain matmul.
  b.linear_forward(x, w, nullptr, y, false);
  EXPECT_EQ(y.to_host()[0], 1.0f);

  // The weight gradient and the bias gradient together, as the separate ops give them.
  const std::vector<float> dyv{0.5f, -1.25f, 2.0f, 0.75f, -0.5f, 1.0f};
  Tensor dy = upload(b, {3, 2}, DType::F32, dyv);
  Tensor xs = upload(b, {3, 4}, DType::F32, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor dw = Tensor::empty(b, {2, 4}, DType::F32), db = Tensor::empty(b, {2}, DType::F32);
  b.linear_backward_weights(dy, xs, dw, &db);
  EXPECT_EQ(db.to_host(), (std::vector<float>{0.5f + 2.0f - 0.5f, -1.25f + 0.75f + 1.0f}));
  EXPECT_EQ(dw.to_host()[0], 0.5f * 1 + 2.0f * 5 - 0.5f * 9);
  EXPECT_EQ(dw.to_host()[4], -1.25f * 1 + 0.75f * 5 + 1.0f * 9);
}

}  // namespace
}  // namespace mantissa
