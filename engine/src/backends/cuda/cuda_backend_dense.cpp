// Dense layers: matmul on cuBLASLt (cached plans), bias add and bias gradient
// as the backend's own kernels.
#include <string>

#include "backends/cuda/arith.cuh"
#include "backends/cuda/bias.cuh"
#include "backends/cuda/cublaslt_matmul.hpp"
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/fill.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

void CudaBackend::matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                         float beta) {
  MANTISSA_ASSERT(
      a.rank() == 2 && b.rank() == 2 && c.rank() == 2,
      "matmul needs 2-D tensors, got " + a.describe() + ", " + b.describe() + ", " + c.describe());
  MANTISSA_ASSERT(a.dtype() == b.dtype(), "matmul: a and b must share a dtype");
  MANTISSA_ASSERT(c.dtype() == DType::F32 || c.dtype() == a.dtype(),
                  "matmul: c must be f32 or a's dtype, got " + c.describe());
  const std::int64_t M = trans_a ? a.dim(1) : a.dim(0);
  const std::int64_t K = trans_a ? a.dim(0) : a.dim(1);
  const std::int64_t N = trans_b ? b.dim(0) : b.dim(1);
  MANTISSA_ASSERT((trans_b ? b.dim(1) : b.dim(0)) == K && c.dim(0) == M && c.dim(1) == N,
                  "matmul shapes do not agree: " + a.describe() + (trans_a ? "ᵀ" : "") + " @ " +
                      b.describe() + (trans_b ? "ᵀ" : "") + " -> " + c.describe());
  if (M == 0 || N == 0) return;
  enter();
  if (K == 0) {  // an empty sum: c = beta * c
    if (beta == 0.0f) {
      launch_fill(c.data(), c.dtype(), c.numel(), 0.0f, stream());
    } else {
      launch_scale(c.data(), c.dtype(), c.numel(), beta, stream());
    }
    return;
  }
  MatmulCall call;
  call.a = a.data();
  call.b = b.data();
  call.c = c.data();
  call.in = a.dtype();
  call.out = c.dtype();
  call.M = M;
  call.N = N;
  call.K = K;
  call.a_rows = a.dim(0);
  call.a_cols = a.dim(1);
  call.b_rows = b.dim(0);
  call.b_cols = b.dim(1);
  call.trans_a = trans_a;
  call.trans_b = trans_b;
  call.beta = beta;
  matmul_plans().run(call, stream());
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

void CudaBackend::bias_add(Tensor& y, const Tensor& bias) {
  const ChannelView v = channel_view(y, bias, "bias_add");
  enter();
  launch_bias_add(y.data(), y.dtype(), bias.data_as<const float>(), v.outer, v.channels, v.inner,
                  stream());
}

void CudaBackend::bias_grad(const Tensor& dy, Tensor& dbias, float beta) {
  const ChannelView v = channel_view(dy, dbias, "bias_grad");
  enter();
  launch_bias_grad(dy.data(), dy.dtype(), dbias.data_as<float>(), v.outer, v.channels, v.inner,
                   beta, stream());
}

}  // namespace mantissa::cuda
