// Max and average pooling on oneDNN primitives. Max pooling keeps oneDNN's
// workspace (where each maximum came from) in a tensor the caller holds
// between forward and backward.
#include <string>

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

struct PoolGeometry {
  std::int64_t N, C, H, W, OH, OW;
};

PoolGeometry pool_geometry(const Tensor& x, const Tensor& y, const Pool2dParams& p) {
  MANTISSA_ASSERT(x.rank() == 4 && y.rank() == 4,
                  "pool2d needs 4-D tensors, got " + x.describe() + " and " + y.describe());
  MANTISSA_ASSERT(p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1 &&
                      p.pad_h >= 0 && p.pad_w >= 0 && p.pad_h < p.kernel_h && p.pad_w < p.kernel_w,
                  "pool2d: kernel and stride must be >= 1 and padding smaller than the kernel");
  PoolGeometry g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3)};
  const bool ok = y.dim(0) == g.N && y.dim(1) == g.C && g.H + 2 * p.pad_h >= p.kernel_h &&
                  g.W + 2 * p.pad_w >= p.kernel_w &&
                  g.OH == (g.H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1 &&
                  g.OW == (g.W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  MANTISSA_ASSERT(ok, "pool2d shapes do not agree: x " + x.describe() + ", y " + y.describe());
  return g;
}

dnnl::algorithm pool_algorithm(PoolKind kind) {
  return kind == PoolKind::Max ? dnnl::algorithm::pooling_max
                               : dnnl::algorithm::pooling_avg_exclude_padding;
}

dnnl::pooling_forward::primitive_desc pool_forward_pd(const dnnl::engine& e, PoolKind kind,
                                                      const PoolGeometry& g, const Pool2dParams& p,
                                                      DType t) {
  const dnnl::pooling_forward::desc d(
      dnnl::prop_kind::forward_training, pool_algorithm(kind),
      plain_md({g.N, g.C, g.H, g.W}, dnnl_type(t)), plain_md({g.N, g.C, g.OH, g.OW}, dnnl_type(t)),
      {p.stride_h, p.stride_w}, {p.kernel_h, p.kernel_w}, {p.pad_h, p.pad_w}, {p.pad_h, p.pad_w});
  return dnnl::pooling_forward::primitive_desc(d, DnnlContext::attr(), e, /*allow_empty=*/true);
}

PrimitiveKey pool_key(PrimitiveOp op, PoolKind kind, const PoolGeometry& g, const Pool2dParams& p,
                      DType t) {
  return PrimitiveKey(op, {std::int64_t(kind), g.N, g.C, g.H, g.W, g.OH, g.OW, p.kernel_h,
                           p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w, std::int64_t(t)});
}

}  // namespace

void CpuBackend::pool2d_forward(PoolKind kind, const Tensor& x, Tensor& y, Tensor& workspace,
                                const Pool2dParams& p) {
  const PoolGeometry g = pool_geometry(x, y, p);
  MANTISSA_ASSERT(x.dtype() == y.dtype(), "pool2d_forward: x and y must share a dtype");
  if (y.numel() == 0) return;

  auto lock = dnnl_.lock();
  auto get = [&](DType t) {
    return dnnl_.find_or_make(pool_key(PrimitiveOp::PoolForward, kind, g, p, t), [&] {
      return dnnl::primitive_desc(pool_forward_pd(dnnl_.engine(), kind, g, p, t));
    });
  };
  const CachedPrimitive* prim = native(x.dtype()) ? get(x.dtype()) : nullptr;
  const bool staged = prim == nullptr;
  if (staged) {
    // fp16 (and bf16 without AVX-512) pools in fp32; max pooling is exact
    // that way and average pooling rounds once, at the end.
    prim = get(DType::F32);
    MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 pooling for " + x.describe());
  }

  const std::size_t ws_bytes = prim->workspace.get_size();
  if (ws_bytes > 0 &&
      (!workspace.defined() || workspace.bytes() < ws_bytes || &workspace.backend() != this)) {
    // A tensor like any other, so the bytes show in the memory statistics;
    // callers that keep it between steps get it reused.
    workspace = Tensor::empty(*this, Shape{std::int64_t((ws_bytes + 3) / 4)}, DType::F32);
  }
  const void* ws = ws_bytes > 0 ? workspace.data() : nullptr;

  const void* xd = staged ? staged_input(dnnl_, 0, x) : x.data();
  float* y32 = staged ? staged_output(dnnl_, 1, y) : nullptr;
  const void* yd = staged ? static_cast<const void*>(y32) : y.data();
  if (ws != nullptr) {
    dnnl_.execute(*prim, {{DNNL_ARG_SRC, xd}, {DNNL_ARG_DST, yd}, {DNNL_ARG_WORKSPACE, ws}});
  } else {
    dnnl_.execute(*prim, {{DNNL_ARG_SRC, xd}, {DNNL_ARG_DST, yd}});
  }
  if (staged) finish_output(y32, y);
}

