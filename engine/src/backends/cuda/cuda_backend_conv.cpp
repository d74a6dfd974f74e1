// Convolution on cuDNN (cudnn_conv.hpp) with the bias as the backend's own
// kernel; pooling with the backend's own kernels (pool.cu).
#include <string>

#include "backends/cuda/bias.cuh"
#include "backends/cuda/cast.cuh"
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cudnn_conv.hpp"
#include "backends/cuda/fill.cuh"
#include "backends/cuda/pool.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dParams& p) {
  MANTISSA_ASSERT(
      x.rank() == 4 && w.rank() == 4 && y.rank() == 4,
      "conv2d needs 4-D tensors, got " + x.describe() + ", " + w.describe() + ", " + y.describe());
  MANTISSA_ASSERT(p.stride_h >= 1 && p.stride_w >= 1 && p.pad_h >= 0 && p.pad_w >= 0,
                  "conv2d: strides must be >= 1 and padding >= 0");
  ConvShape s{x.dim(0), x.dim(1), x.dim(2),   x.dim(3),   w.dim(0), w.dim(2), w.dim(3),
              y.dim(2), y.dim(3), p.stride_h, p.stride_w, p.pad_h,  p.pad_w};
  const bool ok = w.dim(1) == s.C && y.dim(0) == s.N && y.dim(1) == s.O &&
                  s.OH == (s.H + 2 * p.pad_h - s.KH) / p.stride_h + 1 &&
                  s.OW == (s.W + 2 * p.pad_w - s.KW) / p.stride_w + 1 &&
                  s.H + 2 * p.pad_h >= s.KH && s.W + 2 * p.pad_w >= s.KW;
  MANTISSA_ASSERT(ok, "conv2d shapes do not agree: x " + x.describe() + ", w " + w.describe() +
                          ", y " + y.describe());
  return s;
}

}  // namespace

void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                                 const Conv2dParams& p) {
  const ConvShape s = conv_shape(x, w, y, p);
  MANTISSA_ASSERT(x.dtype() == w.dtype() && x.dtype() == y.dtype(),
                  "conv2d_forward: x, w and y must share a dtype");
  if (bias != nullptr) {
    MANTISSA_ASSERT(bias->dtype() == DType::F32 && bias->numel() == s.O,
                    "conv2d_forward: bias must be f32 with one value per output channel");
  }
  if (y.numel() == 0) return;
  enter();
  if (x.numel() == 0 || w.numel() == 0) {
    launch_fill(y.data(), y.dtype(), y.numel(), 0.0f, stream());
  } else {
    conv_plans().forward(s, x.dtype(), x.data(), w.data(), y.data());
  }
  if (bias != nullptr) {
    launch_bias_add(y.data(), y.dtype(), bias->data_as<const float>(), s.N, s.O, s.OH * s.OW,
                    stream());
  }
}

void CudaBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                       const Conv2dParams& p) {
  const ConvShape s = conv_shape(dx, w, dy, p);
  MANTISSA_ASSERT(dy.dtype() == w.dtype() && dy.dtype() == dx.dtype(),
                  "conv2d_backward_data: dy, w and dx must share a dtype");
  if (dx.numel() == 0) return;
  enter();
  if (dy.numel() == 0 || w.numel() == 0) {
    launch_fill(dx.data(), dx.dtype(), dx.numel(), 0.0f, stream());
    return;
  }
  conv_plans().backward_data(s, dx.dtype(), dy.data(), w.data(), dx.data());
}

void CudaBackend::conv2d_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dw,
                                          Tensor* dbias, const Conv2dParams& p) {
  const ConvShape s = conv_shape(x, dw, dy, p);
  MANTISSA_ASSERT(x.dtype() == dy.dtype(), "conv2d_backward_weights: x and dy must share a dtype");
  MANTISSA_ASSERT(dw.dtype() == DType::F32, "conv2d_backward_weights: dw must be f32");
  if (dbias != nullptr) {
    MANTISSA_ASSERT(dbias->dtype() == DType::F32 && dbias->numel() == s.O,
                    "conv2d_backward_weights: dbias must be f32 with one value per channel");
  }
  enter();
  if (dy.numel() == 0 || x.numel() == 0) {
    launch_fill(dw.data(), DType::F32, dw.numel(), 0.0f, stream());
    if (dbias != nullptr) launch_fill(dbias->data(), DType::F32, dbias->numel(), 0.0f, stream());
    return;
  }
  if (dw.numel() > 0) {
    if (x.dtype() == DType::F32) {
      conv_plans().backward_filter(s, DType::F32, x.data_as<const float>(),
                                   dy.data_as<const float>(), dw.data_as<float>());
    } else {
      // fp32 copies of the 16-bit operands (exact), for an fp32 weight gradient.
      DeviceBuffer x32 = scratch(std::size_t(x.numel()) * 4);
      DeviceBuffer dy32 = scratch(std::size_t(dy.numel()) * 4);
      launch_cast(x.data(), x.dtype(), x32.get(), DType::F32, x.numel(), stream());
      launch_cast(dy.data(), dy.dtype(), dy32.get(), DType::F32, dy.numel(), stream());
      conv_plans().backward_filter(s, x.dtype(), x32.as<const float>(), dy32.as<const float>(),
                                   dw.data_as<float>());
    }
  }
  if (dbias != nullptr) {
    launch_bias_grad(dy.data(), dy.dtype(), dbias->data_as<float>(), s.N, s.O, s.OH * s.OW, 0.0f,
                     stream());
  }
}

