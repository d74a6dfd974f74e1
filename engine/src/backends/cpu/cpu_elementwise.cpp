// Elementwise ops and data movement: fp32 loops over blocks (cpu_kernels.hpp).
#include <cmath>
#include <cstring>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_dnnl.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/cpu_stats_pass.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

void check_same_numel(const Tensor& a, const Tensor& b, const char* op) {
  MANTISSA_ASSERT(a.numel() == b.numel(), std::string(op) + ": " + a.describe() + " vs " +
                                              b.describe() + " differ in size");
}

// The float value a tensor of dtype t stores for v.
float rounded_to(DType t, float v) {
  switch (t) {
    case DType::F16:
      return f16_to_f32(f32_to_f16(v));
    case DType::BF16:
      return bf16_to_f32(f32_to_bf16(v));
    case DType::F32:
      break;
  }
  return v;
}

// The exact (erf) GELU as oneDNN's eltwise primitive on n contiguous values
// of dtype t: its JIT kernels vectorise erf, which a loop calling std::erf
// cannot (glibc's vector erf needs -ffast-math), and GELU is a large share of
// a transformer's step on the CPU.
dnnl::eltwise_forward::primitive_desc gelu_forward_pd(const dnnl::engine& e, std::int64_t n,
                                                      DType t) {
  const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_training,
                                      dnnl::algorithm::eltwise_gelu_erf,
                                      plain_md({n}, dnnl_type(t)), 0.0f, 0.0f);
  return dnnl::eltwise_forward::primitive_desc(d, DnnlContext::attr(), e, /*allow_empty=*/true);
}

}  // namespace

void CpuBackend::gelu_forward(const Tensor& x, Tensor& y) {
  const std::int64_t n = x.numel();
  auto lock = dnnl_.lock();
  const auto get = [&](DType t) {
    return dnnl_.find_or_make(PrimitiveKey(PrimitiveOp::EltwiseForward, {n, std::int64_t(t)}),
                              [&] { return dnnl::primitive_desc(gelu_forward_pd(dnnl_.engine(), n, t)); });
  };
  const bool direct = x.dtype() == y.dtype() && native(x.dtype());
  const CachedPrimitive* prim = direct ? get(x.dtype()) : nullptr;
  if (prim != nullptr) return dnnl_.execute(*prim, {{DNNL_ARG_SRC, x.data()}, {DNNL_ARG_DST, y.data()}});
  // fp16, or bf16 without native kernels: in fp32, rounded once.
  prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 GELU");
  const float* x32 = staged_input(dnnl_, 0, x);
  float* y32 = staged_output(dnnl_, 1, y);
  dnnl_.execute(*prim, {{DNNL_ARG_SRC, x32}, {DNNL_ARG_DST, y32}});
  finish_output(y32, y);
}

void CpuBackend::gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  const std::int64_t n = x.numel();
  auto lock = dnnl_.lock();
  const auto get = [&](DType t) {
    return dnnl_.find_or_make(PrimitiveKey(PrimitiveOp::EltwiseBackward, {n, std::int64_t(t)}), [&] {
      const auto hint = gelu_forward_pd(dnnl_.engine(), n, t);
      if (!hint) return dnnl::primitive_desc();
      const dnnl::eltwise_backward::desc d(dnnl::algorithm::eltwise_gelu_erf,
                                           plain_md({n}, dnnl_type(t)), plain_md({n}, dnnl_type(t)),
                                           0.0f, 0.0f);
      return dnnl::primitive_desc(dnnl::eltwise_backward::primitive_desc(
          d, DnnlContext::attr(), dnnl_.engine(), hint, /*allow_empty=*/true));
    });
  };
  const bool direct = x.dtype() == dy.dtype() && dy.dtype() == dx.dtype() && native(x.dtype());
  const CachedPrimitive* prim = direct ? get(x.dtype()) : nullptr;
  if (prim != nullptr)
    return dnnl_.execute(*prim, {{DNNL_ARG_SRC, x.data()},
                                 {DNNL_ARG_DIFF_DST, dy.data()},
                                 {DNNL_ARG_DIFF_SRC, dx.data()}});
  prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 GELU backward");
  const float* x32 = staged_input(dnnl_, 0, x);
  const float* dy32 = staged_input(dnnl_, 1, dy);
  float* dx32 = staged_output(dnnl_, 2, dx);
  dnnl_.execute(*prim, {{DNNL_ARG_SRC, x32}, {DNNL_ARG_DIFF_DST, dy32}, {DNNL_ARG_DIFF_SRC, dx32}});
  finish_output(dx32, dx);
}

