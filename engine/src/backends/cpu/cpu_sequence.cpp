// Sequences and attention on the CPU: head transposes, the fp32 softmax of
// attention scores (scale and causal mask inside), embedding lookups and
// their deterministic gradient, and group norm (a forced-fp32 op).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

std::int64_t last_dim(const Tensor& t) {
  return t.rank() == 0 ? 1 : t.dim(t.rank() - 1);
}

// Row r of t (len values) as fp32 in buf; buf is returned for fp32 tensors too
// (a copy), so callers may write into it.
void load_row(const Tensor& t, std::int64_t r, std::int64_t len, float* buf) {
  convert(byte_ptr(t, r * len), t.dtype(), buf, DType::F32, std::size_t(len));
}

}  // namespace

void CpuBackend::swap_axes12(const Tensor& x, Tensor& y) {
  MANTISSA_ASSERT(x.rank() == 4 && y.rank() == 4 && x.dtype() == y.dtype() &&
                      y.dim(0) == x.dim(0) && y.dim(1) == x.dim(2) && y.dim(2) == x.dim(1) &&
                      y.dim(3) == x.dim(3),
                  "swap_axes12: " + x.describe() + " -> " + y.describe());
  const std::int64_t A = x.dim(0), B = x.dim(1), C = x.dim(2), D = x.dim(3);
  const auto copy = [&](auto element) {
    using E = decltype(element);
    const E* src = static_cast<const E*>(x.data());
    E* dst = static_cast<E*>(y.data());
    // Rows of D elements (a head's width: often 64 or 128 bytes) are copied
    // inline: a memcpy call per row costs more than the copy itself.
#pragma omp parallel for collapse(3) schedule(static) if (x.numel() >= kParallelMin)
    for (std::int64_t a = 0; a < A; ++a)
      for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t c = 0; c < C; ++c) {
          const E* from = src + ((a * B + b) * C + c) * D;
          E* to = dst + ((a * C + c) * B + b) * D;
#pragma omp simd
          for (std::int64_t i = 0; i < D; ++i) to[i] = from[i];
        }
  };
  switch (dtype_size(x.dtype())) {
    case 2: return copy(std::uint16_t{});
    case 4: return copy(std::uint32_t{});
    default: MANTISSA_ASSERT(false, "swap_axes12: unexpected element size of " + x.describe());
  }
}

void CpuBackend::softmax_forward(const Tensor& x, Tensor& y, float scale, bool causal) {
  MANTISSA_ASSERT(x.shape() == y.shape(), "softmax_forward: " + x.describe() + " -> " + y.describe());
  const std::int64_t L = last_dim(x);
  if (L == 0 || x.numel() == 0) return;
  const std::int64_t rows = x.numel() / L;
  const std::int64_t T = causal ? x.dim(x.rank() - 2) : 0;
  MANTISSA_ASSERT(!causal || (x.rank() >= 2 && T == L),
                  "softmax_forward: a causal mask needs square (T, T) rows, got " + x.describe());
  auto lock = dnnl_.lock();
  // oneDNN's softmax (a vectorised exp) runs on fp32 logits that already
  // carry the scale and the mask: positions after a row's own are -inf, which
  // its exp turns into exactly 0.
  const float* logits = x.data_as<const float>();
  if (x.dtype() != DType::F32 || scale != 1.0f || causal) {
    float* t = dnnl_.staging(0, std::size_t(x.numel()));
    const float inf = std::numeric_limits<float>::infinity();
#pragma omp parallel if (x.numel() >= kParallelMin)
    {
      alignas(64) float buf[kBlock];
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t seen = causal ? (r % T) + 1 : L;
        float* out = t + r * L;
        for (std::int64_t j = 0; j < seen; j += kBlock) {
          const std::int64_t n = std::min(kBlock, seen - j);
          const float* v = read_f32(x, r * L + j, n, buf);
#pragma omp simd
          for (std::int64_t i = 0; i < n; ++i) out[j + i] = v[i] * scale;
        }
        std::fill(out + seen, out + L, -inf);
      }
    }
    logits = t;
  }
  const auto get = [&](DType out) {
    return dnnl_.find_or_make(PrimitiveKey(PrimitiveOp::SoftmaxForward, {rows, L, std::int64_t(out)}), [&] {
      const dnnl::softmax_v2_forward::desc d(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
          plain_md({rows, L}, dnnl_dt::f32), plain_md({rows, L}, dnnl_type(out)), 1);
      return dnnl::primitive_desc(dnnl::softmax_v2_forward::primitive_desc(
          d, DnnlContext::attr(), dnnl_.engine(), /*allow_empty=*/true));
    });
  };
  const CachedPrimitive* prim = native(y.dtype()) ? get(y.dtype()) : nullptr;
  if (prim != nullptr)
    return dnnl_.execute(*prim, {{DNNL_ARG_SRC, logits}, {DNNL_ARG_DST, y.data()}});
  // fp16 (or bf16 without native kernels): fp32 probabilities, rounded once.
  prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 softmax");
  float* y32 = staged_output(dnnl_, 1, y);
  dnnl_.execute(*prim, {{DNNL_ARG_SRC, logits}, {DNNL_ARG_DST, y32}});
  finish_output(y32, y);
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, float scale) {
  MANTISSA_ASSERT(y.shape() == dy.shape() && y.shape() == dx.shape(),
                  "softmax_backward: " + y.describe() + ", " + dy.describe() + " -> " +
                      dx.describe());
  const std::int64_t L = last_dim(y);
  if (L == 0 || y.numel() == 0) return;
  const std::int64_t rows = y.numel() / L;
  // Whole rows at a time, converted to fp32 a block at once.
  const std::int64_t per_block = std::max<std::int64_t>(1, kBlock / L);
  const std::int64_t blocks = (rows + per_block - 1) / per_block;
#pragma omp parallel if (y.numel() >= kParallelMin)
  {
    std::vector<float> pbuf(static_cast<std::size_t>(per_block * L));
    std::vector<float> gbuf(static_cast<std::size_t>(per_block * L));
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t r0 = b * per_block;
      const std::int64_t n = std::min(per_block, rows - r0) * L;
      const float* p = read_f32(y, r0 * L, n, pbuf.data());
      const float* g = read_f32(dy, r0 * L, n, gbuf.data());
      float* out = out_f32(dx, r0 * L, gbuf.data());
      for (std::int64_t i = 0; i < n; i += L) {
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (std::int64_t j = 0; j < L; ++j) dot += p[i + j] * g[i + j];
#pragma omp simd
        for (std::int64_t j = 0; j < L; ++j) out[i + j] = scale * p[i + j] * (g[i + j] - dot);
      }
      write_back(dx, r0 * L, n, out);
    }
  }
}

