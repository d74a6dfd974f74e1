// 2-D convolution on oneDNN primitives. Tensors are plain NCHW / OIHW; the
// primitives choose their own layouts (format "any": oneDNN's direct
// convolutions on blocked layouts, several times faster than im2col + GEMM on
// plain ones for small channel counts), and operands are reordered in and out
// of those layouts around each call.
#include <string>

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

struct ConvGeometry {
  std::int64_t N, C, H, W;  // input
  std::int64_t O, KH, KW;   // weights
  std::int64_t OH, OW;      // output
};

ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Tensor& y,
                           const Conv2dParams& p) {
  MANTISSA_ASSERT(
      x.rank() == 4 && w.rank() == 4 && y.rank() == 4,
      "conv2d needs 4-D tensors, got " + x.describe() + ", " + w.describe() + ", " + y.describe());
  MANTISSA_ASSERT(p.stride_h >= 1 && p.stride_w >= 1 && p.pad_h >= 0 && p.pad_w >= 0,
                  "conv2d: strides must be >= 1 and padding >= 0");
  ConvGeometry g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0),
                 w.dim(2), w.dim(3), y.dim(2), y.dim(3)};
  const bool ok = w.dim(1) == g.C && y.dim(0) == g.N && y.dim(1) == g.O &&
                  g.OH == (g.H + 2 * p.pad_h - g.KH) / p.stride_h + 1 &&
                  g.OW == (g.W + 2 * p.pad_w - g.KW) / p.stride_w + 1 &&
                  g.H + 2 * p.pad_h >= g.KH && g.W + 2 * p.pad_w >= g.KW;
  MANTISSA_ASSERT(ok, "conv2d shapes do not agree: x " + x.describe() + ", w " + w.describe() +
                          ", y " + y.describe());
  return g;
}

// Descriptors of one convolution in a given dtype. Right padding equals left
// padding: oneDNN floors the output size just like conv_geometry does.
dnnl::memory::desc any_md(const dnnl_dims& dims, dnnl_dt dt) {
  return dnnl::memory::desc(dims, dt, dnnl::memory::format_tag::any);
}

struct ConvDescs {
  // Plain layouts (the tensors') and "any" (what the primitives are built on).
  dnnl::memory::desc src, weights, diff_weights, bias, dst;
  dnnl::memory::desc src_any, weights_any, diff_weights_any, dst_any;
  dnnl_dims strides, pad;

  ConvDescs(const ConvGeometry& g, const Conv2dParams& p, DType t)
      : src(plain_md({g.N, g.C, g.H, g.W}, dnnl_type(t))),
        weights(plain_md({g.O, g.C, g.KH, g.KW}, dnnl_type(t))),
        diff_weights(plain_md({g.O, g.C, g.KH, g.KW}, dnnl_dt::f32)),
        bias(plain_md({g.O}, dnnl_dt::f32)),
        dst(plain_md({g.N, g.O, g.OH, g.OW}, dnnl_type(t))),
        src_any(any_md({g.N, g.C, g.H, g.W}, dnnl_type(t))),
        weights_any(any_md({g.O, g.C, g.KH, g.KW}, dnnl_type(t))),
        diff_weights_any(any_md({g.O, g.C, g.KH, g.KW}, dnnl_dt::f32)),
        dst_any(any_md({g.N, g.O, g.OH, g.OW}, dnnl_type(t))),
        strides{p.stride_h, p.stride_w},
        pad{p.pad_h, p.pad_w} {}

  dnnl::convolution_forward::primitive_desc forward(const dnnl::engine& e, bool with_bias,
                                                    bool allow_empty = true) const {
    const auto d =
        with_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                    dnnl::algorithm::convolution_direct, src_any,
                                                    weights_any, bias, dst_any, strides, pad, pad)
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                    dnnl::algorithm::convolution_direct, src_any,
                                                    weights_any, dst_any, strides, pad, pad);
    return dnnl::convolution_forward::primitive_desc(d, DnnlContext::attr(), e, allow_empty);
  }
};

PrimitiveKey conv_key(PrimitiveOp op, const ConvGeometry& g, const Conv2dParams& p, DType t,
                      bool with_bias) {
  return PrimitiveKey(op, {g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.OH, g.OW, p.stride_h, p.stride_w,
                           p.pad_h, p.pad_w, std::int64_t(t), with_bias});
}

}  // namespace

