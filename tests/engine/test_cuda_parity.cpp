// Every CUDA backend op against the CPU backend (the reference), per dtype,
// each with its own tolerance:
//  * bit-identical: fill, cast, add / mul / accumulate / scale, ReLU and
//    LeakyReLU, dropout, concat / split, bias_add, max pooling without
//    overlapping windows, mse's gradient, count_correct, the gradient pass's
//    unscaled values and found_inf, the optimizer (SGD, AdamW; the device
//    build uses -fmad=false, so each product and sum rounds as on the CPU),
//    the loss-scale update;
//  * transcendental activations: a few fp32 ulps (device erff / expf / tanhf),
//    plus one ulp of a 16-bit output;
//  * matmul and convolution: 4 (K + 2) 2^-24 sum|a b| (both sides' fp32
//    accumulation error bound) plus two ulps of a 16-bit output, with sum|a b|
//    computed by the CPU backend on |a| and |b|;
//  * reductions (bias_grad, pooling overlaps, norms, losses, squared norms):
//    relative 1e-5 of the magnitude involved.
// Without a GPU every test here is skipped with the driver's reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {
namespace {

using namespace cuda_test;


// The same host values on both backends.
std::vector<float> abs_of(const Tensor& t) {
  auto v = t.to_host();
  for (auto& x : v) x = std::abs(x);
  return v;
}

testing::AssertionResult same_bits(const Pair& p) {
  if (p.c.to_host_bytes() == p.g.to_host_bytes()) return testing::AssertionSuccess();
  const auto a = p.c.to_host(), b = p.g.to_host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (float_bits(a[i]) != float_bits(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i])))
      return testing::AssertionFailure()
             << "element " << i << ": cpu " << a[i] << ", cuda " << b[i];
  }
  return testing::AssertionFailure() << "bytes differ (NaN encodings)";
}

// |cuda - cpu| <= tol[i] (+ rel * |cpu|); NaN only where both are NaN.
testing::AssertionResult close(const Pair& p, const std::vector<double>& tol, double rel = 0) {
  const auto a = p.c.to_host(), b = p.g.to_host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) && std::isnan(b[i])) continue;
      return testing::AssertionFailure()
             << "element " << i << ": cpu " << a[i] << ", cuda " << b[i];
    }
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] == b[i]) continue;
      return testing::AssertionFailure()
             << "element " << i << ": cpu " << a[i] << ", cuda " << b[i];
    }
    const double t = (tol.size() == 1 ? tol[0] : tol[i]) + rel * std::abs(double(a[i]));
    if (std::abs(double(a[i]) - double(b[i])) > t)
      return testing::AssertionFailure() << "element " << i << " of " << p.c.describe() << ": cpu "
                                         << a[i] << ", cuda " << b[i] << ", tolerance " << t;
  }
  return testing::AssertionSuccess();
}

// ---- memory ---------------------------------------------------------------------

TEST(CudaParity, MemoryStatsFollowLiveTensorsAndOomNamesTheRequest) {
  REQUIRE_CUDA();
  auto b = create_backend("cuda");
  EXPECT_EQ(b->memory_stats().in_use, 0u);
  {
    Tensor x = Tensor::empty(*b, {10, 3}, DType::F32);
    Tensor h = Tensor::empty(*b, {7}, DType::F16);
    EXPECT_EQ(b->memory_stats().in_use, 134u);
    EXPECT_EQ(b->memory_stats().peak, 134u);
    EXPECT_GE(b->memory_stats().reserved, 134u);
  }
  const MemoryStats s = b->memory_stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.peak, 134u);
  EXPECT_GT(s.driver_total, 0u);
  EXPECT_GT(s.driver_in_use, 0u);
  b->reset_peak_memory();
  EXPECT_EQ(b->memory_stats().peak, 0u);
  // Freed blocks are reused: the same request gets memory without growing the reserve.
  void* p = b->allocate(1000);
  const std::size_t reserved = b->memory_stats().reserved;
  b->deallocate(p, 1000);
  void* again = b->allocate(1000);
  EXPECT_EQ(again, p);
  EXPECT_EQ(b->memory_stats().reserved, reserved);
  b->deallocate(again, 1000);
  try {
    b->allocate(std::size_t(1) << 50);
    FAIL() << "a petabyte was allocated";
  } catch (const OutOfMemoryError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cuda:0"), std::string::npos) << what;
    EXPECT_NE(what.find("out of memory allocating"), std::string::npos) << what;
    EXPECT_NE(what.find("held by tensors"), std::string::npos) << what;
  }
  // The backend stays usable after an out-of-memory error.
  Tensor t = Tensor::zeros(*b, {4}, DType::F32);
  EXPECT_EQ(t.to_host(), std::vector<float>(4, 0.0f));
}

