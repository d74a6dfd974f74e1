// Convolution, pooling and normalisation on CUDA against the CPU backend, per
// dtype. Tolerances (see test_cuda_parity.cpp for the scheme): convolutions
// within 4 (K + 2) 2^-24 sum|x w| plus two ulps of a 16-bit output, with
// sum|x w| computed by the CPU on |x| and |w| and K the length of each sum;
// max pooling bit-identical where windows do not overlap; averages and
// statistics within 1e-5 of the magnitudes involved plus two 16-bit ulps.
// Without a GPU every test here is skipped with the driver's reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"
#include "mantissa/backend.hpp"

namespace mantissa {
namespace {

using namespace cuda_test;



testing::AssertionResult close(const Pair& p, const std::vector<double>& tol, double rel = 0) {
  const auto a = p.c.to_host(), b = p.g.to_host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double t = (tol.size() == 1 ? tol[0] : tol[i]) + rel * std::abs(double(a[i]));
    if (!(std::abs(double(a[i]) - double(b[i])) <= t))
      return testing::AssertionFailure() << "element " << i << " of " << p.c.describe() << ": cpu "
                                         << a[i] << ", cuda " << b[i] << ", tolerance " << t;
  }
  return testing::AssertionSuccess();
}

std::vector<double> bound(const Tensor& magnitude, double K, DType out) {
  std::vector<double> tol;
  for (float m : magnitude.to_host())
    tol.push_back(4.0 * (K + 2) * 0x1p-24 * m +
                  (out == DType::F32 ? 0.0 : 2 * unit_roundoff(out) * m));
  return tol;
}

// ---- convolution --------------------------------------------------------------

struct ConvCase {
  std::int64_t N, C, H, W, O, KH, KW;
  Conv2dParams p;
  std::int64_t OH() const { return (H + 2 * p.pad_h - KH) / p.stride_h + 1; }
  std::int64_t OW() const { return (W + 2 * p.pad_w - KW) / p.stride_w + 1; }
};

TEST(CudaParity, ConvolutionForwardAndBackward) {
  REQUIRE_CUDA();
  const ConvCase cases[] = {{2, 3, 8, 8, 4, 3, 3, {1, 1, 1, 1}},
                            {1, 1, 5, 5, 1, 1, 1, {1, 1, 0, 0}},
                            {3, 5, 11, 9, 6, 3, 2, {2, 1, 1, 0}},
                            {4, 16, 14, 14, 32, 5, 5, {1, 1, 2, 2}}};
  std::uint32_t seed = 300;
  for (DType t : kDtypes) {
    for (const ConvCase& k : cases) {
      const Shape xs{k.N, k.C, k.H, k.W}, ws{k.O, k.C, k.KH, k.KW}, ys{k.N, k.O, k.OH(), k.OW()};
      const std::string what = std::string(dtype_name(t)) + " x " + xs.str() + " w " + ws.str();
      const Pair x = both(xs, t, random_values(std::size_t(xs.numel()), seed++));
      const Pair w = both(ws, t, random_values(std::size_t(ws.numel()), seed++));
      const Pair bias = both({k.O}, DType::F32, random_values(std::size_t(k.O), seed++));
      const Pair dy = both(ys, t, random_values(std::size_t(ys.numel()), seed++));
      const Tensor ax = abs_cpu(x.c), aw = abs_cpu(w.c), ady = abs_cpu(dy.c);

      for (bool with_bias : {false, true}) {
        Pair y = both_empty(ys, t);
        cpu().conv2d_forward(x.c, w.c, with_bias ? &bias.c : nullptr, y.c, k.p);
        gpu().conv2d_forward(x.g, w.g, with_bias ? &bias.g : nullptr, y.g, k.p);
        Tensor mag = Tensor::zeros(cpu(), ys, DType::F32);
        Tensor abias = abs_cpu(bias.c);
        cpu().conv2d_forward(ax, aw, with_bias ? &abias : nullptr, mag, k.p);
        // With a bias, the 16-bit output may be rounded twice on the GPU.
        auto tol = bound(mag, double(k.C * k.KH * k.KW), t);
        if (with_bias && t != DType::F32)
          for (auto& v : tol) v *= 1.5;
        EXPECT_TRUE(close(y, tol)) << "forward " << what << " bias " << with_bias;
      }

      Pair dx = both_empty(xs, t);
      cpu().conv2d_backward_data(dy.c, w.c, dx.c, k.p);
      gpu().conv2d_backward_data(dy.g, w.g, dx.g, k.p);
      Tensor mag_dx = Tensor::zeros(cpu(), xs, DType::F32);
      cpu().conv2d_backward_data(ady, aw, mag_dx, k.p);
      EXPECT_TRUE(close(dx, bound(mag_dx, double(k.O * k.KH * k.KW), t)))
          << "backward data " << what;

      Pair dw = both_empty(ws, DType::F32), db = both_empty({k.O}, DType::F32);
      cpu().conv2d_backward_weights(x.c, dy.c, dw.c, &db.c, k.p);
      gpu().conv2d_backward_weights(x.g, dy.g, dw.g, &db.g, k.p);
      Tensor mag_dw = Tensor::zeros(cpu(), ws, DType::F32);
      cpu().conv2d_backward_weights(ax, ady, mag_dw, nullptr, k.p);
      EXPECT_TRUE(close(dw, bound(mag_dw, double(k.N * k.OH() * k.OW()), DType::F32)))
          << "backward weights " << what;
      EXPECT_TRUE(close(db, {1e-5 * double(k.N * k.OH() * k.OW())}, 1e-6)) << "dbias " << what;
    }
  }
}

// ---- pooling ------------------------------------------------------------------

struct PoolCase {
  std::int64_t N, C, H, W;
  Pool2dParams p;
  std::int64_t OH() const { return (H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1; }
  std::int64_t OW() const { return (W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1; }
  bool overlapping() const { return p.stride_h < p.kernel_h || p.stride_w < p.kernel_w; }
};

// Values distinct within every plane (k / 256 for distinct k, exact in every
// dtype), so the maximum of a window is unique on both backends.
std::vector<float> distinct_planes(const PoolCase& k, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> v;
  const std::int64_t plane = k.H * k.W;
  for (std::int64_t i = 0; i < k.N * k.C; ++i) {
    std::vector<float> p;
    for (std::int64_t j = 0; j < plane; ++j) p.push_back(float(j - plane / 2) / 256.0f);
    std::shuffle(p.begin(), p.end(), gen);
    v.insert(v.end(), p.begin(), p.end());
  }
  return v;
}

TEST(CudaParity, PoolingForwardAndBackward) {
  REQUIRE_CUDA();
  const PoolCase cases[] = {{2, 3, 8, 8, {2, 2, 2, 2, 0, 0}},
                            {1, 2, 7, 9, {3, 3, 2, 2, 1, 1}},
                            {3, 4, 12, 10, {3, 2, 1, 2, 1, 0}},
                            {2, 2, 5, 5, {5, 5, 1, 1, 2, 2}}};
  std::uint32_t seed = 400;
  for (DType t : kDtypes) {
    for (const PoolCase& k : cases) {
      const Shape xs{k.N, k.C, k.H, k.W}, ys{k.N, k.C, k.OH(), k.OW()};
      const Pair x = both(xs, t, distinct_planes(k, seed++));
      const Pair dy = both(ys, t, random_values(std::size_t(ys.numel()), seed++));
      const std::string what = std::string(dtype_name(t)) + " " + xs.str() + " kernel " +
                               std::to_string(k.p.kernel_h) + " stride " +
                               std::to_string(k.p.stride_h);
      for (PoolKind kind : {PoolKind::Max, PoolKind::Avg}) {
        Pair y = both_empty(ys, t), dx = both_empty(xs, t);
        Tensor wc, wg;
        cpu().pool2d_forward(kind, x.c, y.c, wc, k.p);
        gpu().pool2d_forward(kind, x.g, y.g, wg, k.p);
        cpu().pool2d_backward(kind, x.c, y.c, dy.c, wc, dx.c, k.p);
        gpu().pool2d_backward(kind, x.g, y.g, dy.g, wg, dx.g, k.p);
        if (kind == PoolKind::Max) {
          EXPECT_EQ(y.c.to_host_bytes(), y.g.to_host_bytes()) << "max " << what;
          if (!k.overlapping()) {
            EXPECT_EQ(dx.c.to_host_bytes(), dx.g.to_host_bytes()) << what;
          }
        } else {
          EXPECT_TRUE(close(y, {1e-6}, 1e-5 + 2 * unit_roundoff(t))) << "avg " << what;
        }
        // Overlapping windows add several gradients into one input.
        const double windows = double(k.p.kernel_h * k.p.kernel_w);
        EXPECT_TRUE(close(dx, {1e-6 * windows + 2 * unit_roundoff(t) * windows}, 1e-5))
            << (kind == PoolKind::Max ? "max" : "avg") << " backward " << what;
      }
    }
  }
}

// ---- normalisation -----------------------------------------------------------------

TEST(CudaParity, BatchNormTrainInferAndBackward) {
  REQUIRE_CUDA();
  std::uint32_t seed = 500;
  for (const Shape& xs : {Shape{16, 5}, Shape{4, 3, 7, 6}, Shape{1, 2, 1, 1}}) {
    const std::int64_t C = xs[1];
    for (DType t : kDtypes) {
      const std::string what = std::string(dtype_name(t)) + " " + xs.str();
      const Pair x = both(xs, t, random_values(std::size_t(xs.numel()), seed++, -2, 3));
      const Pair gamma = both({C}, DType::F32, random_values(std::size_t(C), seed++, 0.5, 1.5));
      const Pair beta = both({C}, DType::F32, random_values(std::size_t(C), seed++));
      Pair rm = both({C}, DType::F32, random_values(std::size_t(C), seed++));
      Pair rv = both({C}, DType::F32, random_values(std::size_t(C), seed++, 0.5, 2));
      Pair sm = both_empty({C}, DType::F32), si = both_empty({C}, DType::F32);
      Pair y = both_empty(xs, t);
      cpu().batchnorm_forward_train(x.c, gamma.c, beta.c, y.c, rm.c, rv.c, sm.c, si.c, 0.1f,
                                    1e-5f, nullptr);
      gpu().batchnorm_forward_train(x.g, gamma.g, beta.g, y.g, rm.g, rv.g, sm.g, si.g, 0.1f,
                                    1e-5f, nullptr);
      EXPECT_TRUE(close(sm, {1e-6}, 1e-5)) << "mean " << what;
      EXPECT_TRUE(close(si, {1e-6}, 1e-5)) << "invstd " << what;
      EXPECT_TRUE(close(rm, {1e-6}, 1e-5)) << "running mean " << what;
      EXPECT_TRUE(close(rv, {1e-6}, 1e-5)) << "running var " << what;
      // y = gamma xhat + beta with |xhat| up to a few units.
      EXPECT_TRUE(close(y, {1e-4}, 1e-5 + 2 * unit_roundoff(t))) << "y " << what;

      // Inference from the CPU's running statistics on both sides.
      const Pair rmc = both({C}, DType::F32, rm.c.to_host()),
                 rvc = both({C}, DType::F32, rv.c.to_host());
      Pair yi = both_empty(xs, t);
      cpu().batchnorm_forward_infer(x.c, gamma.c, beta.c, rmc.c, rvc.c, yi.c, 1e-5f);
      gpu().batchnorm_forward_infer(x.g, gamma.g, beta.g, rmc.g, rvc.g, yi.g, 1e-5f);
      EXPECT_TRUE(close(yi, {1e-4}, 1e-5 + 2 * unit_roundoff(t))) << "inference " << what;

      // Backward from the CPU's saved statistics on both sides.
      const Pair smc = both({C}, DType::F32, sm.c.to_host()),
                 sic = both({C}, DType::F32, si.c.to_host());
      const Pair dy = both(xs, t, random_values(std::size_t(xs.numel()), seed++));
      Pair dx = both_empty(xs, t), dg = both_empty({C}, DType::F32),
           db = both_empty({C}, DType::F32);
      cpu().batchnorm_backward(x.c, dy.c, gamma.c, smc.c, sic.c, dx.c, dg.c, db.c, nullptr);
      gpu().batchnorm_backward(x.g, dy.g, gamma.g, smc.g, sic.g, dx.g, dg.g, db.g, nullptr);
      const double count = double(xs.numel() / C);
      EXPECT_TRUE(close(db, {1e-6 * count}, 1e-5)) << "dbeta " << what;
      EXPECT_TRUE(close(dg, {4e-6 * count}, 1e-5)) << "dgamma " << what;
      EXPECT_TRUE(close(dx, {1e-4}, 1e-4 + 2 * unit_roundoff(t))) << "dx " << what;
    }
  }
}

TEST(CudaParity, LayerNormForwardAndBackward) {
  REQUIRE_CUDA();
  std::uint32_t seed = 600;
  for (const Shape& xs : {Shape{8, 33}, Shape{3, 4, 700}, Shape{5, 1}}) {
    const std::int64_t D = xs[xs.rank() - 1];
    const std::int64_t rows = xs.numel() / D;
    const Pair x = both(xs, DType::F32, random_values(std::size_t(xs.numel()), seed++, -3, 2));
    const Pair gamma = both({D}, DType::F32, random_values(std::size_t(D), seed++, 0.5, 1.5));
    const Pair beta = both({D}, DType::F32, random_values(std::size_t(D), seed++));
    Pair y = both_empty(xs, DType::F32), sm = both_empty({rows}, DType::F32),
         si = both_empty({rows}, DType::F32);
    cpu().layernorm_forward(x.c, gamma.c, beta.c, y.c, sm.c, si.c, 1e-5f);
    gpu().layernorm_forward(x.g, gamma.g, beta.g, y.g, sm.g, si.g, 1e-5f);
    EXPECT_TRUE(close(sm, {1e-6}, 1e-6)) << xs.str();
    EXPECT_TRUE(close(si, {1e-6}, 1e-5)) << xs.str();
    EXPECT_TRUE(close(y, {1e-5}, 1e-5)) << xs.str();
    // Backward from the CPU's saved statistics on both sides.
    const Pair smc = both({rows}, DType::F32, sm.c.to_host()),
               sic = both({rows}, DType::F32, si.c.to_host());
    const Pair dy = both(xs, DType::F32, random_values(std::size_t(xs.numel()), seed++));
    Pair dx = both_empty(xs, DType::F32), dg = both_empty({D}, DType::F32),
         db = both_empty({D}, DType::F32);
    cpu().layernorm_backward(x.c, dy.c, gamma.c, smc.c, sic.c, dx.c, dg.c, db.c);
    gpu().layernorm_backward(x.g, dy.g, gamma.g, smc.g, sic.g, dx.g, dg.g, db.g);
    EXPECT_TRUE(close(dx, {1e-4}, 1e-4)) << xs.str();
    EXPECT_TRUE(close(dg, {4e-6 * double(rows)}, 1e-5)) << xs.str();
    EXPECT_TRUE(close(db, {1e-6 * double(rows)}, 1e-5)) << xs.str();
  }
}

}  // namespace
}  // namespace mantissa