void CpuBackend::fill(Tensor& t, float value) {
  const std::int64_t n = t.numel();
  if (t.dtype() == DType::F32) {
    float* p = t.data_as<float>();
#pragma omp parallel for simd if (n >= kParallelMin)
    for (std::int64_t i = 0; i < n; ++i) p[i] = value;
    return;
  }
  const std::uint16_t bits = t.dtype() == DType::F16 ? f32_to_f16(value) : f32_to_bf16(value);
  auto* p = t.data_as<std::uint16_t>();
#pragma omp parallel for simd if (n >= kParallelMin)
  for (std::int64_t i = 0; i < n; ++i) p[i] = bits;
}

void CpuBackend::cast(const Tensor& src, Tensor& dst) {
  check_same_numel(src, dst, "cast");
  if (src.data() == dst.data() && src.dtype() == dst.dtype()) return;
  // convert() copies for equal dtypes and is threaded for large tensors.
  convert(src.data(), src.dtype(), dst.data(), dst.dtype(), std::size_t(src.numel()));
}

void CpuBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
  check_same_numel(a, b, "add");
  check_same_numel(a, out, "add");
  map_blocks<2, 1>(out.numel(), {&a, &b}, {&out}, [](auto in, auto o, std::int64_t n, auto) {
    const float* x = in[0];
    const float* y = in[1];
    float* z = o[0];
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) z[i] = x[i] + y[i];
  });
}

void CpuBackend::accumulate(const Tensor& src, Tensor& dst) {
  check_same_numel(src, dst, "accumulate");
  map_blocks<2, 1>(dst.numel(), {&src, &dst}, {&dst}, [](auto in, auto o, std::int64_t n, auto) {
    const float* s = in[0];
    const float* d = in[1];
    float* z = o[0];
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) z[i] = d[i] + s[i];
  });
}

void CpuBackend::scale(Tensor& t, float s) {
  map_blocks<1, 1>(t.numel(), {&t}, {&t}, [s](auto in, auto o, std::int64_t n, auto) {
    const float* x = in[0];
    float* z = o[0];
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) z[i] = x[i] * s;
  });
}

void CpuBackend::mul(const Tensor& a, const Tensor& b, Tensor& out) {
  check_same_numel(a, b, "mul");
  check_same_numel(a, out, "mul");
  map_blocks<2, 1>(out.numel(), {&a, &b}, {&out}, [](auto in, auto o, std::int64_t n, auto) {
    const float* x = in[0];
    const float* y = in[1];
    float* z = o[0];
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) z[i] = x[i] * y[i];
  });
}

namespace {

// The elementwise form of an activation and of its derivative, handed to
// `visit`; false for GELU, which runs in oneDNN. Comparisons are written so
// that NaN inputs stay NaN, as in PyTorch.
template <class Visit>
bool visit_forward(Activation act, float alpha, Visit&& visit) {
  switch (act) {
    case Activation::Relu: visit([](float v) { return v < 0.0f ? 0.0f : v; }); return true;
    case Activation::LeakyRelu: visit([alpha](float v) { return v < 0.0f ? alpha * v : v; }); return true;
    case Activation::Tanh: visit([](float v) { return std::tanh(v); }); return true;
    case Activation::Sigmoid: visit([](float v) { return 1.0f / (1.0f + std::exp(-v)); }); return true;
    case Activation::Gelu: return false;
  }
  return false;
}

// Each derivative reads what activation_reads_output() names: x or y.
template <class Visit>
bool visit_backward(Activation act, float alpha, Visit&& visit) {
  switch (act) {
    case Activation::Relu: visit([](float v, float g) { return v > 0.0f ? g : 0.0f; }); return true;
    case Activation::LeakyRelu:
      visit([alpha](float v, float g) { return v > 0.0f ? g : alpha * g; });
      return true;
    case Activation::Tanh: visit([](float t, float g) { return g * (1.0f - t * t); }); return true;
    case Activation::Sigmoid:
      visit([](float s, float g) { return g * s * (1.0f - s); });
      return true;
    case Activation::Gelu: return false;
  }
  return false;
}

template <class F>
auto forward_block(F f) {
  return [f](auto in, auto o, std::int64_t n, auto) {
    const float* v = in[0];
    float* z = o[0];
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) z[i] = f(v[i]);
  };
}