// ---- fill and cast ---------------------------------------------------------------

TEST(CudaParity, FillIsBitIdentical) {
  REQUIRE_CUDA();
  for (DType t : kDtypes) {
    for (float v :
         {0.0f, -0.0f, 1.5f, -3e-8f, 70000.0f, 1e-40f, std::numeric_limits<float>::quiet_NaN()}) {
      Pair p = both_empty({3, 333}, t);
      cpu().fill(p.c, v);
      gpu().fill(p.g, v);
      EXPECT_EQ(p.c.to_host_bytes(), p.g.to_host_bytes()) << dtype_name(t) << " " << v;
    }
  }
}

// Uploads raw bytes (bit patterns) into a tensor on each backend.
Pair both_raw(const Shape& s, DType t, const void* bytes) {
  Pair p{Tensor::empty(cpu(), s, t), Tensor::empty(gpu(), s, t)};
  cpu().upload(p.c.data(), bytes, p.c.bytes());
  gpu().upload(p.g.data(), bytes, p.g.bytes());
  gpu().synchronize();
  return p;
}

// PRECISION.md test 1 on the device: every fp16 and bf16 pattern, widened and
// rounded again, and 10^6 random fp32 patterns (NaN payloads included),
// rounded to fp16 and bf16, bit for bit as on the CPU.
TEST(CudaParity, CastsAreBitIdenticalOverAllPatterns) {
  REQUIRE_CUDA();
  std::vector<std::uint16_t> all(65536);
  std::iota(all.begin(), all.end(), std::uint16_t(0));
  for (DType half : {DType::F16, DType::BF16}) {
    const Pair src = both_raw({65536}, half, all.data());
    for (DType dst : kDtypes) {
      Pair out = both_empty({65536}, dst);
      cpu().cast(src.c, out.c);
      gpu().cast(src.g, out.g);
      EXPECT_EQ(out.c.to_host_bytes(), out.g.to_host_bytes())
          << dtype_name(half) << " -> " << dtype_name(dst);
    }
  }
  std::mt19937_64 gen(99);
  std::vector<std::uint32_t> bits(1000000);
  for (auto& b : bits) b = std::uint32_t(gen());
  // The boundaries of PRECISION.md as well.
  for (float f : {65504.0f, 65519.99f, 65520.0f, -65520.0f, 6.103515625e-05f, 5.9604645e-08f,
                  2.9802322e-08f, 2.9802326e-08f, 3.3895314e38f, 3.4028235e38f, -0.0f})
    bits.push_back(float_bits(f));
  const Shape s{std::int64_t(bits.size())};
  const Pair src = both_raw(s, DType::F32, bits.data());
  for (DType dst : {DType::F16, DType::BF16}) {
    Pair out = both_empty(s, dst);
    cpu().cast(src.c, out.c);
    gpu().cast(src.g, out.g);
    EXPECT_EQ(out.c.to_host_bytes(), out.g.to_host_bytes()) << "f32 -> " << dtype_name(dst);
  }
}

// ---- elementwise --------------------------------------------------------------------