void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                                const Conv2dParams& p) {
  const ConvGeometry g = conv_geometry(x, w, y, p);
  MANTISSA_ASSERT(x.dtype() == w.dtype() && x.dtype() == y.dtype(),
                  "conv2d_forward: x, w and y must share a dtype");
  const bool with_bias = bias != nullptr;
  if (with_bias) {
    MANTISSA_ASSERT(bias->dtype() == DType::F32 && bias->numel() == g.O,
                    "conv2d_forward: bias must be f32 with one value per output channel");
  }
  const void* bias_data = with_bias ? bias->data() : nullptr;
  if (y.numel() == 0) return;

  auto lock = dnnl_.lock();
  auto get = [&](DType t) {
    return dnnl_.find_or_make(conv_key(PrimitiveOp::ConvForward, g, p, t, with_bias), [&] {
      return dnnl::primitive_desc(ConvDescs(g, p, t).forward(dnnl_.engine(), with_bias));
    });
  };
  auto run = [&](const CachedPrimitive& prim, DType t, const void* xd, const void* wd,
                 const void* yd) {
    const ConvDescs d(g, p, t);
    const void* xs = dnnl_.relayout_in(prim, DNNL_ARG_SRC, 0, xd, d.src);
    const void* ws = dnnl_.relayout_in(prim, DNNL_ARG_WEIGHTS, 1, wd, d.weights);
    void* ys = dnnl_.output_buffer(prim, DNNL_ARG_DST, 2, const_cast<void*>(yd), d.dst);
    if (with_bias) {
      dnnl_.execute(prim, {{DNNL_ARG_SRC, xs},
                           {DNNL_ARG_WEIGHTS, ws},
                           {DNNL_ARG_BIAS, bias_data},
                           {DNNL_ARG_DST, ys}});
    } else {
      dnnl_.execute(prim, {{DNNL_ARG_SRC, xs}, {DNNL_ARG_WEIGHTS, ws}, {DNNL_ARG_DST, ys}});
    }
    dnnl_.relayout_out(prim, DNNL_ARG_DST, ys, const_cast<void*>(yd), d.dst);
  };
  if (native(x.dtype())) {
    if (const CachedPrimitive* prim = get(x.dtype())) {
      run(*prim, x.dtype(), x.data(), w.data(), y.data());
      return;
    }
  }
  // fp16 (and bf16 without AVX-512): fp32 convolution on converted copies,
  // result rounded to y's dtype.
  const CachedPrimitive* prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 convolution for " + x.describe());
  float* y32 = staged_output(dnnl_, 2, y);
  run(*prim, DType::F32, staged_input(dnnl_, 0, x), staged_input(dnnl_, 1, w), y32);
  finish_output(y32, y);
}

void CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                      const Conv2dParams& p) {
  const ConvGeometry g = conv_geometry(dx, w, dy, p);
  MANTISSA_ASSERT(dy.dtype() == w.dtype() && dy.dtype() == dx.dtype(),
                  "conv2d_backward_data: dy, w and dx must share a dtype");
  if (dx.numel() == 0) return;

  auto lock = dnnl_.lock();
  auto get = [&](DType t) {
    return dnnl_.find_or_make(conv_key(PrimitiveOp::ConvBackwardData, g, p, t, false), [&] {
      const ConvDescs d(g, p, t);
      const auto hint = d.forward(dnnl_.engine(), false);
      if (!hint) return dnnl::primitive_desc();
      const dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, d.src_any,
                                                     d.weights_any, d.dst_any, d.strides, d.pad,
                                                     d.pad);
      return dnnl::primitive_desc(dnnl::convolution_backward_data::primitive_desc(
          bd, DnnlContext::attr(), dnnl_.engine(), hint, /*allow_empty=*/true));
    });
  };
  auto run = [&](const CachedPrimitive& prim, DType t, const void* dyd, const void* wd,
                 const void* dxd) {
    const ConvDescs d(g, p, t);
    const void* dys = dnnl_.relayout_in(prim, DNNL_ARG_DIFF_DST, 0, dyd, d.dst);
    const void* ws = dnnl_.relayout_in(prim, DNNL_ARG_WEIGHTS, 1, wd, d.weights);
    void* dxs = dnnl_.output_buffer(prim, DNNL_ARG_DIFF_SRC, 2, const_cast<void*>(dxd), d.src);
    dnnl_.execute(prim,
                  {{DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_WEIGHTS, ws}, {DNNL_ARG_DIFF_SRC, dxs}});
    dnnl_.relayout_out(prim, DNNL_ARG_DIFF_SRC, dxs, const_cast<void*>(dxd), d.src);
  };
  if (native(dx.dtype())) {
    if (const CachedPrimitive* prim = get(dx.dtype())) {
      run(*prim, dx.dtype(), dy.data(), w.data(), dx.data());
      return;
    }
  }
  const CachedPrimitive* prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 convolution backward for " + dx.describe());
  float* dx32 = staged_output(dnnl_, 2, dx);
  run(*prim, DType::F32, staged_input(dnnl_, 0, dy), staged_input(dnnl_, 1, w), dx32);
  finish_output(dx32, dx);
}