void CpuBackend::embedding_forward(const Tensor& table, const Tensor& ids, Tensor& out) {
  MANTISSA_ASSERT(table.rank() == 2 && ids.dtype() == DType::F32 && out.dtype() == table.dtype() &&
                      out.numel() == ids.numel() * table.dim(1),
                  "embedding_forward: " + table.describe() + " [" + ids.describe() + "] -> " +
                      out.describe());
  const std::int64_t V = table.dim(0), C = table.dim(1), M = ids.numel();
  const float* id = ids.data_as<const float>();
  const std::size_t row_bytes = std::size_t(C) * dtype_size(table.dtype());
  const auto* src = static_cast<const std::uint8_t*>(table.data());
  auto* dst = static_cast<std::uint8_t*>(out.data());
  for (std::int64_t m = 0; m < M; ++m) {
    const auto v = std::int64_t(id[m]);
    MANTISSA_ASSERT(v >= 0 && v < V && float(v) == id[m],
                    "embedding_forward: token id " + std::to_string(id[m]) +
                        " outside the table of " + std::to_string(V));
    std::memcpy(dst + std::size_t(m) * row_bytes, src + std::size_t(v) * row_bytes, row_bytes);
  }
}

void CpuBackend::embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  MANTISSA_ASSERT(dtable.rank() == 2 && dtable.dtype() == DType::F32 && ids.dtype() == DType::F32 &&
                      dout.numel() == ids.numel() * dtable.dim(1),
                  "embedding_backward: [" + ids.describe() + "] " + dout.describe() + " -> " +
                      dtable.describe());
  const std::int64_t V = dtable.dim(0), C = dtable.dim(1), M = ids.numel();
  const float* id = ids.data_as<const float>();
  float* dt = dtable.data_as<float>();
  std::fill(dt, dt + V * C, 0.0f);
  // Positions in order, each row added into its token's row: for every token
  // id the sum runs over its positions in order, whatever the thread count.
  std::vector<float> row(static_cast<std::size_t>(C));
  for (std::int64_t m = 0; m < M; ++m) {
    const auto v = std::int64_t(id[m]);
    MANTISSA_ASSERT(v >= 0 && v < V, "embedding_backward: token id out of the table");
    load_row(dout, m, C, row.data());
    float* dst = dt + v * C;
#pragma omp simd
    for (std::int64_t c = 0; c < C; ++c) dst[c] += row[std::size_t(c)];
  }
}

namespace {

struct GroupDims {
  std::int64_t N, C, S, G, per_group;  // per_group = (C / G) * S values
};

GroupDims group_dims(const Tensor& x, std::int64_t groups, const char* op) {
  MANTISSA_ASSERT(x.rank() >= 2 && x.dtype() == DType::F32 && groups > 0 &&
                      x.dim(1) % groups == 0,
                  std::string(op) + ": " + x.describe() + " in " + std::to_string(groups) +
                      " groups");
  std::int64_t S = 1;
  for (std::size_t i = 2; i < x.rank(); ++i) S *= x.dim(i);
  return {x.dim(0), x.dim(1), S, groups, x.dim(1) / groups * S};
}

}  // namespace

