// Elementwise ops, dropout and concat / split on the CPU backend.
//
// add / accumulate / scale / mul / cast are defined as one fp32 operation
// followed by one rounding, so they are compared bit for bit with that
// computation. Activations are compared with double-precision references:
// fp32 libm functions are within a few ulp (2e-6 relative), plus one rounding
// of a 16-bit output; backward through y (tanh, sigmoid) also sees y's rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/rng.hpp"
#include "reference_ops.hpp"
#include "test_cpu_backend_util.hpp"

namespace mantissa {
namespace {

using cpu_test::upload;
namespace ref = reference;

// Sizes below and above the threading threshold, with ragged last blocks.
const std::int64_t kSizes[] = {1, 37, 1025, 40001};

float stored(DType t, float v) {
  return ref::round_to(t, {v})[0];
}

TEST(CpuBackendElementwise, FillStoresTheRoundedValue) {
  Backend& b = cpu_test::default_backend();
  for (DType t : cpu_test::kAllDtypes) {
    for (std::int64_t n : kSizes) {
      Tensor x = Tensor::empty(b, {n}, t);
      b.fill(x, 0.3f);
      EXPECT_EQ(x.to_host(), std::vector<float>(std::size_t(n), stored(t, 0.3f)))
          << dtype_name(t) << " " << n;
    }
  }
}

TEST(CpuBackendElementwise, CastRoundsLikeTheScalarConversions) {
  Backend& b = cpu_test::default_backend();
  auto values = ref::random_values(3000, 11, -70000.0f, 70000.0f);
  const float inf = std::numeric_limits<float>::infinity();
  values.insert(values.end(), {0.0f, -0.0f, inf, -inf, std::nanf(""), 65519.99f, 65520.0f, 1e-8f,
                               -3e-39f, 1.0f + 0x1p-11f});
  for (DType from : cpu_test::kAllDtypes) {
    for (DType to : cpu_test::kAllDtypes) {
      Tensor src = upload(b, {std::int64_t(values.size())}, from, values);
      // Different shape, same numel: cast only cares about the count.
      Tensor dst = Tensor::empty(b, {2, std::int64_t(values.size()) / 2}, to);
      b.cast(src, dst);
      const auto expected = ref::round_to(to, ref::round_to(from, values));
      const auto got = dst.to_host();
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (std::isnan(expected[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << i;
        } else {
          ASSERT_EQ(float_bits(got[i]), float_bits(expected[i]))
              << dtype_name(from) << "->" << dtype_name(to) << " at " << i << ": " << values[i];
        }
      }
    }
  }
}

// Checks a binary op against fp32 arithmetic + rounding, over dtype mixes.
template <class Op, class Expected>
void check_binary(const char* name, Op op, Expected expected) {
  Backend& b = cpu_test::default_backend();
  std::uint64_t seed = 42;
  for (DType ta : cpu_test::kAllDtypes) {
    for (DType tout : cpu_test::kAllDtypes) {
      const DType tb = ta == DType::F32 ? DType::BF16 : DType::F32;  // mixed operands too
      for (std::int64_t n : kSizes) {
        const auto av = ref::round_to(ta, ref::random_values(std::size_t(n), ++seed, -4, 4));
        const auto bv = ref::round_to(tb, ref::random_values(std::size_t(n), ++seed, -4, 4));
        const auto ov = ref::round_to(tout, ref::random_values(std::size_t(n), ++seed, -4, 4));
        Tensor a = upload(b, {n}, ta, av);
        Tensor bt = upload(b, {n}, tb, bv);
        Tensor out = upload(b, {n}, tout, ov);
        op(b, a, bt, out);
        const auto got = out.to_host();
        for (std::size_t i = 0; i < got.size(); ++i) {
          const float want = stored(tout, expected(av[i], bv[i], ov[i]));
          ASSERT_EQ(float_bits(got[i]), float_bits(want))
              << name << " " << dtype_name(ta) << "," << dtype_name(tb) << "->" << dtype_name(tout)
              << " n=" << n << " at " << i;
        }
      }
    }
  }
}

TEST(CpuBackendElementwise, AddAccumulateScaleMulAreOneFp32OpThenRounding) {
  check_binary(
      "add", [](Backend& b, Tensor& x, Tensor& y, Tensor& o) { b.add(x, y, o); },
      [](float x, float y, float) { return x + y; });
  check_binary(
      "mul", [](Backend& b, Tensor& x, Tensor& y, Tensor& o) { b.mul(x, y, o); },
      [](float x, float y, float) { return x * y; });
  check_binary(
      "accumulate", [](Backend& b, Tensor& x, Tensor&, Tensor& o) { b.accumulate(x, o); },
      [](float x, float, float o) { return o + x; });
  check_binary(
      "scale", [](Backend& b, Tensor&, Tensor&, Tensor& o) { b.scale(o, -1.7f); },
      [](float, float, float o) { return o * -1.7f; });
}

struct ActCase {
  Activation act;
  ref::Act ref_act;
  const char* name;
};
const ActCase kActs[] = {{Activation::Relu, ref::Act::Relu, "relu"},
                         {Activation::LeakyRelu, ref::Act::LeakyRelu, "leaky_relu"},
                         {Activation::Gelu, ref::Act::Gelu, "gelu"},
                         {Activation::Tanh, ref::Act::Tanh, "tanh"},
                         {Activation::Sigmoid, ref::Act::Sigmoid, "sigmoid"}};

TEST(CpuBackendActivation, ForwardAndBackwardMatchReference) {
  Backend& b = cpu_test::default_backend();
  const float alpha = 0.1f;
  std::uint64_t seed = 77;
  for (const auto& ac : kActs) {
    for (DType t : cpu_test::kAllDtypes) {
      for (std::int64_t n : {std::int64_t(37), std::int64_t(40000)}) {
        const auto xv = ref::round_to(t, ref::random_values(std::size_t(n), ++seed, -5, 5));
        const auto dyv = ref::round_to(t, ref::random_values(std::size_t(n), ++seed));
        Tensor x = upload(b, {n}, t, xv);
        Tensor y = Tensor::empty(b, {n}, t);
        b.activation_forward(ac.act, alpha, x, y);
        ref::Vec fwd(xv.size()), bwd(xv.size()), bwd_tol(xv.size());
        const double u = t == DType::F32 ? 0.0 : ref::unit_roundoff(t);
        for (std::size_t i = 0; i < xv.size(); ++i) {
          fwd[i] = ref::activation(ac.ref_act, alpha, xv[i]);
          bwd[i] = dyv[i] * ref::activation_grad(ac.ref_act, alpha, xv[i]);
          bwd_tol[i] = 1e-6 + 4.0 * u * std::abs(dyv[i]);
        }
        const std::string what =
            std::string(ac.name) + " " + std::string(dtype_name(t)) + " n=" + std::to_string(n);
        EXPECT_TRUE(ref::all_close(y.to_host(), fwd, 1e-6, 2e-6 + u)) << what;
        Tensor dy = upload(b, {n}, t, dyv);
        Tensor dx = Tensor::empty(b, {n}, t);
        b.activation_backward(ac.act, alpha, x, y, dy, dx);
        EXPECT_TRUE(ref::all_close(dx.to_host(), bwd, bwd_tol, 2e-6 + u)) << what << " backward";
      }
    }
  }
}

TEST(CpuBackendActivation, NanStaysNan) {
  Backend& b = cpu_test::default_backend();
  for (const auto& ac : kActs) {
    Tensor x = upload(b, {2}, DType::F32, {std::nanf(""), 1.0f});
    Tensor y = Tensor::empty(b, {2}, DType::F32);
    b.activation_forward(ac.act, 0.1f, x, y);
    EXPECT_TRUE(std::isnan(y.to_host()[0])) << ac.name;
  }
}

TEST(CpuBackendDropout, MaskIsTheDocumentedFunctionOfSeedAndIndex) {
  Backend& b = cpu_test::default_backend();
  const std::int64_t n = 5000;
  const float p = 0.3f;
  const std::uint64_t seed = 1234;
  const auto xv = ref::random_values(std::size_t(n), 9);
  Tensor x = upload(b, {n}, DType::F32, xv);
  Tensor y = Tensor::empty(b, {n}, DType::F32);
  Tensor mask = Tensor::empty(b, {n}, DType::F32);
  b.dropout_forward(x, y, mask, p, seed, nullptr);
  // Element i is kept iff the top 24 bits of SplitMix64's i-th output for
  // `seed`, as a fraction, are >= p.
  Rng stream(seed);
  const float keep_value = 1.0f / (1.0f - p);
  const auto m = mask.to_host();
  const auto yv = y.to_host();
  for (std::int64_t i = 0; i < n; ++i) {
    const bool keep = float(stream.next_u64() >> 40) * 0x1p-24f >= p;
    ASSERT_EQ(m[std::size_t(i)], keep ? keep_value : 0.0f) << i;
    ASSERT_EQ(yv[std::size_t(i)], xv[std::size_t(i)] * m[std::size_t(i)]) << i;
  }
}

TEST(CpuBackendDropout, SameSeedSameMaskAtAnySizeAndDtype) {
  Backend& b = cpu_test::default_backend();
  const float p = 0.5f;
  auto mask_of = [&](std::int64_t n, DType t, std::uint64_t seed) {
    Tensor x = Tensor::zeros(b, {n}, t);
    Tensor y = Tensor::empty(b, {n}, t);
    Tensor mask = Tensor::empty(b, {n}, t);
    b.dropout_forward(x, y, mask, p, seed, nullptr);
    return mask.to_host();
  };
  const auto big = mask_of(100000, DType::F32, 7);  // threaded
  const auto small = mask_of(1000, DType::F32, 7);  // one thread
  EXPECT_TRUE(std::equal(small.begin(), small.end(), big.begin()));
  EXPECT_EQ(mask_of(1000, DType::F32, 7), small);
  EXPECT_EQ(mask_of(1000, DType::BF16, 7), small);  // 2 is exact in every dtype
  EXPECT_NE(mask_of(1000, DType::F32, 8), small);
}

// With a step tensor the seed is first mixed with the step's value (read when
// the op runs): output number `step` of SplitMix64(seed), so each step draws
// a new mask from one run seed.
TEST(CpuBackendDropout, StepTensorMixesTheStepIntoTheSeed) {
  auto output_number = [](std::uint64_t seed, int k) {  // of the run's generator
    Rng r(seed);
    std::uint64_t v = 0;
    for (int i = 0; i <= k; ++i) v = r.next_u64();
    return v;
  };
  Backend& b = cpu_test::default_backend();
  const std::int64_t n = 4000;
  auto mask_of = [&](std::uint64_t seed, const Tensor* state) {
    Tensor x = Tensor::zeros(b, {n}, DType::F32);
    Tensor y = Tensor::empty(b, {n}, DType::F32);
    Tensor mask = Tensor::empty(b, {n}, DType::F32);
    b.dropout_forward(x, y, mask, 0.5f, seed, state);
    return mask.to_host();
  };
  Tensor state = make_step_state(b, StepState{});
  auto at_step = [&](std::int64_t k) {
    StepState s{};
    s.steps_taken = k;
    write_step_state(state, s);
    return mask_of(42, &state);
  };
  const auto at0 = at_step(0), at1 = at_step(1), at1000 = at_step(1000);
  EXPECT_EQ(at0, mask_of(output_number(42, 0), nullptr));
  EXPECT_EQ(at1, mask_of(output_number(42, 1), nullptr));
  EXPECT_EQ(at1000, mask_of(output_number(42, 1000), nullptr));
  EXPECT_NE(at0, at1);
  EXPECT_NE(at1, at1000);
  // Past 2^24, where an fp32 counter stops counting, steps still differ.
  EXPECT_NE(at_step(std::int64_t(1) << 24), at_step((std::int64_t(1) << 24) + 1));
}

TEST(CpuBackendDropout, KeepRateIsOneMinusP) {
  Backend& b = cpu_test::default_backend();
  const std::int64_t n = 200000;
  for (float p : {0.1f, 0.5f, 0.9f}) {
    Tensor x = upload(b, {n}, DType::F16, std::vector<float>(std::size_t(n), 1.0f));
    Tensor y = Tensor::empty(b, {n}, DType::F16);
    Tensor mask = Tensor::empty(b, {n}, DType::F16);
    b.dropout_forward(x, y, mask, p, 99, nullptr);
    const auto m = mask.to_host();
    const auto yv = y.to_host();
    const float keep_value = stored(DType::F16, 1.0f / (1.0f - p));
    std::int64_t kept = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
      ASSERT_TRUE(m[i] == 0.0f || m[i] == keep_value) << m[i];
      ASSERT_EQ(yv[i], m[i]);  // x is 1
      kept += m[i] != 0.0f;
    }
    // Binomial standard deviation is below 0.0012 here; allow 5 of them.
    EXPECT_NEAR(double(kept) / double(n), 1.0 - p, 0.006) << "p=" << p;
  }
}

TEST(CpuBackendConcat, ConcatThenSplitRoundTripsAlongAxis1) {
  Backend& b = cpu_test::default_backend();
  for (DType t : cpu_test::kAllDtypes) {
    for (std::int64_t inner : {std::int64_t(1), std::int64_t(15)}) {
      const std::int64_t N = 3;
      const std::int64_t widths[] = {2, 5, 1};
      std::vector<Tensor> parts;
      std::vector<std::vector<float>> values;
      auto shape_of = [&](std::int64_t c) { return inner == 1 ? Shape{N, c} : Shape{N, c, 3, 5}; };
      for (int k = 0; k < 3; ++k) {
        // Parts may hold another dtype than the result; concat converts.
        const DType pt = k == 1 ? DType::F32 : t;
        values.push_back(ref::round_to(
            t, ref::random_values(std::size_t(N * widths[k] * inner), 300 + std::uint64_t(k))));
        parts.push_back(upload(b, shape_of(widths[k]), pt, values.back()));
      }
      Tensor y = Tensor::empty(b, shape_of(8), t);
      b.concat(parts, y);
      const auto yv = y.to_host();
      for (std::int64_t n = 0; n < N; ++n) {
        std::int64_t offset = 0;
        for (int k = 0; k < 3; ++k) {
          for (std::int64_t j = 0; j < widths[k] * inner; ++j) {
            ASSERT_EQ(yv[std::size_t((n * 8 + offset) * inner + j)],
                      values[std::size_t(k)][std::size_t(n * widths[k] * inner + j)])
                << dtype_name(t) << " part " << k << " row " << n;
          }
          offset += widths[k];
        }
      }
      std::vector<Tensor> back;
      for (int k = 0; k < 3; ++k) back.push_back(Tensor::zeros(b, shape_of(widths[k]), t));
      b.split(y, back);
      for (int k = 0; k < 3; ++k) EXPECT_EQ(back[std::size_t(k)].to_host(), values[std::size_t(k)]);
    }
  }
}

}  // namespace
}  // namespace mantissa
