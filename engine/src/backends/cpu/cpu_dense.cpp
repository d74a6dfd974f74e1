// Dense layers: matmul on oneDNN, bias add / bias gradient as plain loops.
#include <omp.h>

#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

std::int64_t float_key(float f) {
  return std::int64_t(float_bits(f));
}

}  // namespace

void CpuBackend::matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                        float beta) {
  matmul_with_bias(a, trans_a, b, trans_b, c, beta, nullptr);
}

void CpuBackend::linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                                bool relu) {
  if (bias != nullptr)
    MANTISSA_ASSERT(bias->dtype() == DType::F32 && bias->numel() == y.dim(1),
                    "linear_forward: bias " + bias->describe() + " for " + y.describe());
  if (x.dim(1) == 0) return Backend::linear_forward(x, w, bias, y, relu);  // empty sum
  matmul_with_bias(x, false, w, true, y, 0.0f, bias);
  if (relu) activation_forward(Activation::Relu, 0.0f, y, y);  // commutes with the rounding
}

void CpuBackend::batched_matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
                                Tensor& c, float alpha, float beta) {
  MANTISSA_ASSERT(a.rank() == 3 && b.rank() == 3 && c.rank() == 3 && a.dim(0) == b.dim(0) &&
                      a.dim(0) == c.dim(0),
                  "batched_matmul needs 3-D tensors with one batch, got " + a.describe() + ", " +
                      b.describe() + ", " + c.describe());
  matmul_with_bias(a, trans_a, b, trans_b, c, beta, nullptr, alpha);
}

void CpuBackend::matmul_with_bias(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
                                  Tensor& c, float beta, const Tensor* bias, float alpha) {
  // 2-D operands, or 3-D ones multiplied batch by batch (batched_matmul).
  const bool batched = a.rank() == 3;
  MANTISSA_ASSERT(
      batched || (a.rank() == 2 && b.rank() == 2 && c.rank() == 2),
      "matmul needs 2-D tensors, got " + a.describe() + ", " + b.describe() + ", " + c.describe());
  MANTISSA_ASSERT(a.dtype() == b.dtype(), "matmul: a and b must share a dtype");
  MANTISSA_ASSERT(c.dtype() == DType::F32 || c.dtype() == a.dtype(),
                  "matmul: c must be f32 or a's dtype, got " + c.describe());
  const std::size_t o = batched ? 1 : 0;  // the first matrix axis
  const std::int64_t B = batched ? a.dim(0) : 1;
  const std::int64_t M = trans_a ? a.dim(o + 1) : a.dim(o);
  const std::int64_t K = trans_a ? a.dim(o) : a.dim(o + 1);
  const std::int64_t N = trans_b ? b.dim(o) : b.dim(o + 1);
  MANTISSA_ASSERT((trans_b ? b.dim(o + 1) : b.dim(o)) == K && c.dim(o) == M && c.dim(o + 1) == N,
                  "matmul shapes do not agree: " + a.describe() + (trans_a ? "ᵀ" : "") + " @ " +
                      b.describe() + (trans_b ? "ᵀ" : "") + " -> " + c.describe());
  if (M == 0 || N == 0 || B == 0) return;
  if (K == 0) {  // an empty sum: c = beta * c
    if (beta == 0.0f) {
      fill(c, 0.0f);
    } else {
      scale(c, beta);
    }
    return;
  }

  // Transposes are strides on the operands' descriptors, never copies.
  auto make = [&](DType in, DType out) {
    const dnnl_dt dt = dnnl_type(in);
    const dnnl_dims a_strides = trans_a ? dnnl_dims{1, M} : dnnl_dims{K, 1};
    const dnnl_dims b_strides = trans_b ? dnnl_dims{1, K} : dnnl_dims{N, 1};
    auto md = [&](std::int64_t rows, std::int64_t cols, dnnl_dt type, const dnnl_dims& strides) {
      if (!batched) return strided_md({rows, cols}, type, strides);
      return strided_md({B, rows, cols}, type, {rows * cols, strides[0], strides[1]});
    };
    const auto a_md = md(M, K, dt, a_strides);
    const auto b_md = md(K, N, dt, b_strides);
    const auto c_md = md(M, N, dnnl_type(out), {N, 1});
    dnnl::primitive_attr attr = DnnlContext::attr();
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    if (bias != nullptr) {
      const auto bias_md = plain_md({1, N}, dnnl_dt::f32);
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, bias_md, c_md), attr,
                                          dnnl_.engine(), /*allow_empty=*/true);
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, dnnl_.engine(),
                                        /*allow_empty=*/true);
  };
  auto key = [&](DType in, DType out) {
    return PrimitiveKey(PrimitiveOp::Matmul,
                        {B, M, N, K, trans_a, trans_b, std::int64_t(in), std::int64_t(out),
                         float_key(beta), float_key(alpha), bias != nullptr, batched});
  };
  const void* bias_data = bias != nullptr ? bias->data() : nullptr;

  auto lock = dnnl_.lock();
  if (native(a.dtype())) {
    // bf16 runs natively: bf16 products, fp32 accumulation, f32 or bf16 out.
    const CachedPrimitive* p =
        dnnl_.find_or_make(key(a.dtype(), c.dtype()), [&] { return make(a.dtype(), c.dtype()); });
    if (p != nullptr) {
      dnnl_.execute(*p, {{DNNL_ARG_SRC, a.data()},
                         {DNNL_ARG_WEIGHTS, b.data()},
                         {DNNL_ARG_BIAS, bias_data},
                         {DNNL_ARG_DST, c.data()}});
      return;
    }
  }
  // oneDNN 2.6 has no fp16 matmul on CPUs (nor bf16 before AVX-512): convert
  // the operands to fp32, multiply in fp32 and round the result into c.
  const CachedPrimitive* p =
      dnnl_.find_or_make(key(DType::F32, DType::F32), [&] { return make(DType::F32, DType::F32); });
  MANTISSA_ASSERT(p != nullptr, "oneDNN has no f32 matmul for these shapes");
  const float* a32 = staged_input(dnnl_, 0, a);
  const float* b32 = staged_input(dnnl_, 1, b);
  float* c32 = staged_output(dnnl_, 2, c);
  if (beta != 0.0f && c.dtype() != DType::F32) {
    convert(c.data(), c.dtype(), c32, DType::F32, std::size_t(c.numel()));
  }
  dnnl_.execute(*p, {{DNNL_ARG_SRC, a32},
                     {DNNL_ARG_WEIGHTS, b32},
                     {DNNL_ARG_BIAS, bias_data},
                     {DNNL_ARG_DST, c32}});
  finish_output(c32, c);
}

