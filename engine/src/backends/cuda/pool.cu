#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/pool.cuh"

namespace mantissa::cuda {

namespace {

__device__ inline std::int64_t max64(std::int64_t a, std::int64_t b) {
  return a > b ? a : b;
}
__device__ inline std::int64_t min64(std::int64_t a, std::int64_t b) {
  return a < b ? a : b;
}

template <class T, bool Max>
__global__ void pool_forward_kernel(const typename T::raw* x, typename T::raw* y,
                                    std::int32_t* argmax, PoolGeometry g) {
  const std::int64_t total = g.N * g.C * g.OH * g.OW;
  for (std::int64_t o = global_index(); o < total; o += global_stride()) {
    const std::int64_t ow = o % g.OW;
    const std::int64_t oh = (o / g.OW) % g.OH;
    const std::int64_t plane = o / (g.OW * g.OH);  // n * C + c
    const typename T::raw* xp = x + plane * g.H * g.W;
    const std::int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const std::int64_t h_begin = max64(h0, 0), h_end = min64(h0 + g.kh, g.H);
    const std::int64_t w_begin = max64(w0, 0), w_end = min64(w0 + g.kw, g.W);
    if (Max) {
      float best = 0.0f;
      std::int32_t best_at = -1;
      for (std::int64_t h = h_begin; h < h_end; ++h) {
        for (std::int64_t w = w_begin; w < w_end; ++w) {
          const float v = T::load(xp, h * g.W + w);
          // The first maximum wins; a NaN, once taken, is kept (it propagates).
          if (best_at < 0 || v > best || (v != v && best == best)) {
            best = v;
            best_at = std::int32_t(h * g.W + w);
          }
        }
      }
      T::store(y, o, best);
      argmax[o] = best_at;
    } else {
      float sum = 0.0f;
      for (std::int64_t h = h_begin; h < h_end; ++h)
        for (std::int64_t w = w_begin; w < w_end; ++w) sum += T::load(xp, h * g.W + w);
      const float count = float((h_end - h_begin) * (w_end - w_begin));
      T::store(y, o, sum / count);
    }
  }
}

template <class T, bool Max>
__global__ void pool_backward_kernel(const typename T::raw* dy, const std::int32_t* argmax,
                                     typename T::raw* dx, PoolGeometry g) {
  const std::int64_t total = g.N * g.C * g.H * g.W;
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    const std::int64_t w = i % g.W;
    const std::int64_t h = (i / g.W) % g.H;
    const std::int64_t plane = i / (g.W * g.H);
    const std::int64_t out_plane = plane * g.OH * g.OW;
    // Outputs whose window covers (h, w): oh * sh - ph <= h < oh * sh - ph + kh.
    const std::int64_t hp = h + g.ph, wp = w + g.pw;
    const std::int64_t oh_begin = hp >= g.kh ? (hp - g.kh) / g.sh + 1 : 0;
    const std::int64_t oh_end = min64(hp / g.sh + 1, g.OH);
    const std::int64_t ow_begin = wp >= g.kw ? (wp - g.kw) / g.sw + 1 : 0;
    const std::int64_t ow_end = min64(wp / g.sw + 1, g.OW);
    const std::int32_t self = std::int32_t(h * g.W + w);
    float sum = 0.0f;
    for (std::int64_t oh = oh_begin; oh < oh_end; ++oh) {
      for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) {
        const std::int64_t o = out_plane + oh * g.OW + ow;
        if (Max) {
          if (argmax[o] == self) sum += T::load(dy, o);
        } else {
          const std::int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
          const std::int64_t rows = min64(h0 + g.kh, g.H) - max64(h0, 0);
          const std::int64_t cols = min64(w0 + g.kw, g.W) - max64(w0, 0);
          sum += T::load(dy, o) / float(rows * cols);
        }
      }
    }
    T::store(dx, i, sum);
  }
}

}  // namespace

void launch_pool_forward(bool max_pool, const void* x, void* y, std::int32_t* argmax, DType dtype,
                         const PoolGeometry& g, cudaStream_t stream) {
  const std::int64_t total = g.N * g.C * g.OH * g.OW;
  if (total <= 0) return;
  with_storage(dtype, [&](auto t) {
    using T = decltype(t);
    const auto* xp = static_cast<const typename T::raw*>(x);
    auto* yp = static_cast<typename T::raw*>(y);
    if (max_pool) {
      pool_forward_kernel<T, true><<<blocks_for(total), kThreads, 0, stream>>>(xp, yp, argmax, g);
    } else {
      pool_forward_kernel<T, false><<<blocks_for(total), kThreads, 0, stream>>>(xp, yp, nullptr, g);
    }
  });
  MANTISSA_CUDA_CHECK_LAUNCH("pool2d_forward");
}

void launch_pool_backward(bool max_pool, const void* dy, const std::int32_t* argmax, void* dx,
                          DType dtype, const PoolGeometry& g, cudaStream_t stream) {
  const std::int64_t total = g.N * g.C * g.H * g.W;
  if (total <= 0) return;
  with_storage(dtype, [&](auto t) {
    using T = decltype(t);
    const auto* dyp = static_cast<const typename T::raw*>(dy);
    auto* dxp = static_cast<typename T::raw*>(dx);
    if (max_pool) {
      pool_backward_kernel<T, true>
          <<<blocks_for(total), kThreads, 0, stream>>>(dyp, argmax, dxp, g);
    } else {
      pool_backward_kernel<T, false>
          <<<blocks_for(total), kThreads, 0, stream>>>(dyp, nullptr, dxp, g);
    }
  });
  MANTISSA_CUDA_CHECK_LAUNCH("pool2d_backward");
}

}  // namespace mantissa::cuda
