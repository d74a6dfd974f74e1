// The sequence and attention ops on CUDA against the CPU backend, per dtype
// (the tolerance scheme of test_cuda_parity.cpp):
//  * bit-identical: swap_axes12, embedding_forward, embedding_backward (the
//    contract: each token's rows added in position order in fp32, so every
//    backend gives the same bits, repeated ids included), and the causal
//    mask's exact zeros;
//  * batched_matmul: 4 (K + 2) 2^-24 (|alpha| sum|a b| + |beta c|) plus two
//    ulps of a 16-bit output, the magnitude computed by the CPU on |a|, |b|,
//    |c|;
//  * softmax: 16 fp32 ulps of each probability (device expf, the order of the
//    double sum) plus two ulps of a 16-bit output; its backward within
//    4 2^-24 |scale y| (|dy| + |sum dy y|) plus two 16-bit ulps;
//  * group norm: within 1e-5 of the magnitudes involved, as layer norm.
// Each op is also recorded in a CUDA graph and replayed, which must give the
// same results as running it directly (nothing in them waits for the host).
// Without a GPU every test here is skipped with the driver's reason, but for
// the strided-batch alignment rule (library_rules.hpp), which runs anywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/library_rules.hpp"
#include "cuda_test_util.hpp"
#include "mantissa/backend.hpp"

namespace mantissa {
namespace {

using namespace cuda_test;


// Token ids in [0, used) as fp32, with many repeats when used is small.
std::vector<float> random_ids(std::size_t n, std::uint32_t seed, std::int64_t used) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<std::int64_t> d(0, used - 1);
  std::vector<float> v(n);
  for (auto& x : v) x = float(d(gen));
  return v;
}


testing::AssertionResult same_bits(const Pair& p) {
  if (p.c.to_host_bytes() == p.g.to_host_bytes()) return testing::AssertionSuccess();
  const auto a = p.c.to_host(), b = p.g.to_host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (float_bits(a[i]) != float_bits(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i])))
      return testing::AssertionFailure() << "element " << i << " of " << p.c.describe() << ": cpu "
                                         << a[i] << ", cuda " << b[i];
  }
  return testing::AssertionFailure() << "bytes differ (NaN encodings)";
}

// |cuda - cpu| <= tol[i] + rel * |cpu|; NaN only where both are NaN.
testing::AssertionResult close(const Pair& p, const std::vector<double>& tol, double rel = 0) {
  const auto a = p.c.to_host(), b = p.g.to_host();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    const double t = (tol.size() == 1 ? tol[0] : tol[i]) + rel * std::abs(double(a[i]));
    if (!(std::abs(double(a[i]) - double(b[i])) <= t))
      return testing::AssertionFailure() << "element " << i << " of " << p.c.describe() << ": cpu "
                                         << a[i] << ", cuda " << b[i] << ", tolerance " << t;
  }
  return testing::AssertionSuccess();
}

// ---- batched_matmul -------------------------------------------------------------------