void CpuBackend::pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& y, const Tensor& dy,
                                 const Tensor& workspace, Tensor& dx, const Pool2dParams& p) {
  const PoolGeometry g = pool_geometry(x, y, p);
  MANTISSA_ASSERT(dy.shape() == y.shape() && dx.shape() == x.shape(),
                  "pool2d_backward: dy / dx must have y's / x's shape");
  MANTISSA_ASSERT(dy.dtype() == dx.dtype(), "pool2d_backward: dy and dx must share a dtype");
  if (dx.numel() == 0) return;
  if (dy.numel() == 0) {
    fill(dx, 0.0f);
    return;
  }

  auto lock = dnnl_.lock();
  auto get = [&](DType t) {
    return dnnl_.find_or_make(pool_key(PrimitiveOp::PoolBackward, kind, g, p, t), [&] {
      const auto hint = pool_forward_pd(dnnl_.engine(), kind, g, p, t);
      if (!hint) return dnnl::primitive_desc();
      const dnnl::pooling_backward::desc d(
          pool_algorithm(kind), plain_md({g.N, g.C, g.H, g.W}, dnnl_type(t)),
          plain_md({g.N, g.C, g.OH, g.OW}, dnnl_type(t)), {p.stride_h, p.stride_w},
          {p.kernel_h, p.kernel_w}, {p.pad_h, p.pad_w}, {p.pad_h, p.pad_w});
      return dnnl::primitive_desc(dnnl::pooling_backward::primitive_desc(
          d, DnnlContext::attr(), dnnl_.engine(), hint, /*allow_empty=*/true));
    });
  };
  // The same dtype decision as the forward pass, so the workspace layouts match.
  const CachedPrimitive* prim = native(dx.dtype()) ? get(dx.dtype()) : nullptr;
  const bool staged = prim == nullptr;
  if (staged) {
    prim = get(DType::F32);
    MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 pooling backward for " + x.describe());
  }
  const std::size_t ws_bytes = prim->workspace.get_size();
  MANTISSA_ASSERT(ws_bytes == 0 || (workspace.defined() && workspace.bytes() >= ws_bytes),
                  "pool2d_backward: max pooling needs the workspace its forward pass filled");

  const void* dyd = staged ? staged_input(dnnl_, 0, dy) : dy.data();
  float* dx32 = staged ? staged_output(dnnl_, 1, dx) : nullptr;
  const void* dxd = staged ? static_cast<const void*>(dx32) : dx.data();
  if (ws_bytes > 0) {
    dnnl_.execute(*prim, {{DNNL_ARG_DIFF_DST, dyd},
                          {DNNL_ARG_DIFF_SRC, dxd},
                          {DNNL_ARG_WORKSPACE, workspace.data()}});
  } else {
    dnnl_.execute(*prim, {{DNNL_ARG_DIFF_DST, dyd}, {DNNL_ARG_DIFF_SRC, dxd}});
  }
  if (staged) finish_output(dx32, dx);
}

}  // namespace mantissa::cpu