namespace {

PoolGeometry pool_geometry(const Tensor& x, const Tensor& y, const Pool2dParams& p) {
  MANTISSA_ASSERT(x.rank() == 4 && y.rank() == 4,
                  "pool2d needs 4-D tensors, got " + x.describe() + " and " + y.describe());
  MANTISSA_ASSERT(p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1 &&
                      p.pad_h >= 0 && p.pad_w >= 0 && p.pad_h < p.kernel_h && p.pad_w < p.kernel_w,
                  "pool2d: kernel and stride must be >= 1 and padding smaller than the kernel");
  PoolGeometry g{x.dim(0),   x.dim(1),   x.dim(2),   x.dim(3),   y.dim(2), y.dim(3),
                 p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h,  p.pad_w};
  const bool ok = y.dim(0) == g.N && y.dim(1) == g.C && g.H + 2 * p.pad_h >= p.kernel_h &&
                  g.W + 2 * p.pad_w >= p.kernel_w &&
                  g.OH == (g.H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1 &&
                  g.OW == (g.W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  MANTISSA_ASSERT(ok, "pool2d shapes do not agree: x " + x.describe() + ", y " + y.describe());
  MANTISSA_ASSERT(g.H * g.W <= 0x7FFFFFFF, "pool2d: input planes must have < 2^31 elements");
  return g;
}

}  // namespace

void CudaBackend::pool2d_forward(PoolKind kind, const Tensor& x, Tensor& y, Tensor& workspace,
                                 const Pool2dParams& p) {
  const PoolGeometry g = pool_geometry(x, y, p);
  MANTISSA_ASSERT(x.dtype() == y.dtype(), "pool2d_forward: x and y must share a dtype");
  if (y.numel() == 0) return;
  const bool max_pool = kind == PoolKind::Max;
  if (max_pool) {
    // The argmax, one int32 per output, in a tensor like any other so its
    // bytes show in the memory statistics; callers that keep it reuse it.
    const auto needed = std::size_t(y.numel()) * 4;
    if (!workspace.defined() || workspace.bytes() < needed || &workspace.backend() != this)
      workspace = Tensor::empty(*this, Shape{y.numel()}, DType::F32);
  }
  enter();
  launch_pool_forward(max_pool, x.data(), y.data(),
                      max_pool ? static_cast<std::int32_t*>(workspace.data()) : nullptr, x.dtype(),
                      g, stream());
}

void CudaBackend::pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& y, const Tensor& dy,
                                  const Tensor& workspace, Tensor& dx, const Pool2dParams& p) {
  const PoolGeometry g = pool_geometry(x, y, p);
  MANTISSA_ASSERT(dy.shape() == y.shape() && dx.shape() == x.shape(),
                  "pool2d_backward: dy / dx must have y's / x's shape");
  MANTISSA_ASSERT(dy.dtype() == dx.dtype(), "pool2d_backward: dy and dx must share a dtype");
  if (dx.numel() == 0) return;
  enter();
  if (dy.numel() == 0) {
    launch_fill(dx.data(), dx.dtype(), dx.numel(), 0.0f, stream());
    return;
  }
  const bool max_pool = kind == PoolKind::Max;
  MANTISSA_ASSERT(
      !max_pool || (workspace.defined() && workspace.bytes() >= std::size_t(y.numel()) * 4 &&
                    &workspace.backend() == this),
      "pool2d_backward: max pooling needs the workspace its forward pass filled");
  launch_pool_backward(max_pool, dy.data(),
                       max_pool ? static_cast<const std::int32_t*>(workspace.data()) : nullptr,
                       dx.data(), dx.dtype(), g, stream());
}

}  // namespace mantissa::cuda