TEST(CudaParitySequence, BatchedMatmulWithinTheAccumulationBound) {
  REQUIRE_CUDA();
  struct Dims {
    std::int64_t B, M, K, N;
  };
  // Odd sizes make the batch strides of 16-bit operands only 2-byte aligned.
  const Dims shapes[] = {{1, 3, 5, 7}, {4, 17, 33, 9}, {6, 16, 64, 16}, {3, 65, 7, 65}};
  std::uint32_t seed = 1000;
  for (DType in : kDtypes) {
    for (DType out : {in, DType::F32}) {
      for (const Dims& d : shapes) {
        for (int tr = 0; tr < 4; ++tr) {
          for (const auto& [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{0.125f, 0.5f}}) {
            const bool ta = tr & 1, tb = tr & 2;
            const Shape sa = ta ? Shape{d.B, d.K, d.M} : Shape{d.B, d.M, d.K};
            const Shape sb = tb ? Shape{d.B, d.N, d.K} : Shape{d.B, d.K, d.N};
            const Shape sc{d.B, d.M, d.N};
            const Pair a = both(sa, in, random_values(std::size_t(sa.numel()), seed++));
            const Pair b = both(sb, in, random_values(std::size_t(sb.numel()), seed++));
            Pair c = both(sc, out, random_values(std::size_t(sc.numel()), seed++));
            Tensor mag = abs_cpu(c.c);  // before c is overwritten
            cpu().batched_matmul(a.c, ta, b.c, tb, c.c, alpha, beta);
            gpu().batched_matmul(a.g, ta, b.g, tb, c.g, alpha, beta);
            cpu().batched_matmul(abs_cpu(a.c), ta, abs_cpu(b.c), tb, mag, std::abs(alpha),
                                 std::abs(beta));
            std::vector<double> tol;
            for (float m : mag.to_host())
              tol.push_back(4.0 * double(d.K + 2) * 0x1p-24 * m +
                            (out == DType::F32 ? 0.0 : 2 * unit_roundoff(out) * m));
            EXPECT_TRUE(close(c, tol)) << dtype_name(in) << "->" << dtype_name(out) << " " << d.B
                                       << "x" << d.M << "x" << d.K << "x" << d.N << " ta " << ta
                                       << " tb " << tb << " alpha " << alpha << " beta " << beta;
          }
        }
      }
    }
  }
  // An empty inner dimension scales c.
  Pair a = both_empty({2, 2, 0}, DType::F32), b = both_empty({2, 0, 3}, DType::F32);
  Pair c = both({2, 2, 3}, DType::F32, random_values(12, 7));
  cpu().batched_matmul(a.c, false, b.c, false, c.c, 2.0f, 0.5f);
  gpu().batched_matmul(a.g, false, b.g, false, c.g, 2.0f, 0.5f);
  EXPECT_TRUE(same_bits(c));
}

// Runs without a GPU: matrix i of a strided batch starts i * stride bytes
// after the base, so cuBLASLt may assume no more alignment than the stride
// has (an algorithm chosen for the base alone could misread later matrices).
TEST(CudaParitySequence, BatchedOperandsAreAlignedOnlyAsFarAsTheirBatchStrides) {
  alignas(256) static std::uint8_t buf[1024];
  cuda::MatmulCall c;
  c.a = buf;
  c.b = buf + 256;
  c.c = buf + 512;
  c.in = DType::F16;
  c.out = DType::F32;
  c.M = 3;
  c.K = 5;
  c.N = 7;
  c.a_rows = 3;  // a (3, 5): 30-byte matrices
  c.a_cols = 5;
  c.b_rows = 5;  // b (5, 7): 70-byte matrices
  c.b_cols = 7;
  auto pref = cuda::matmul_preference(c, 0);  // one matrix: the pointers' alignment
  EXPECT_EQ(pref.min_alignment_a, 256u);
  EXPECT_EQ(pref.min_alignment_b, 256u);
  EXPECT_EQ(pref.min_alignment_c, 256u);
  c.batched = true;
  c.batch = 4;
  pref = cuda::matmul_preference(c, 0);
  EXPECT_EQ(pref.min_alignment_a, 2u);  // cuBLASLt's A is our b
  EXPECT_EQ(pref.min_alignment_b, 2u);
  EXPECT_EQ(pref.min_alignment_c, 4u);  // c (3, 7) f32: 84-byte matrices
  EXPECT_EQ(pref.min_alignment_d, 4u);
  c.M = c.a_rows = 16;  // (16, 64) f16: 2048-byte matrices keep the base's 256
  c.K = c.a_cols = c.b_rows = 64;
  c.N = c.b_cols = 16;
  pref = cuda::matmul_preference(c, 0);
  EXPECT_EQ(pref.min_alignment_a, 256u);
  EXPECT_EQ(pref.min_alignment_b, 256u);
  EXPECT_EQ(pref.min_alignment_c, 256u);
  // Batched products take no epilogue.
  const float bias[16] = {};
  c.bias = bias;
  EXPECT_NE(cuda::unfusable_reason(c), "");
}

