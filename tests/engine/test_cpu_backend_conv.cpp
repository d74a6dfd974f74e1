// Convolution and pooling on the CPU backend against the reference, for every
// dtype, natively and through the fp32 staging path.
//
// Tolerances: inputs are rounded to their dtype first, so the error is fp32
// accumulation, (terms + 2) * 2^-24 * sum of |products|, plus one rounding of a
// 16-bit output (2^-11 f16, 2^-8 bf16, relative). Max pooling is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "reference_ops.hpp"
#include "test_cpu_backend_util.hpp"

namespace mantissa {
namespace {

using cpu_test::upload;
namespace ref = reference;

std::vector<float> abs_values(std::vector<float> v) {
  for (auto& x : v) x = std::abs(x);
  return v;
}

ref::Vec accumulation_tolerance(ref::Vec magnitude, std::int64_t terms) {
  for (auto& m : magnitude) m *= double(terms + 2) * std::ldexp(1.0, -24);
  return magnitude;
}

const ref::ConvShape kConvShapes[] = {
    {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1},  // same padding, odd sizes
    {1, 2, 9, 8, 3, 3, 2, 2, 3, 1, 0},  // strided, asymmetric kernel and padding
    {3, 1, 5, 5, 2, 5, 5, 1, 1, 0, 0},  // kernel covers the image
    {2, 4, 6, 6, 5, 1, 1, 2, 2, 0, 0},  // 1x1, strided
};

void check_conv(const cpu_test::Case& cs, const ref::ConvShape& s, bool with_bias,
                std::uint64_t seed) {
  Backend& b = *cs.backend;
  const DType t = cs.dtype;
  const std::int64_t OH = s.out_h(), OW = s.out_w();
  const Conv2dParams p{int(s.stride_h), int(s.stride_w), int(s.pad_h), int(s.pad_w)};
  const std::string what = cs.name() + " conv " + std::to_string(s.C) + "x" + std::to_string(s.H) +
                           "x" + std::to_string(s.W) + " k" + std::to_string(s.KH) + "x" +
                           std::to_string(s.KW) + (with_bias ? " +bias" : "");
  const auto xv = ref::round_to(t, ref::random_values(std::size_t(s.N * s.C * s.H * s.W), seed));
  const auto wv =
      ref::round_to(t, ref::random_values(std::size_t(s.O * s.C * s.KH * s.KW), seed + 1));
  const auto bv = ref::random_values(std::size_t(s.O), seed + 2);
  const auto dyv = ref::round_to(t, ref::random_values(std::size_t(s.N * s.O * OH * OW), seed + 3));
  Tensor x = upload(b, {s.N, s.C, s.H, s.W}, t, xv);
  Tensor w = upload(b, {s.O, s.C, s.KH, s.KW}, t, wv);
  Tensor bias = upload(b, {s.O}, DType::F32, bv);
  Tensor dy = upload(b, {s.N, s.O, OH, OW}, t, dyv);
  const double rel = t == DType::F32 ? 0.0 : ref::unit_roundoff(t);
  const std::int64_t taps = s.C * s.KH * s.KW;

  Tensor y = Tensor::empty(b, {s.N, s.O, OH, OW}, t);
  b.conv2d_forward(x, w, with_bias ? &bias : nullptr, y, p);
  const auto abs_b = abs_values(bv);
  EXPECT_TRUE(ref::all_close(
      y.to_host(), ref::conv2d_forward(s, xv, wv, with_bias ? &bv : nullptr),
      accumulation_tolerance(
          ref::conv2d_forward(s, abs_values(xv), abs_values(wv), with_bias ? &abs_b : nullptr),
          taps),
      rel))
      << what << " forward";

  Tensor dx = Tensor::empty(b, {s.N, s.C, s.H, s.W}, t);
  b.conv2d_backward_data(dy, w, dx, p);
  EXPECT_TRUE(ref::all_close(
      dx.to_host(), ref::conv2d_backward_data(s, dyv, wv),
      accumulation_tolerance(ref::conv2d_backward_data(s, abs_values(dyv), abs_values(wv)),
                             s.O * s.KH * s.KW),
      rel))
      << what << " backward data";

  // dw and dbias are fp32 whatever the activations are; stale contents must go.
  Tensor dw = upload(b, {s.O, s.C, s.KH, s.KW}, DType::F32, std::vector<float>(wv.size(), 7.0f));
  Tensor dbias = upload(b, {s.O}, DType::F32, std::vector<float>(std::size_t(s.O), 7.0f));
  b.conv2d_backward_weights(x, dy, dw, with_bias ? &dbias : nullptr, p);
  const std::int64_t positions = s.N * OH * OW;
  EXPECT_TRUE(ref::all_close(
      dw.to_host(), ref::conv2d_backward_weights(s, xv, dyv),
      accumulation_tolerance(ref::conv2d_backward_weights(s, abs_values(xv), abs_values(dyv)),
                             positions),
      0.0))
      << what << " backward weights";
  if (with_bias) {
    EXPECT_TRUE(ref::all_close(
        dbias.to_host(), ref::conv2d_backward_bias(s, dyv),
        accumulation_tolerance(ref::conv2d_backward_bias(s, abs_values(dyv)), positions), 0.0))
        << what << " backward bias";
  }
}

TEST(CpuBackendConv, ForwardAndBackwardMatchReference) {
  std::uint64_t seed = 2000;
  for (const auto& cs : cpu_test::primitive_cases()) {
    for (const auto& s : kConvShapes) {
      for (bool with_bias : {false, true}) check_conv(cs, s, with_bias, seed += 4);
    }
  }
}

// Distinct values per (n, c) plane, exact in every dtype, so each pooling
// window has a single maximum.
std::vector<float> distinct_planes(const ref::PoolShape& s, std::uint64_t seed) {
  const std::int64_t plane = s.H * s.W;
  std::vector<float> v(std::size_t(s.N * s.C * plane));
  std::mt19937_64 gen(seed);
  std::vector<int> order(static_cast<std::size_t>(plane));
  for (std::int64_t p = 0; p < s.N * s.C; ++p) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), gen);
    for (std::int64_t i = 0; i < plane; ++i) {
      v[std::size_t(p * plane + i)] = float(order[std::size_t(i)] - plane / 2) / 16.0f;
    }
  }
  return v;
}