void CpuBackend::conv2d_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dw,
                                         Tensor* dbias, const Conv2dParams& p) {
  const ConvGeometry g = conv_geometry(x, dw, dy, p);
  MANTISSA_ASSERT(x.dtype() == dy.dtype(), "conv2d_backward_weights: x and dy must share a dtype");
  MANTISSA_ASSERT(dw.dtype() == DType::F32, "conv2d_backward_weights: dw must be f32");
  const bool with_bias = dbias != nullptr;
  if (with_bias) {
    MANTISSA_ASSERT(dbias->dtype() == DType::F32 && dbias->numel() == g.O,
                    "conv2d_backward_weights: dbias must be f32 with one value per channel");
  }
  if (dy.numel() == 0 || x.numel() == 0) {
    fill(dw, 0.0f);
    if (with_bias) fill(*dbias, 0.0f);
    return;
  }

  auto lock = dnnl_.lock();
  auto get = [&](DType t) {
    return dnnl_.find_or_make(conv_key(PrimitiveOp::ConvBackwardWeights, g, p, t, with_bias), [&] {
      const ConvDescs d(g, p, t);
      const auto hint = d.forward(dnnl_.engine(), with_bias);
      if (!hint) return dnnl::primitive_desc();
      using BwdW = dnnl::convolution_backward_weights;
      const auto algo = dnnl::algorithm::convolution_direct;
      const BwdW::desc bd = with_bias ? BwdW::desc(algo, d.src_any, d.diff_weights_any, d.bias,
                                                   d.dst_any, d.strides, d.pad, d.pad)
                                      : BwdW::desc(algo, d.src_any, d.diff_weights_any, d.dst_any,
                                                   d.strides, d.pad, d.pad);
      return dnnl::primitive_desc(BwdW::primitive_desc(bd, DnnlContext::attr(), dnnl_.engine(),
                                                       hint,
                                                       /*allow_empty=*/true));
    });
  };
  auto run = [&](const CachedPrimitive& prim, DType t, const void* xd, const void* dyd) {
    const ConvDescs d(g, p, t);
    void* dwd = const_cast<void*>(dw.data());
    const void* xs = dnnl_.relayout_in(prim, DNNL_ARG_SRC, 0, xd, d.src);
    const void* dys = dnnl_.relayout_in(prim, DNNL_ARG_DIFF_DST, 1, dyd, d.dst);
    void* dws = dnnl_.output_buffer(prim, DNNL_ARG_DIFF_WEIGHTS, 2, dwd, d.diff_weights);
    if (with_bias) {
      dnnl_.execute(prim, {{DNNL_ARG_SRC, xs},
                           {DNNL_ARG_DIFF_DST, dys},
                           {DNNL_ARG_DIFF_WEIGHTS, dws},
                           {DNNL_ARG_DIFF_BIAS, dbias->data()}});
    } else {
      dnnl_.execute(prim,
                    {{DNNL_ARG_SRC, xs}, {DNNL_ARG_DIFF_DST, dys}, {DNNL_ARG_DIFF_WEIGHTS, dws}});
    }
    dnnl_.relayout_out(prim, DNNL_ARG_DIFF_WEIGHTS, dws, dwd, d.diff_weights);
  };
  // bf16 natively takes bf16 x and dy and produces fp32 dw / dbias.
  if (native(x.dtype())) {
    if (const CachedPrimitive* prim = get(x.dtype())) {
      run(*prim, x.dtype(), x.data(), dy.data());
      return;
    }
  }
  const CachedPrimitive* prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 convolution backward for " + x.describe());
  run(*prim, DType::F32, staged_input(dnnl_, 0, x), staged_input(dnnl_, 1, dy));
}

}  // namespace mantissa::cpu