// ---- swap_axes12 ----------------------------------------------------------------------

TEST(CudaParitySequence, SwapAxes12IsBitIdentical) {
  REQUIRE_CUDA();
  std::uint32_t seed = 1100;
  for (DType t : kDtypes) {
    for (const Shape& s :
         {Shape{2, 3, 4, 5}, Shape{1, 7, 1, 3}, Shape{3, 1, 5, 8}, Shape{2, 16, 12, 64}}) {
      const Pair x = both(s, t, random_values(std::size_t(s.numel()), seed++));
      Pair y = both_empty({s[0], s[2], s[1], s[3]}, t);
      cpu().swap_axes12(x.c, y.c);
      gpu().swap_axes12(x.g, y.g);
      EXPECT_TRUE(same_bits(y)) << dtype_name(t) << " " << s.str();
    }
  }
}

// ---- softmax --------------------------------------------------------------------------

struct SoftmaxCase {
  Shape shape;
  bool causal;
};

const SoftmaxCase kSoftmaxCases[] = {
    {{5, 33}, false},    {{4, 7, 129}, false},  {{2, 1000}, false}, {{3, 17, 17}, true},
    {{2, 64, 64}, true}, {{1, 300, 300}, true}, {{6, 1, 1}, true},
};

TEST(CudaParitySequence, SoftmaxForwardWithScaleAndCausalMask) {
  REQUIRE_CUDA();
  std::uint32_t seed = 1200;
  for (DType xt : kDtypes) {
    for (DType yt : kDtypes) {
      for (const SoftmaxCase& sc : kSoftmaxCases) {
        for (float scale : {1.0f, 0.125f}) {
          const Shape& s = sc.shape;
          const Pair x = both(s, xt, random_values(std::size_t(s.numel()), seed++, -8, 8));
          Pair y = both_empty(s, yt);
          cpu().softmax_forward(x.c, y.c, scale, sc.causal);
          gpu().softmax_forward(x.g, y.g, scale, sc.causal);
          // fp16's subnormals (below 2^-14) are spaced 2^-24 apart.
          const double abs_tol = yt == DType::F16 ? 0x1p-24 : 0.0;
          const double rel = 16 * 0x1p-24 + (yt == DType::F32 ? 0.0 : 2 * unit_roundoff(yt));
          EXPECT_TRUE(close(y, {abs_tol}, rel))
              << dtype_name(xt) << "->" << dtype_name(yt) << " " << s.str() << " causal "
              << sc.causal << " scale " << scale;
          if (!sc.causal) continue;
          // Masked positions are exactly +0 on the device.
          const std::int64_t T = s[s.rank() - 1];
          const auto g = y.g.to_host();
          for (std::int64_t r = 0; r < s.numel() / T; ++r)
            for (std::int64_t j = r % T + 1; j < T; ++j)
              ASSERT_EQ(float_bits(g[std::size_t(r * T + j)]), 0u)
                  << "row " << r << " position " << j << " of " << s.str();
        }
      }
    }
  }
}