TEST(CudaParity, ArithmeticIsBitIdenticalForEveryDtypeMix) {
  REQUIRE_CUDA();
  const Shape s{5, 1001};
  for (DType ta : kDtypes) {
    for (DType tb : kDtypes) {
      for (DType to : kDtypes) {
        const auto av = random_values(5005, 1, -300, 300), bv = random_values(5005, 2, -300, 300);
        const Pair a = both(s, ta, av), b = both(s, tb, bv);
        Pair out = both_empty(s, to);
        cpu().add(a.c, b.c, out.c);
        gpu().add(a.g, b.g, out.g);
        EXPECT_TRUE(same_bits(out)) << "add " << dtype_name(ta) << dtype_name(tb) << dtype_name(to);
        cpu().mul(a.c, b.c, out.c);
        gpu().mul(a.g, b.g, out.g);
        EXPECT_TRUE(same_bits(out)) << "mul " << dtype_name(ta) << dtype_name(tb) << dtype_name(to);
        Pair acc = both(s, to, bv);
        cpu().accumulate(a.c, acc.c);
        gpu().accumulate(a.g, acc.g);
        EXPECT_TRUE(same_bits(acc))
            << "accumulate " << dtype_name(ta) << " into " << dtype_name(to);
      }
    }
    Pair t = both(s, ta, random_values(5005, 3, -1e4f, 1e4f));
    cpu().scale(t.c, 7.3f);
    gpu().scale(t.g, 7.3f);
    EXPECT_TRUE(same_bits(t)) << "scale " << dtype_name(ta);
  }
}

TEST(CudaParity, ActivationsForwardAndBackward) {
  REQUIRE_CUDA();
  const Shape s{7, 613};
  const std::size_t n = 7 * 613;
  const Activation acts[] = {Activation::Relu, Activation::LeakyRelu, Activation::Gelu,
                             Activation::Tanh, Activation::Sigmoid};
  for (DType t : kDtypes) {
    auto xv = random_values(n, 5, -6, 6);
    xv[0] = 0.0f;
    const Pair x = both(s, t, xv), dy = both(s, t, random_values(n, 6));
    for (Activation act : acts) {
      const bool exact = act == Activation::Relu || act == Activation::LeakyRelu;
      // A few fp32 ulps of the value, or one ulp of a 16-bit output.
      const double rel = exact ? 0 : 8e-7 + 2 * unit_roundoff(t);
      Pair y = both_empty(s, t), dx = both_empty(s, t);
      cpu().activation_forward(act, 0.02f, x.c, y.c);
      gpu().activation_forward(act, 0.02f, x.g, y.g);
      if (exact) {
        EXPECT_TRUE(same_bits(y)) << int(act) << " " << dtype_name(t);
      } else {
        EXPECT_TRUE(close(y, {1e-7}, rel)) << int(act) << " " << dtype_name(t);
      }
      // Backward from the CPU's y on both sides, so only the derivative is compared.
      Pair ysame = both(s, t, y.c.to_host());
      cpu().activation_backward(act, 0.02f, x.c, ysame.c, dy.c, dx.c);
      gpu().activation_backward(act, 0.02f, x.g, ysame.g, dy.g, dx.g);
      if (exact) {
        EXPECT_TRUE(same_bits(dx)) << int(act) << " " << dtype_name(t);
      } else {
        EXPECT_TRUE(close(dx, {1e-7}, rel)) << int(act) << " backward " << dtype_name(t);
      }
    }
  }
}

TEST(CudaParity, DropoutDrawsTheSameMask) {
  REQUIRE_CUDA();
  const Shape s{3, 4099};
  for (DType t : kDtypes) {
    const Pair x = both(s, t, random_values(3 * 4099, 7));
    for (float p : {0.0f, 0.25f, 0.5f}) {
      Pair y = both_empty(s, t), mask = both_empty(s, t);
      cpu().dropout_forward(x.c, y.c, mask.c, p, 1234567, nullptr);
      gpu().dropout_forward(x.g, y.g, mask.g, p, 1234567, nullptr);
      EXPECT_TRUE(same_bits(mask)) << dtype_name(t) << " p " << p;
      EXPECT_TRUE(same_bits(y)) << dtype_name(t) << " p " << p;
      // The step counter, read from device memory by the kernel.
      const Pair step = both({1}, DType::F32, {12345.0f});
      cpu().dropout_forward(x.c, y.c, mask.c, p, 1234567, &step.c);
      gpu().dropout_forward(x.g, y.g, mask.g, p, 1234567, &step.g);
      EXPECT_TRUE(same_bits(mask)) << dtype_name(t) << " p " << p << " at step 12345";
    }
  }
}