void CpuBackend::groupnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   Tensor& y, Tensor& save_mean, Tensor& save_invstd,
                                   std::int64_t groups, float eps) {
  const GroupDims d = group_dims(x, groups, "groupnorm_forward");
  MANTISSA_ASSERT(y.shape() == x.shape() && y.dtype() == DType::F32 && gamma.numel() == d.C &&
                      beta.numel() == d.C && save_mean.numel() == d.N * d.G &&
                      save_invstd.numel() == d.N * d.G,
                  "groupnorm_forward: tensors do not match " + x.describe());
  const float* xs = x.data_as<const float>();
  const float* g = gamma.data_as<const float>();
  const float* b = beta.data_as<const float>();
  float* ys = y.data_as<float>();
  float* sm = save_mean.data_as<float>();
  float* si = save_invstd.data_as<float>();
  const std::int64_t cpg = d.C / d.G;
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMin)
  for (std::int64_t ng = 0; ng < d.N * d.G; ++ng) {
    const float* in = xs + ng * d.per_group;
    float* out = ys + ng * d.per_group;
    // Not a structured binding: clang 16 crashes on one inside an OpenMP loop.
    const RowStats stats = row_stats(in, d.per_group, eps);
    const float mean = stats.mean, invstd = stats.invstd;
    sm[ng] = mean;
    si[ng] = invstd;
    const std::int64_t c0 = (ng % d.G) * cpg;
    for (std::int64_t k = 0; k < cpg; ++k) {
      const float gc = g[c0 + k], bc = b[c0 + k];
      for (std::int64_t s = 0; s < d.S; ++s) {
        const std::int64_t i = k * d.S + s;
        out[i] = (in[i] - mean) * invstd * gc + bc;
      }
    }
  }
}

void CpuBackend::groupnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                    const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                    Tensor& dgamma, Tensor& dbeta, std::int64_t groups) {
  const GroupDims d = group_dims(x, groups, "groupnorm_backward");
  MANTISSA_ASSERT(dy.shape() == x.shape() && dx.shape() == x.shape() &&
                      dy.dtype() == DType::F32 && dx.dtype() == DType::F32 &&
                      dgamma.numel() == d.C && dbeta.numel() == d.C,
                  "groupnorm_backward: tensors do not match " + x.describe());
  const float* xs = x.data_as<const float>();
  const float* dys = dy.data_as<const float>();
  const float* g = gamma.data_as<const float>();
  const float* sm = save_mean.data_as<const float>();
  const float* si = save_invstd.data_as<const float>();
  float* dxs = dx.data_as<float>();
  const std::int64_t cpg = d.C / d.G;
  // dgamma / dbeta: per channel, samples in order (deterministic).
  std::vector<double> dg(std::size_t(d.C), 0.0), db(std::size_t(d.C), 0.0);
  for (std::int64_t n = 0; n < d.N; ++n)
    for (std::int64_t c = 0; c < d.C; ++c) {
      const std::int64_t ng = n * d.G + c / cpg;
      const float* in = xs + (n * d.C + c) * d.S;
      const float* gy = dys + (n * d.C + c) * d.S;
      double a = 0.0, bsum = 0.0;
      for (std::int64_t s = 0; s < d.S; ++s) {
        a += double(gy[s]) * (in[s] - sm[ng]) * si[ng];
        bsum += gy[s];
      }
      dg[std::size_t(c)] += a;
      db[std::size_t(c)] += bsum;
    }
  for (std::int64_t c = 0; c < d.C; ++c) {
    dgamma.data_as<float>()[c] = float(dg[std::size_t(c)]);
    dbeta.data_as<float>()[c] = float(db[std::size_t(c)]);
  }
  // dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma.
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMin)
  for (std::int64_t ng = 0; ng < d.N * d.G; ++ng) {
    const float* in = xs + ng * d.per_group;
    const float* gy = dys + ng * d.per_group;
    float* out = dxs + ng * d.per_group;
    const std::int64_t c0 = (ng % d.G) * cpg;
    const float mean = sm[ng], invstd = si[ng];
    double s1 = 0.0, s2 = 0.0;
    for (std::int64_t k = 0; k < cpg; ++k)
      for (std::int64_t s = 0; s < d.S; ++s) {
        const std::int64_t i = k * d.S + s;
        const double dxhat = double(gy[i]) * g[c0 + k];
        s1 += dxhat;
        s2 += dxhat * (in[i] - mean) * invstd;
      }
    const double m1 = s1 / double(d.per_group), m2 = s2 / double(d.per_group);
    for (std::int64_t k = 0; k < cpg; ++k)
      for (std::int64_t s = 0; s < d.S; ++s) {
        const std::int64_t i = k * d.S + s;
        const double xhat = (in[i] - mean) * invstd;
        const double dxhat = double(gy[i]) * g[c0 + k];
        out[i] = float(invstd * (dxhat - m1 - xhat * m2));
      }
  }
}

}  // namespace mantissa::cpu