TEST(CudaParitySequence, SoftmaxBackward) {
  REQUIRE_CUDA();
  std::uint32_t seed = 1300;
  struct Types {
    DType y, dy, dx;
  };
  const Types types[] = {{DType::F32, DType::F32, DType::F32},
                         {DType::F16, DType::F16, DType::F16},
                         {DType::BF16, DType::BF16, DType::BF16},
                         {DType::BF16, DType::F32, DType::F32},
                         {DType::F32, DType::F16, DType::BF16}};
  for (const Types& t : types) {
    for (const SoftmaxCase& sc : kSoftmaxCases) {
      const float scale = 0.125f;
      const Shape& s = sc.shape;
      const std::int64_t L = s[s.rank() - 1];
      // y: real probabilities (the CPU's softmax, rounded to y's dtype).
      Tensor x = Tensor::from_host(cpu(), s, DType::F32,
                                   random_values(std::size_t(s.numel()), seed++, -4, 4).data());
      Tensor yc = Tensor::zeros(cpu(), s, t.y);
      cpu().softmax_forward(x, yc, scale, sc.causal);
      const Pair y = both(s, t.y, yc.to_host());
      const Pair dy = both(s, t.dy, random_values(std::size_t(s.numel()), seed++));
      Pair dx = both_empty(s, t.dx);
      cpu().softmax_backward(y.c, dy.c, dx.c, scale);
      gpu().softmax_backward(y.g, dy.g, dx.g, scale);
      const auto p = y.c.to_host(), g = dy.c.to_host();
      std::vector<double> tol(p.size());
      for (std::size_t r = 0; r < p.size() / std::size_t(L); ++r) {
        double dot = 0;
        for (std::size_t j = r * L; j < (r + 1) * L; ++j) dot += std::abs(double(p[j]) * g[j]);
        for (std::size_t j = r * L; j < (r + 1) * L; ++j) {
          const double m = scale * std::abs(p[j]) * (std::abs(g[j]) + dot);
          tol[j] = 4 * 0x1p-24 * m + (t.dx == DType::F32 ? 0.0 : 2 * unit_roundoff(t.dx) * m);
        }
      }
      EXPECT_TRUE(close(dx, tol)) << dtype_name(t.y) << ", " << dtype_name(t.dy) << " -> "
                                  << dtype_name(t.dx) << " " << s.str();
    }
  }
}

// ---- embeddings -----------------------------------------------------------------------

TEST(CudaParitySequence, EmbeddingForwardIsBitIdentical) {
  REQUIRE_CUDA();
  std::uint32_t seed = 1400;
  const std::int64_t V = 50, C = 37;
  for (DType t : kDtypes) {
    const Pair table = both({V, C}, t, random_values(std::size_t(V * C), seed++));
    const Pair ids = both({4, 16}, DType::F32, random_ids(64, seed++, V));
    Pair out = both_empty({4, 16, C}, t);
    cpu().embedding_forward(table.c, ids.c, out.c);
    gpu().embedding_forward(table.g, ids.g, out.g);
    EXPECT_TRUE(same_bits(out)) << dtype_name(t);
  }
}

// The contract is the same bits on every backend: each token's gradient row
// is its positions' rows added in position order. Values spread over many
// binades make a sum in any other order (or an atomic scatter) differ.
TEST(CudaParitySequence, EmbeddingBackwardIsBitIdenticalWithRepeatedIds) {
  REQUIRE_CUDA();
  std::uint32_t seed = 1500;
  struct Case {
    std::int64_t V, used, M, C;
  };
  // used < V: the rows above `used` are never looked up and must come out 0;
  // C > 256 spreads a row over several passes of a block's threads.
  const Case cases[] = {{13, 9, 500, 300}, {1000, 1000, 64, 16}, {7, 1, 40, 33}, {5, 5, 1, 8}};
  for (DType t : kDtypes) {
    for (const Case& k : cases) {
      auto dout_values = random_values(std::size_t(k.M * k.C), seed++);
      std::mt19937 gen(seed++);
      std::uniform_int_distribution<int> binade(-12, 12);
      for (auto& v : dout_values) v = std::ldexp(v, binade(gen));
      const Pair ids = both({k.M}, DType::F32, random_ids(std::size_t(k.M), seed++, k.used));
      const Pair dout = both({k.M, k.C}, t, dout_values);
      // Stale values in dtable: the op overwrites every row.
      Pair dtable = both({k.V, k.C}, DType::F32, random_values(std::size_t(k.V * k.C), seed++));
      cpu().embedding_backward(ids.c, dout.c, dtable.c);
      gpu().embedding_backward(ids.g, dout.g, dtable.g);
      EXPECT_TRUE(same_bits(dtable))
          << dtype_name(t) << " V " << k.V << " M " << k.M << " C " << k.C;
      const auto g = dtable.g.to_host();
      for (std::int64_t i = k.used * k.C; i < k.V * k.C; ++i)
        ASSERT_EQ(float_bits(g[std::size_t(i)]), 0u) << "unused row element " << i;
    }
  }
}