TEST(CudaParity, ConcatAndSplitMoveTheSameBits) {
  REQUIRE_CUDA();
  for (const Shape& whole : {Shape{4, 9}, Shape{3, 7, 5, 2}}) {
    for (DType t : kDtypes) {
      std::vector<Shape> parts;
      for (std::int64_t c : {2, 4, 3}) {
        Shape p = whole;
        p[1] = c * whole[1] / 9;
        parts.push_back(p);
      }
      parts.back()[1] = whole[1] - parts[0][1] - parts[1][1];
      std::vector<Tensor> xc, xg;
      for (std::size_t k = 0; k < parts.size(); ++k) {
        // Parts in another dtype than the whole exercise the converting copy.
        const DType pt = k == 1 ? DType::F32 : t;
        const Pair p = both(parts[k], pt, random_values(std::size_t(parts[k].numel()), 10 + k));
        xc.push_back(p.c);
        xg.push_back(p.g);
      }
      Pair y = both_empty(whole, t);
      cpu().concat(xc, y.c);
      gpu().concat(xg, y.g);
      EXPECT_TRUE(same_bits(y)) << whole.str() << " " << dtype_name(t);
      std::vector<Tensor> dc, dg;
      for (std::size_t k = 0; k < parts.size(); ++k) {
        const Pair d = both_empty(parts[k], k == 2 ? DType::F32 : t);
        dc.push_back(d.c);
        dg.push_back(d.g);
      }
      cpu().split(y.c, dc);
      gpu().split(y.g, dg);
      for (std::size_t k = 0; k < parts.size(); ++k)
        EXPECT_TRUE(same_bits({dc[k], dg[k]})) << "split part " << k << " " << dtype_name(t);
    }
  }
}

// ---- dense ------------------------------------------------------------------------

TEST(CudaParity, MatmulWithinTheAccumulationBound) {
  REQUIRE_CUDA();
  struct Dims {
    std::int64_t M, K, N;
  };
  const Dims shapes[] = {{3, 5, 7}, {1, 1, 1}, {17, 33, 9}, {64, 130, 31}, {128, 256, 64}};
  std::uint32_t seed = 100;
  for (DType in : kDtypes) {
    for (DType out : {in, DType::F32}) {
      for (const Dims& d : shapes) {
        for (int tr = 0; tr < 4; ++tr) {
          for (float beta : {0.0f, 1.0f, 0.5f}) {
            const bool ta = tr & 1, tb = tr & 2;
            const Shape sa = ta ? Shape{d.K, d.M} : Shape{d.M, d.K};
            const Shape sb = tb ? Shape{d.N, d.K} : Shape{d.K, d.N};
            const Pair a = both(sa, in, random_values(std::size_t(d.M * d.K), seed++));
            const Pair b = both(sb, in, random_values(std::size_t(d.K * d.N), seed++));
            const auto cv = random_values(std::size_t(d.M * d.N), seed++);
            Pair c = both({d.M, d.N}, out, cv);
            cpu().matmul(a.c, ta, b.c, tb, c.c, beta);
            gpu().matmul(a.g, ta, b.g, tb, c.g, beta);
            // sum |a_ik b_kj| + |beta c_ij|, by the CPU in fp32.
            Tensor aa = Tensor::from_host(cpu(), sa, DType::F32, abs_of(a.c).data());
            Tensor ab = Tensor::from_host(cpu(), sb, DType::F32, abs_of(b.c).data());
            Tensor mag = Tensor::from_host(
                cpu(), {d.M, d.N}, DType::F32,
                abs_of(Tensor::from_host(cpu(), {d.M, d.N}, out, cv.data())).data());
            cpu().matmul(aa, ta, ab, tb, mag, std::abs(beta));
            std::vector<double> tol;
            for (float m : mag.to_host())
              tol.push_back(4.0 * double(d.K + 2) * 0x1p-24 * m +
                            (out == DType::F32 ? 0.0 : 2 * unit_roundoff(out) * m));
            EXPECT_TRUE(close(c, tol))
                << dtype_name(in) << "->" << dtype_name(out) << " " << d.M << "x" << d.K << "x"
                << d.N << " ta " << ta << " tb " << tb << " beta " << beta;
          }
        }
      }
    }
  }
  // An empty inner dimension scales c.
  Pair a = both_empty({2, 0}, DType::F32), b = both_empty({0, 3}, DType::F32);
  Pair c = both({2, 3}, DType::F32, {1, 2, 3, 4, 5, 6});
  cpu().matmul(a.c, false, b.c, false, c.c, 0.5f);
  gpu().matmul(a.g, false, b.g, false, c.g, 0.5f);
  EXPECT_TRUE(same_bits(c));
}

