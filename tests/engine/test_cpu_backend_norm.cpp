// Batch norm and layer norm on the CPU backend against the reference (whose
// gradients come from central differences, not from the formulas used here).
//
// Tolerances: fp32 arithmetic on O(1) values gives errors near 1e-6; 2e-5
// absolute covers sums over the largest groups tested. 16-bit activations add
// one rounding of the output (2^-11 f16, 2^-8 bf16, relative). A wrong formula
// misses by O(0.1).
#include <gtest/gtest.h>

#include "reference_ops.hpp"
#include "test_cpu_backend_util.hpp"

namespace mantissa {
namespace {

using cpu_test::upload;
namespace ref = reference;

double out_rel(DType t) {
  return t == DType::F32 ? 0.0 : ref::unit_roundoff(t);
}

void check_batchnorm(Backend& b, DType t, Shape shape, std::uint64_t seed) {
  const std::int64_t N = shape[0], C = shape[1];
  const std::int64_t S = shape.numel() / (N * C);
  const std::string what = std::string(dtype_name(t)) + " batch norm " + shape.str();
  // An offset mean checks that the variance is not formed as E[x^2] - E[x]^2.
  const auto xv =
      ref::round_to(t, ref::random_values(std::size_t(shape.numel()), seed, 2.0f, 4.0f));
  const auto gamma = ref::random_values(std::size_t(C), seed + 1, 0.5f, 1.5f);
  const auto beta = ref::random_values(std::size_t(C), seed + 2);
  const auto rm0 = ref::random_values(std::size_t(C), seed + 3);
  const auto rv0 = ref::random_values(std::size_t(C), seed + 4, 0.5f, 2.0f);
  const auto dyv = ref::round_to(t, ref::random_values(xv.size(), seed + 5));
  const float momentum = 0.1f, eps = 1e-5f;

  Tensor x = upload(b, shape, t, xv);
  Tensor g = upload(b, {C}, DType::F32, gamma);
  Tensor bt = upload(b, {C}, DType::F32, beta);
  Tensor rm = upload(b, {C}, DType::F32, rm0);
  Tensor rv = upload(b, {C}, DType::F32, rv0);
  Tensor sm = Tensor::empty(b, {C}, DType::F32);
  Tensor si = Tensor::empty(b, {C}, DType::F32);
  Tensor y = Tensor::empty(b, shape, t);
  b.batchnorm_forward_train(x, g, bt, y, rm, rv, sm, si, momentum, eps, nullptr);

  const auto r = ref::batchnorm_train(xv, N, C, S, gamma, beta, rm0, rv0, momentum, eps);
  EXPECT_TRUE(ref::all_close(y.to_host(), r.y, 2e-5, out_rel(t))) << what << " y";
  EXPECT_TRUE(ref::all_close(sm.to_host(), r.mean, 1e-6, 1e-6)) << what << " mean";
  EXPECT_TRUE(ref::all_close(si.to_host(), r.invstd, 0.0, 2e-5)) << what << " invstd";
  EXPECT_TRUE(ref::all_close(rm.to_host(), r.running_mean, 1e-6, 1e-6)) << what << " running mean";
  EXPECT_TRUE(ref::all_close(rv.to_host(), r.running_var, 1e-6, 2e-5)) << what << " running var";

  // A second step compounds the running statistics.
  b.batchnorm_forward_train(x, g, bt, y, rm, rv, sm, si, momentum, eps, nullptr);
  std::vector<float> rm1(r.running_mean.begin(), r.running_mean.end());
  std::vector<float> rv1(r.running_var.begin(), r.running_var.end());
  const auto r2 = ref::batchnorm_train(xv, N, C, S, gamma, beta, rm1, rv1, momentum, eps);
  EXPECT_TRUE(ref::all_close(rm.to_host(), r2.running_mean, 1e-6, 1e-6)) << what << " step 2";
  EXPECT_TRUE(ref::all_close(rv.to_host(), r2.running_var, 1e-6, 2e-5)) << what << " step 2";

  // Inference uses the running statistics.
  Tensor yi = Tensor::empty(b, shape, t);
  b.batchnorm_forward_infer(x, g, bt, rm, rv, yi, eps);
  const auto rm_now = rm.to_host(), rv_now = rv.to_host();
  EXPECT_TRUE(ref::all_close(yi.to_host(),
                             ref::batchnorm_infer(xv, N, C, S, gamma, beta, rm_now, rv_now, eps),
                             4e-5, out_rel(t)))
      << what << " infer";

  Tensor dy = upload(b, shape, t, dyv);
  Tensor dx = Tensor::empty(b, shape, t);
  Tensor dg = Tensor::empty(b, {C}, DType::F32);
  Tensor db = Tensor::empty(b, {C}, DType::F32);
  b.batchnorm_backward(x, dy, g, sm, si, dx, dg, db, nullptr);
  const auto gr = ref::batchnorm_backward(xv, dyv, N, C, S, gamma, eps);
  const double group = double(N * S);
  EXPECT_TRUE(ref::all_close(dx.to_host(), gr.dx, 1e-4, out_rel(t))) << what << " dx";
  EXPECT_TRUE(ref::all_close(dg.to_host(), gr.dgamma, 1e-6 * group, 1e-5)) << what << " dgamma";
  EXPECT_TRUE(ref::all_close(db.to_host(), gr.dbeta, 1e-6 * group, 1e-5)) << what << " dbeta";
}

TEST(CpuBackendBatchNorm, TrainInferBackwardMatchReference) {
  Backend& b = cpu_test::default_backend();
  std::uint64_t seed = 4000;
  for (DType t : cpu_test::kAllDtypes) {
    check_batchnorm(b, t, {6, 5}, seed += 8);          // dense (N, C)
    check_batchnorm(b, t, {3, 5, 4, 3}, seed += 8);    // odd spatial sizes
    check_batchnorm(b, t, {8, 256, 4, 4}, seed += 8);  // large enough to run threaded
  }
  check_batchnorm(b, DType::F32, {256, 128}, seed += 8);  // threaded dense
}

TEST(CpuBackendBatchNorm, RunningVarianceIsUnbiased) {
  Backend& b = cpu_test::default_backend();
  // One channel holding {1, 3}: batch mean 2, biased var 1, unbiased var 2.
  Tensor x = upload(b, {2, 1}, DType::F32, {1, 3});
  Tensor g = upload(b, {1}, DType::F32, {1});
  Tensor bt = upload(b, {1}, DType::F32, {0});
  Tensor rm = upload(b, {1}, DType::F32, {0});
  Tensor rv = upload(b, {1}, DType::F32, {1});
  Tensor sm = Tensor::empty(b, {1}, DType::F32), si = Tensor::empty(b, {1}, DType::F32);
  Tensor y = Tensor::empty(b, {2, 1}, DType::F32);
  b.batchnorm_forward_train(x, g, bt, y, rm, rv, sm, si, 0.5f, 0.0f, nullptr);
  EXPECT_FLOAT_EQ(rm.to_host()[0], 1.0f);  // 0.5 * 0 + 0.5 * 2
  EXPECT_FLOAT_EQ(rv.to_host()[0], 1.5f);  // 0.5 * 1 + 0.5 * 2
  EXPECT_FLOAT_EQ(si.to_host()[0], 1.0f);  // 1 / sqrt(biased var)
  EXPECT_EQ(y.to_host(), (std::vector<float>{-1, 1}));
}

void check_layernorm(Backend& b, Shape shape, std::uint64_t seed) {
  const std::int64_t D = shape[shape.rank() - 1];
  const std::int64_t rows = shape.numel() / D;
  const std::string what = "layer norm " + shape.str();
  const auto xv = ref::random_values(std::size_t(shape.numel()), seed, -3.0f, 5.0f);
  const auto gamma = ref::random_values(std::size_t(D), seed + 1, 0.5f, 1.5f);
  const auto beta = ref::random_values(std::size_t(D), seed + 2);
  const auto dyv = ref::random_values(xv.size(), seed + 3);
  const float eps = 1e-5f;
  Tensor x = upload(b, shape, DType::F32, xv);
  Tensor g = upload(b, {D}, DType::F32, gamma);
  Tensor bt = upload(b, {D}, DType::F32, beta);
  Tensor y = Tensor::empty(b, shape, DType::F32);
  Tensor sm = Tensor::empty(b, {rows}, DType::F32);
  Tensor si = Tensor::empty(b, {rows}, DType::F32);
  b.layernorm_forward(x, g, bt, y, sm, si, eps);
  const auto r = ref::layernorm_forward(xv, rows, D, gamma, beta, eps);
  EXPECT_TRUE(ref::all_close(y.to_host(), r.y, 2e-5, 0.0)) << what << " y";
  EXPECT_TRUE(ref::all_close(sm.to_host(), r.mean, 1e-6, 1e-6)) << what << " mean";
  EXPECT_TRUE(ref::all_close(si.to_host(), r.invstd, 0.0, 2e-5)) << what << " invstd";

  Tensor dy = upload(b, shape, DType::F32, dyv);
  Tensor dx = Tensor::empty(b, shape, DType::F32);
  Tensor dg = Tensor::empty(b, {D}, DType::F32);
  Tensor db = Tensor::empty(b, {D}, DType::F32);
  b.layernorm_backward(x, dy, g, sm, si, dx, dg, db);
  const auto gr = ref::layernorm_backward(xv, dyv, rows, D, gamma, eps);
  EXPECT_TRUE(ref::all_close(dx.to_host(), gr.dx, 1e-4, 0.0)) << what << " dx";
  EXPECT_TRUE(ref::all_close(dg.to_host(), gr.dgamma, 1e-6 * double(rows), 1e-5))
      << what << " dgamma";
  EXPECT_TRUE(ref::all_close(db.to_host(), gr.dbeta, 1e-6 * double(rows), 1e-5))
      << what << " dbeta";
}

TEST(CpuBackendLayerNorm, ForwardBackwardMatchReference) {
  Backend& b = cpu_test::default_backend();
  check_layernorm(b, {5, 7}, 5000);
  check_layernorm(b, {3, 4, 33}, 5010);
  check_layernorm(b, {128, 256}, 5020);  // large enough to run threaded
}

}  // namespace
}  // namespace mantissa