// ---- group norm -----------------------------------------------------------------------

TEST(CudaParitySequence, GroupNormForwardAndBackward) {
  REQUIRE_CUDA();
  std::uint32_t seed = 1600;
  struct Case {
    Shape x;
    std::int64_t groups;
  };
  const Case cases[] = {{{3, 12, 5, 7}, 1}, {{3, 12, 5, 7}, 3}, {{3, 12, 5, 7}, 12},
                        {{4, 8}, 2},        {{2, 6, 300}, 2},   {{1, 4, 2, 2}, 4}};
  for (const Case& k : cases) {
    const Shape& xs = k.x;
    const std::int64_t N = xs[0], C = xs[1], G = k.groups;
    const std::int64_t per_channel = xs.numel() / C;  // N * S
    const Pair x = both(xs, DType::F32, random_values(std::size_t(xs.numel()), seed++, -3, 2));
    const Pair gamma = both({C}, DType::F32, random_values(std::size_t(C), seed++, 0.5, 1.5));
    const Pair beta = both({C}, DType::F32, random_values(std::size_t(C), seed++));
    Pair y = both_empty(xs, DType::F32), sm = both_empty({N, G}, DType::F32),
         si = both_empty({N, G}, DType::F32);
    cpu().groupnorm_forward(x.c, gamma.c, beta.c, y.c, sm.c, si.c, G, 1e-5f);
    gpu().groupnorm_forward(x.g, gamma.g, beta.g, y.g, sm.g, si.g, G, 1e-5f);
    EXPECT_TRUE(close(sm, {1e-6}, 1e-6)) << xs.str() << " groups " << G;
    EXPECT_TRUE(close(si, {1e-6}, 1e-5)) << xs.str() << " groups " << G;
    EXPECT_TRUE(close(y, {1e-5}, 1e-5)) << xs.str() << " groups " << G;
    // Backward from the CPU's saved statistics on both sides.
    const Pair smc = both({N, G}, DType::F32, sm.c.to_host()),
               sic = both({N, G}, DType::F32, si.c.to_host());
    const Pair dy = both(xs, DType::F32, random_values(std::size_t(xs.numel()), seed++));
    Pair dx = both_empty(xs, DType::F32), dg = both_empty({C}, DType::F32),
         db = both_empty({C}, DType::F32);
    cpu().groupnorm_backward(x.c, dy.c, gamma.c, smc.c, sic.c, dx.c, dg.c, db.c, G);
    gpu().groupnorm_backward(x.g, dy.g, gamma.g, smc.g, sic.g, dx.g, dg.g, db.g, G);
    EXPECT_TRUE(close(dx, {1e-4}, 1e-4)) << xs.str() << " groups " << G;
    EXPECT_TRUE(close(dg, {4e-6 * double(per_channel)}, 1e-5)) << xs.str() << " groups " << G;
    EXPECT_TRUE(close(db, {1e-6 * double(per_channel)}, 1e-5)) << xs.str() << " groups " << G;
  }
}

// ---- step capture ---------------------------------------------------------------------