const ref::PoolShape kPoolShapes[] = {
    {2, 3, 7, 5, 2, 2, 2, 2, 0, 0},  // classic 2x2/2, odd input (edges dropped)
    {1, 2, 9, 8, 3, 3, 2, 2, 1, 1},  // overlapping windows, padded
    {2, 1, 6, 7, 3, 2, 1, 2, 1, 0},  // asymmetric kernel, stride and padding
};

void check_pool(const cpu_test::Case& cs, PoolKind kind, const ref::PoolShape& s,
                std::uint64_t seed) {
  Backend& b = *cs.backend;
  const DType t = cs.dtype;
  const Pool2dParams p{int(s.KH),       int(s.KW),    int(s.stride_h),
                       int(s.stride_w), int(s.pad_h), int(s.pad_w)};
  const std::int64_t OH = s.out_h(), OW = s.out_w();
  const std::string what = cs.name() + (kind == PoolKind::Max ? " max" : " avg") + " pool " +
                           std::to_string(s.H) + "x" + std::to_string(s.W) + " k" +
                           std::to_string(s.KH) + "x" + std::to_string(s.KW);
  const auto xv = distinct_planes(s, seed);
  const auto dyv = ref::round_to(t, ref::random_values(std::size_t(s.N * s.C * OH * OW), seed + 1));
  Tensor x = upload(b, {s.N, s.C, s.H, s.W}, t, xv);
  Tensor y = Tensor::empty(b, {s.N, s.C, OH, OW}, t);
  Tensor workspace;
  b.pool2d_forward(kind, x, y, workspace, p);
  const double u = t == DType::F32 ? 0.0 : ref::unit_roundoff(t);
  if (kind == PoolKind::Max) {
    EXPECT_TRUE(ref::all_close(y.to_host(), ref::max_pool_forward(s, xv), 0.0, 0.0)) << what;
    ASSERT_TRUE(workspace.defined()) << what;
  } else {
    EXPECT_TRUE(ref::all_close(
        y.to_host(), ref::avg_pool_forward(s, xv),
        accumulation_tolerance(ref::avg_pool_forward(s, abs_values(xv)), s.KH * s.KW), u))
        << what;
  }

  // A workspace kept from the last step is reused, not reallocated.
  const void* ws_data = workspace.defined() ? workspace.data() : nullptr;
  b.pool2d_forward(kind, x, y, workspace, p);
  EXPECT_EQ(workspace.defined() ? workspace.data() : nullptr, ws_data) << what;

  Tensor dy = upload(b, {s.N, s.C, OH, OW}, t, dyv);
  Tensor dx = upload(b, {s.N, s.C, s.H, s.W}, t, std::vector<float>(xv.size(), 9.0f));
  b.pool2d_backward(kind, x, y, dy, workspace, dx, p);
  // Overlapping windows add up to a few gradients per input; allow each
  // addition a 16-bit rounding in case the sum is kept in the dtype.
  const ref::Vec expected =
      kind == PoolKind::Max ? ref::max_pool_backward(s, xv, dyv) : ref::avg_pool_backward(s, dyv);
  ref::Vec mag = kind == PoolKind::Max ? ref::max_pool_backward(s, xv, abs_values(dyv))
                                       : ref::avg_pool_backward(s, abs_values(dyv));
  for (auto& m : mag) m *= 2.0 * std::max(u, std::ldexp(1.0, -22));
  EXPECT_TRUE(ref::all_close(dx.to_host(), expected, mag, u)) << what << " backward";
}

TEST(CpuBackendPool, MaxAndAverageMatchReference) {
  std::uint64_t seed = 3000;
  for (const auto& cs : cpu_test::primitive_cases()) {
    for (const auto& s : kPoolShapes) {
      for (PoolKind kind : {PoolKind::Max, PoolKind::Avg}) check_pool(cs, kind, s, seed += 2);
    }
  }
}

TEST(CpuBackendPool, AverageExcludesPadding) {
  Backend& b = cpu_test::default_backend();
  // 2x2 image of ones, 3x3 window, padding 1, stride 1: every window holds
  // between 1 and 4 real ones, so excluding padding gives exactly 1 everywhere.
  Tensor x = upload(b, {1, 1, 2, 2}, DType::F32, {1, 1, 1, 1});
  Tensor y = Tensor::empty(b, {1, 1, 2, 2}, DType::F32);
  Tensor ws;
  b.pool2d_forward(PoolKind::Avg, x, y, ws, Pool2dParams{3, 3, 1, 1, 1, 1});
  EXPECT_EQ(y.to_host(), std::vector<float>(4, 1.0f));
}

}  // namespace
}  // namespace mantissa