template <class F>
auto backward_block(F f) {
  return [f](auto in, auto o, std::int64_t n, auto) {
    const float* a = in[0];
    const float* g = in[1];
    float* z = o[0];
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) z[i] = f(a[i], g[i]);
  };
}

}  // namespace

void CpuBackend::activation_forward(Activation act, float alpha, const Tensor& x, Tensor& y) {
  check_same_numel(x, y, "activation_forward");
  const bool elementwise = visit_forward(act, alpha, [&](auto f) {
    map_blocks<1, 1>(y.numel(), {&x}, {&y}, forward_block(f));
  });
  if (!elementwise && x.numel() > 0) gelu_forward(x, y);
}

void CpuBackend::activation_forward_stats(Activation act, float alpha, const Tensor& x, Tensor& y,
                                          StatsTarget* x_stats, StatsTarget* y_stats) {
  check_same_numel(x, y, "activation_forward");
  StatsPass pass({{&x, x_stats}, {&y, y_stats}});
  const bool elementwise = !pass.empty() && visit_forward(act, alpha, [&](auto f) {
    pass.run(y.numel(), [&](std::int64_t begin, std::int64_t n) {
      map_range<1, 1>(begin, n, {&x}, {&y}, forward_block(f));
    });
  });
  if (!elementwise) activation_forward(act, alpha, x, y);
  pass.take_rest(*this);
}

void CpuBackend::activation_backward(Activation act, float alpha, const Tensor& x, const Tensor& y,
                                     const Tensor& dy, Tensor& dx) {
  check_same_numel(dy, dx, "activation_backward");
  const bool elementwise = visit_backward(act, alpha, [&](auto f) {
    const Tensor& v = activation_reads_output(act) ? y : x;
    check_same_numel(v, dx, "activation_backward");
    map_blocks<2, 1>(dx.numel(), {&v, &dy}, {&dx}, backward_block(f));
  });
  if (!elementwise) {
    check_same_numel(x, dx, "activation_backward");
    if (x.numel() > 0) gelu_backward(x, dy, dx);
  }
}

void CpuBackend::activation_backward_stats(Activation act, float alpha, const Tensor& x,
                                           const Tensor& y, const Tensor& dy, Tensor& dx,
                                           StatsTarget* dy_stats, StatsTarget* dx_stats) {
  check_same_numel(dy, dx, "activation_backward");
  StatsPass pass({{&dy, dy_stats}, {&dx, dx_stats}});
  const bool elementwise = !pass.empty() && visit_backward(act, alpha, [&](auto f) {
    const Tensor& v = activation_reads_output(act) ? y : x;
    check_same_numel(v, dx, "activation_backward");
    pass.run(dx.numel(), [&](std::int64_t begin, std::int64_t n) {
      map_range<2, 1>(begin, n, {&v, &dy}, {&dx}, backward_block(f));
    });
  });
  if (!elementwise) activation_backward(act, alpha, x, y, dy, dx);
  pass.take_rest(*this);
}

void CpuBackend::cast_stats(const Tensor& src, Tensor& dst, StatsTarget* dst_stats) {
  check_same_numel(src, dst, "cast");
  StatsPass pass({{&dst, dst_stats}});
  if (pass.empty() || (src.data() == dst.data() && src.dtype() == dst.dtype())) {
    cast(src, dst);
  } else {  // chunks stay below convert()'s own threading threshold
    pass.run(dst.numel(), [&](std::int64_t begin, std::int64_t n) {
      convert(byte_ptr(src, begin), src.dtype(), byte_ptr(dst, begin), dst.dtype(),
              std::size_t(n));
    });
  }
  pass.take_rest(*this);
}