namespace {

// (outer, channels, inner) view of a tensor whose axis 1 is the channel axis.
struct ChannelView {
  std::int64_t outer, channels, inner;
};

ChannelView channel_view(const Tensor& t, const Tensor& per_channel, const char* op) {
  MANTISSA_ASSERT(t.rank() >= 2, std::string(op) + " needs rank >= 2, got " + t.describe());
  MANTISSA_ASSERT(per_channel.dtype() == DType::F32 && per_channel.numel() == t.dim(1),
                  std::string(op) + ": " + per_channel.describe() + " does not match axis 1 of " +
                      t.describe());
  std::int64_t inner = 1;
  for (std::size_t i = 2; i < t.rank(); ++i) inner *= t.dim(i);
  return {t.dim(0), t.dim(1), inner};
}

}  // namespace

void CpuBackend::bias_add(Tensor& y, const Tensor& bias) {
  const ChannelView v = channel_view(y, bias, "bias_add");
  const float* bv = bias.data_as<const float>();
  if (v.inner == 1) {
    // (N, C): each row gets the bias vector.
    update_rows(y, v.outer, v.channels,
                [bv](std::int64_t, std::int64_t j, float* row, std::int64_t n) {
#pragma omp simd
                  for (std::int64_t i = 0; i < n; ++i) row[i] += bv[j + i];
                });
  } else {
    // (N, C, S): each (n, c) row of S values gets one scalar.
    const std::int64_t channels = v.channels;
    update_rows(y, v.outer * v.channels, v.inner,
                [bv, channels](std::int64_t r, std::int64_t, float* row, std::int64_t n) {
                  const float b = bv[r % channels];
#pragma omp simd
                  for (std::int64_t i = 0; i < n; ++i) row[i] += b;
                });
  }
}

void CpuBackend::bias_grad(const Tensor& dy, Tensor& dbias, float beta) {
  const ChannelView v = channel_view(dy, dbias, "bias_grad");
  float* db = dbias.data_as<float>();
  const std::int64_t C = v.channels;
  std::vector<double> sums(std::size_t(C), 0.0);
  if (v.inner == 1) {
    // (N, C): threads sum disjoint row ranges into private vectors.
    const int threads = threads_for(dy.numel());
    std::vector<double> partial(std::size_t(threads) * std::size_t(C), 0.0);
#pragma omp parallel num_threads(threads)
    {
      double* acc = partial.data() + std::size_t(omp_get_thread_num()) * std::size_t(C);
      alignas(64) float buf[kBlock];
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < v.outer; ++r) {
        for (std::int64_t j = 0; j < C; j += kBlock) {
          const std::int64_t n = std::min(kBlock, C - j);
          const float* row = read_f32(dy, r * C + j, n, buf);
#pragma omp simd
          for (std::int64_t i = 0; i < n; ++i) acc[j + i] += row[i];
        }
      }
    }
    for (int t = 0; t < threads; ++t) {
      for (std::int64_t c = 0; c < C; ++c) sums[std::size_t(c)] += partial[std::size_t(t * C + c)];
    }
  } else {
    // (N, C, S): each channel sums its N contiguous rows of S.
#pragma omp parallel for schedule(static) if (dy.numel() >= kParallelMin)
    for (std::int64_t c = 0; c < C; ++c) {
      double s = 0.0;
      for (std::int64_t n = 0; n < v.outer; ++n) s += sum_range(dy, (n * C + c) * v.inner, v.inner);
      sums[std::size_t(c)] = s;
    }
  }
  for (std::int64_t c = 0; c < C; ++c) {
    const float g = float(sums[std::size_t(c)]);
    db[c] = beta == 0.0f ? g : g + beta * db[c];
  }
}

}  // namespace mantissa::cpu