TEST(CudaParity, BiasAddAndBiasGrad) {
  REQUIRE_CUDA();
  for (const Shape& s : {Shape{33, 17}, Shape{4, 6, 5, 7}}) {
    const std::int64_t C = s[1];
    for (DType t : kDtypes) {
      const Pair bias = both({C}, DType::F32, random_values(std::size_t(C), 20));
      Pair y = both(s, t, random_values(std::size_t(s.numel()), 21));
      cpu().bias_add(y.c, bias.c);
      gpu().bias_add(y.g, bias.g);
      EXPECT_TRUE(same_bits(y)) << s.str() << " " << dtype_name(t);
      for (float beta : {0.0f, 1.0f}) {
        Pair db = both({C}, DType::F32, random_values(std::size_t(C), 22));
        cpu().bias_grad(y.c, db.c, beta);
        gpu().bias_grad(y.g, db.g, beta);
        // Both sum in double: well within 1e-6 of the sum of magnitudes.
        EXPECT_TRUE(close(db, {1e-6 * double(s.numel() / C)}, 1e-6)) << s.str() << " beta " << beta;
      }
    }
  }
}

// A Linear layer's fused forward (bias in the cuBLASLt epilogue, one
// rounding) and weight gradient (bias gradient in the epilogue) against the
// CPU's unfused ops with the same one rounding.
TEST(CudaParity, LinearWithBiasInTheEpilogue) {
  REQUIRE_CUDA();
  struct Dims {
    std::int64_t N, in, out;
  };
  std::uint32_t seed = 300;
  for (const Dims& d : {Dims{128, 784, 512}, Dims{33, 17, 9}, Dims{1, 8, 3}}) {
    for (DType t : kDtypes) {
      const Pair x = both({d.N, d.in}, t, random_values(std::size_t(d.N * d.in), seed++));
      const Pair w = both({d.out, d.in}, t, random_values(std::size_t(d.out * d.in), seed++));
      const Pair bias = both({d.out}, DType::F32, random_values(std::size_t(d.out), seed++));
      for (bool relu : {false, true}) {
        for (const Tensor* b : {&bias.c, static_cast<const Tensor*>(nullptr)}) {
          Pair y = both_empty({d.N, d.out}, t);
          cpu().linear_forward(x.c, w.c, b, y.c, relu);
          gpu().linear_forward(x.g, w.g, b != nullptr ? &bias.g : nullptr, y.g, relu);
          // Accumulation-order differences (fp32) plus one 16-bit rounding step.
          EXPECT_TRUE(close(y, {4.0 * double(d.in + 2) * 0x1p-24 * double(d.in) + 1e-4},
                            t == DType::F32 ? 0.0 : 2 * unit_roundoff(t)))
              << dtype_name(t) << " " << d.N << "x" << d.in << "x" << d.out << " relu " << relu
              << " bias " << (b != nullptr);
          if (relu) {
            bool negative = false;
            for (float v : y.g.to_host()) negative = negative || v < 0;
            EXPECT_FALSE(negative) << "ReLU epilogue left a negative value";
          }
        }
      }

      const Pair dy = both({d.N, d.out}, t, random_values(std::size_t(d.N * d.out), seed++));
      Pair dw = both_empty({d.out, d.in}, DType::F32);
      Pair db = both_empty({d.out}, DType::F32);
      cpu().linear_backward_weights(dy.c, x.c, dw.c, &db.c);
      gpu().linear_backward_weights(dy.g, x.g, dw.g, &db.g);
      EXPECT_TRUE(close(dw, {4.0 * double(d.N + 2) * 0x1p-24 * double(d.N)}))
          << dtype_name(t) << " dW";
      EXPECT_TRUE(close(db, {4.0 * double(d.N + 2) * 0x1p-24 * double(d.N)}))
          << dtype_name(t) << " dbias";
    }
  }
}