void CpuBackend::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, float p,
                                 std::uint64_t seed_in, const Tensor* state) {
  check_same_numel(x, y, "dropout_forward");
  check_same_numel(x, mask, "dropout_forward");
  MANTISSA_ASSERT(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1)");
  const std::uint64_t seed =
      state == nullptr
          ? seed_in
          : splitmix64_at(seed_in, std::uint64_t(step_state_of(*state)->steps_taken));
  // y uses the mask value as stored, so backward (dy * mask) matches exactly.
  const float keep_scale = rounded_to(mask.dtype(), 1.0f / (1.0f - p));
  map_blocks<1, 2>(x.numel(), {&x}, {&y, &mask},
                   [=](auto in, auto o, std::int64_t n, std::int64_t begin) {
                     const float* v = in[0];
                     float* out = o[0];
                     float* m = o[1];
#pragma omp simd
                     for (std::int64_t i = 0; i < n; ++i) {
                       const bool keep = dropout_keep(seed, std::uint64_t(begin + i), p);
                       m[i] = keep ? keep_scale : 0.0f;
                       out[i] = v[i] * m[i];
                     }
                   });
}

namespace {

// Views a tensor as (outer, axis-1 size, inner) for concat / split.
struct Axis1View {
  std::int64_t outer, mid, inner;
};

Axis1View axis1_view(const Tensor& t) {
  MANTISSA_ASSERT(t.rank() >= 2, "concat/split need rank >= 2, got " + t.describe());
  std::int64_t inner = 1;
  for (std::size_t i = 2; i < t.rank(); ++i) inner *= t.dim(i);
  return {t.dim(0), t.dim(1), inner};
}

void check_axis1_compatible(const Tensor& part, const Tensor& whole) {
  bool ok = part.rank() == whole.rank() && part.dim(0) == whole.dim(0);
  for (std::size_t i = 2; ok && i < whole.rank(); ++i) ok = part.dim(i) == whole.dim(i);
  MANTISSA_ASSERT(ok, "concat/split: " + part.describe() + " does not fit " + whole.describe());
}

// Copies `count` elements between buffers, converting dtype when they differ.
void copy_elements(const void* src, DType st, void* dst, DType dt, std::int64_t count) {
  if (st == dt) {
    std::memcpy(dst, src, std::size_t(count) * dtype_size(st));
  } else {
    convert(src, st, dst, dt, std::size_t(count));
  }
}

// Moves the axis-1 slices of `parts` to / from `whole` (to_whole: concat).
template <class PartSpan>
void move_axis1(PartSpan parts, const Tensor& whole, bool to_whole) {
  const Axis1View w = axis1_view(whole);
  std::int64_t mid_total = 0;
  for (const Tensor& part : parts) {
    check_axis1_compatible(part, whole);
    mid_total += part.dim(1);
  }
  MANTISSA_ASSERT(mid_total == w.mid,
                  "concat/split: axis-1 sizes do not add up to " + whole.describe());
  const std::int64_t total = whole.numel();
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (std::int64_t n = 0; n < w.outer; ++n) {
    std::int64_t offset = 0;  // along axis 1 of whole
    for (const Tensor& part : parts) {
      const std::int64_t count = part.dim(1) * w.inner;
      const auto* part_ptr = byte_ptr(part, n * count);
      auto* whole_ptr = const_cast<std::uint8_t*>(byte_ptr(whole, (n * w.mid + offset) * w.inner));
      if (to_whole) {
        copy_elements(part_ptr, part.dtype(), whole_ptr, whole.dtype(), count);
      } else {
        copy_elements(whole_ptr, whole.dtype(), const_cast<std::uint8_t*>(part_ptr), part.dtype(),
                      count);
      }
      offset += part.dim(1);
    }
  }
}

}  // namespace

void CpuBackend::concat(std::span<const Tensor> xs, Tensor& y) {
  move_axis1(xs, y, true);
}

void CpuBackend::split(const Tensor& dy, std::span<Tensor> dxs) {
  move_axis1(dxs, dy, false);
}

}  // namespace mantissa::cpu