// A small attention block's ops recorded in a CUDA graph and replayed give
// what running them directly gave, on the same tensors (so every matmul
// takes the same plan): nothing in them waits for the host or depends on it
// after recording.
TEST(CudaParitySequence, OpsReplayFromACapturedGraph) {
  REQUIRE_CUDA();
  auto b = create_backend("cuda");
  ASSERT_TRUE(b->can_capture());
  const std::int64_t B = 2, H = 3, T = 9, D = 8, V = 11, M = B * T, C = H * D;
  const auto qv = random_values(std::size_t(B * T * H * D), 1700);
  const auto ids_v = random_ids(std::size_t(M), 1701, 5);
  const auto dv = random_values(std::size_t(B * H * T * T), 1702);
  const auto xv = random_values(std::size_t(B * C * 5), 1703);

  Backend& be = *b;
  Tensor q = Tensor::from_host(be, {B, T, H, D}, DType::BF16, qv.data());
  Tensor heads = Tensor::zeros(be, {B, H, T, D}, DType::BF16);
  Tensor scores = Tensor::zeros(be, {B * H, T, T}, DType::F32);
  Tensor probs = Tensor::zeros(be, {B * H, T, T}, DType::BF16);
  Tensor dprobs = Tensor::from_host(be, {B * H, T, T}, DType::BF16, dv.data());
  Tensor dscores = Tensor::zeros(be, {B * H, T, T}, DType::F32);
  Tensor ids = Tensor::from_host(be, {M}, DType::F32, ids_v.data());
  Tensor dout = Tensor::from_host(be, {M, C}, DType::BF16, qv.data());
  Tensor dtable = Tensor::zeros(be, {V, C}, DType::F32);
  Tensor table = Tensor::from_host(be, {V, C}, DType::BF16, qv.data());
  Tensor emb = Tensor::zeros(be, {M, C}, DType::BF16);
  Tensor x = Tensor::from_host(be, {B, C, 5}, DType::F32, xv.data());
  Tensor gamma = Tensor::from_host(be, {C}, DType::F32, xv.data());
  Tensor beta = Tensor::from_host(be, {C}, DType::F32, xv.data() + C);
  Tensor y = Tensor::zeros(be, {B, C, 5}, DType::F32);
  Tensor sm = Tensor::zeros(be, {B, 4}, DType::F32), si = Tensor::zeros(be, {B, 4}, DType::F32);
  Tensor* outputs[] = {&heads, &scores, &probs, &dscores, &dtable, &emb, &y, &sm, &si};
  auto ops = [&] {
    be.swap_axes12(q, heads);
    const Tensor hq = heads.reshaped({B * H, T, D});
    be.batched_matmul(hq, false, hq, true, scores, 1.0f / std::sqrt(float(D)), 0.0f);
    be.softmax_forward(scores, probs, 1.0f, true);
    be.softmax_backward(probs, dprobs, dscores, 0.5f);
    be.embedding_backward(ids, dout, dtable);
    be.embedding_forward(table, ids, emb);
    be.groupnorm_forward(x, gamma, beta, y, sm, si, 4, 1e-5f);
  };
  auto snapshot = [&] {
    std::vector<std::vector<std::uint8_t>> bytes;
    for (Tensor* t : outputs) bytes.push_back(t->to_host_bytes());
    return bytes;
  };

  ops();
  const auto direct = snapshot();
  // NaN everywhere, so a replay that ran nothing cannot pass.
  for (Tensor* t : outputs) be.fill(*t, std::nanf(""));
  be.synchronize();
  be.begin_capture();
  ops();
  be.end_capture();
  be.replay();
  be.replay();
  const auto replayed = snapshot();
  be.discard_capture();
  for (std::size_t i = 0; i < direct.size(); ++i)
    EXPECT_EQ(direct[i], replayed[i]) << "output " << i << ": " << outputs[i]->describe();

  // And the deterministic embedding gradient has the CPU's bits here too.
  Tensor ids_c = Tensor::from_host(cpu(), {M}, DType::F32, ids_v.data());
  Tensor dout_c = Tensor::from_host(cpu(), {M, C}, DType::BF16, qv.data());
  Tensor dtable_c = Tensor::zeros(cpu(), {V, C}, DType::F32);
  cpu().embedding_backward(ids_c, dout_c, dtable_c);
  EXPECT_EQ(direct[4], dtable_c.to_host_bytes());
}

}  // namespace
}  // namespace mantissa