// Which path ran is reported per shape: a bias gradient over one row never
// takes the fused epilogue; over more rows it is either fused or reported as
// a fallback with cuBLASLt's reason, and every call is counted.
TEST(CudaParity, OpPathsSayWhatRan) {
  REQUIRE_CUDA();
  auto fresh = create_backend("cuda");
  EXPECT_TRUE(fresh->op_paths().empty());
  EXPECT_TRUE(cpu().op_paths().empty());
  for (DType t : kDtypes) {
    for (std::int64_t rows : {1, 64}) {
      Tensor dy = Tensor::from_host(*fresh, Shape({rows, 16}), t,
                                    random_values(std::size_t(rows * 16), 7).data());
      Tensor x = Tensor::from_host(*fresh, Shape({rows, 24}), t,
                                   random_values(std::size_t(rows * 24), 8).data());
      Tensor dw = Tensor::empty(*fresh, Shape({16, 24}), DType::F32);
      Tensor db = Tensor::empty(*fresh, Shape({16}), DType::F32);
      for (int i = 0; i < 3; ++i) fresh->linear_backward_weights(dy, x, dw, &db);
    }
  }
  fresh->synchronize();
  int one_row = 0, more_rows = 0;
  for (const OpPath& p : fresh->op_paths()) {
    std::cout << "  " << p.op << " " << p.shape << ": " << p.path << " (" << p.calls
              << (p.fallback ? " calls, fallback)\n" : " calls)\n");
    if (p.op != "linear_backward_weights") continue;
    EXPECT_EQ(p.calls, 3) << p.shape;
    EXPECT_FALSE(p.path.empty());
    if (p.shape.rfind("1x16ᵀ", 0) == 0) {
      ++one_row;
      EXPECT_TRUE(p.fallback) << p.path;
      EXPECT_NE(p.path.find("bias gradient summed over 1 row"), std::string::npos) << p.path;
    } else {
      ++more_rows;
      EXPECT_EQ(p.fallback, p.path.rfind("unfused", 0) == 0) << p.path;
    }
  }
  EXPECT_EQ(one_row, 3);
  EXPECT_EQ(more_rows, 3);
}

// The weight fingerprint: the checksum bit for bit (an integer sum in any
// order), the norms within a reduction's tolerance (fp32 atomics on the
// device), the previous copies updated to the same bits.
TEST(CudaParity, WeightFingerprintChecksumIsIdentical) {
  REQUIRE_CUDA();
  std::vector<Pair> weights, previous;
  std::vector<Tensor> wc, wg, pc, pg;
  std::uint32_t seed = 40;
  for (DType t : kDtypes)
    for (std::int64_t n : {std::int64_t(3), std::int64_t(70000)}) {
      weights.push_back(both(Shape{n}, t, random_values(std::size_t(n), seed++)));
      previous.push_back(both(Shape{n}, t, random_values(std::size_t(n), seed++)));
      wc.push_back(weights.back().c);
      wg.push_back(weights.back().g);
      pc.push_back(previous.back().c);
      pg.push_back(previous.back().g);
    }
  const Shape out_shape{std::int64_t(3 + weights.size())};
  Pair out = both_empty(out_shape, DType::F32);
  cpu().weight_fingerprint(wc, pc, out.c);
  gpu().weight_fingerprint(wg, pg, out.g);
  const auto bytes_c = out.c.to_host_bytes(), bytes_g = out.g.to_host_bytes();
  EXPECT_TRUE(std::equal(bytes_c.begin(), bytes_c.begin() + 8, bytes_g.begin()))
      << "checksums differ";
  const auto c = out.c.to_host(), g = out.g.to_host();
  for (std::size_t i = 2; i < c.size(); ++i)
    EXPECT_NEAR(g[i], c[i], 1e-5 * std::abs(c[i])) << "word " << i;
  for (std::size_t k = 0; k < previous.size(); ++k)
    EXPECT_TRUE(same_bits(previous[k])) << "previous copy " << k;
}

}  // namespace
}  // namespace mantissa
