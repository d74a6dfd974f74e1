// 2-D convolution on oneDNN primitives, in plain NCHW / OIHW layouts.
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
struct ConvDescs {
  dnnl::memory::desc src, weights, diff_weights, bias, dst;
  dnnl_dims strides, pad;

  ConvDescs(const ConvGeometry& g, const Conv2dParams& p, DType t)
      : src(plain_md({g.N, g.C, g.H, g.W}, dnnl_type(t))),
        weights(plain_md({g.O, g.C, g.KH, g.KW}, dnnl_type(t))),
        diff_weights(plain_md({g.O, g.C, g.KH, g.KW}, dnnl_dt::f32)),
        bias(plain_md({g.O}, dnnl_dt::f32)),
        dst(plain_md({g.N, g.O, g.OH, g.OW}, dnnl_type(t))),
        strides{p.stride_h, p.stride_w},
        pad{p.pad_h, p.pad_w} {}

  dnnl::convolution_forward::primitive_desc forward(const dnnl::engine& e, bool with_bias,
                                                    bool allow_empty = true) const {
    const auto d = with_bias
                       ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                         dnnl::algorithm::convolution_direct, src,
                                                         weights, bias, dst, strides, pad, pad)
                       : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                         dnnl::algorithm::convolution_direct, src,
                                                         weights, dst, strides, pad, pad);
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
  auto run = [&](const CachedPrimitive& prim, const void* xd, const void* wd, const void* yd) {
    if (with_bias) {
      dnnl_.execute(prim, {{DNNL_ARG_SRC, xd},
                           {DNNL_ARG_WEIGHTS, wd},
                           {DNNL_ARG_BIAS, bias_data},
                           {DNNL_ARG_DST, yd}});
    } else {
      dnnl_.execute(prim, {{DNNL_ARG_SRC, xd}, {DNNL_ARG_WEIGHTS, wd}, {DNNL_ARG_DST, yd}});
    }
  };
  if (native(x.dtype())) {
    if (const CachedPrimitive* prim = get(x.dtype())) {
      run(*prim, x.data(), w.data(), y.data());
      return;
    }
  }
  // fp16 (and bf16 without AVX-512): fp32 convolution on converted copies,
  // result rounded to y's dtype.
  const CachedPrimitive* prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 convolution for " + x.describe());
  float* y32 = staged_output(dnnl_, 2, y);
  run(*prim, staged_input(dnnl_, 0, x), staged_input(dnnl_, 1, w), y32);
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
      const dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, d.src,
                                                     d.weights, d.dst, d.strides, d.pad, d.pad);
      return dnnl::primitive_desc(dnnl::convolution_backward_data::primitive_desc(
          bd, DnnlContext::attr(), dnnl_.engine(), hint, /*allow_empty=*/true));
    });
  };
  if (native(dx.dtype())) {
    if (const CachedPrimitive* prim = get(dx.dtype())) {
      dnnl_.execute(*prim, {{DNNL_ARG_DIFF_DST, dy.data()},
                            {DNNL_ARG_WEIGHTS, w.data()},
                            {DNNL_ARG_DIFF_SRC, dx.data()}});
      return;
    }
  }
  const CachedPrimitive* prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 convolution backward for " + dx.describe());
  float* dx32 = staged_output(dnnl_, 2, dx);
  dnnl_.execute(*prim, {{DNNL_ARG_DIFF_DST, staged_input(dnnl_, 0, dy)},
                        {DNNL_ARG_WEIGHTS, staged_input(dnnl_, 1, w)},
                        {DNNL_ARG_DIFF_SRC, dx32}});
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
      const BwdW::desc bd =
          with_bias
              ? BwdW::desc(algo, d.src, d.diff_weights, d.bias, d.dst, d.strides, d.pad, d.pad)
              : BwdW::desc(algo, d.src, d.diff_weights, d.dst, d.strides, d.pad, d.pad);
      return dnnl::primitive_desc(BwdW::primitive_desc(bd, DnnlContext::attr(), dnnl_.engine(),
                                                       hint,
                                                       /*allow_empty=*/true));
    });
  };
  auto run = [&](const CachedPrimitive& prim, const void* xd, const void* dyd) {
    if (with_bias) {
      dnnl_.execute(prim, {{DNNL_ARG_SRC, xd},
                           {DNNL_ARG_DIFF_DST, dyd},
                           {DNNL_ARG_DIFF_WEIGHTS, dw.data()},
                           {DNNL_ARG_DIFF_BIAS, dbias->data()}});
    } else {
      dnnl_.execute(
          prim, {{DNNL_ARG_SRC, xd}, {DNNL_ARG_DIFF_DST, dyd}, {DNNL_ARG_DIFF_WEIGHTS, dw.data()}});
    }
  };
  // bf16 natively takes bf16 x and dy and produces fp32 dw / dbias.
  if (native(x.dtype())) {
    if (const CachedPrimitive* prim = get(x.dtype())) {
      run(*prim, x.data(), dy.data());
      return;
    }
  }
  const CachedPrimitive* prim = get(DType::F32);
  MANTISSA_ASSERT(prim != nullptr, "oneDNN has no f32 convolution backward for " + x.describe());
  run(*prim, staged_input(dnnl_, 0, x), staged_input(dnnl_, 1, dy));
}

}  // namespace mantissa::cpu
