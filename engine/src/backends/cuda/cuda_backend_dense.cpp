// Dense layers: matmul and batched_matmul on cuBLASLt (cached plans); a
// Linear layer's bias and bias gradient in cuBLASLt's epilogues where
// offered, otherwise (and for bias_add / bias_grad called alone) the
// backend's own kernels.
#include <string>

#include "backends/cuda/arith.cuh"
#include "backends/cuda/bias.cuh"
#include "backends/cuda/cublaslt_matmul.hpp"
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/fill.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

// Checks a matmul's operands (as the CPU backend does) and describes it for
// cuBLASLt; M, N or K may be 0. A batched_matmul's operands are 3-D: one
// batch axis in front of each matrix.
MatmulCall describe_matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                           float beta, bool batched = false) {
  MANTISSA_ASSERT(
      batched ? (a.rank() == 3 && b.rank() == 3 && c.rank() == 3 && a.dim(0) == b.dim(0) &&
                 a.dim(0) == c.dim(0))
              : (a.rank() == 2 && b.rank() == 2 && c.rank() == 2),
      std::string(batched ? "batched_matmul needs 3-D tensors with one batch"
                          : "matmul needs 2-D tensors") +
          ", got " + a.describe() + ", " + b.describe() + ", " + c.describe());
  MANTISSA_ASSERT(a.dtype() == b.dtype(), "matmul: a and b must share a dtype");
  MANTISSA_ASSERT(c.dtype() == DType::F32 || c.dtype() == a.dtype(),
                  "matmul: c must be f32 or a's dtype, got " + c.describe());
  const std::size_t o = batched ? 1 : 0;  // the first matrix axis
  MatmulCall call;
  call.M = trans_a ? a.dim(o + 1) : a.dim(o);
  call.K = trans_a ? a.dim(o) : a.dim(o + 1);
  call.N = trans_b ? b.dim(o) : b.dim(o + 1);
  MANTISSA_ASSERT((trans_b ? b.dim(o + 1) : b.dim(o)) == call.K && c.dim(o) == call.M &&
                      c.dim(o + 1) == call.N,
                  "matmul shapes do not agree: " + a.describe() + (trans_a ? "ᵀ" : "") + " @ " +
                      b.describe() + (trans_b ? "ᵀ" : "") + " -> " + c.describe());
  call.a = a.data();
  call.b = b.data();
  call.c = c.data();
  call.in = a.dtype();
  call.out = c.dtype();
  call.a_rows = a.dim(o);
  call.a_cols = a.dim(o + 1);
  call.b_rows = b.dim(o);
  call.b_cols = b.dim(o + 1);
  call.trans_a = trans_a;
  call.trans_b = trans_b;
  call.beta = beta;
  call.batched = batched;
  call.batch = batched ? a.dim(0) : 1;
  return call;
}

}  // namespace

void CudaBackend::matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                         float beta) {
  run_matmul(describe_matmul(a, trans_a, b, trans_b, c, beta), c);
}

void CudaBackend::run_matmul(const MatmulCall& call, Tensor& c) {
  if (call.M == 0 || call.N == 0 || call.batch == 0) return;
  enter();
  if (call.K == 0) {  // an empty sum: c = beta * c
    if (call.beta == 0.0f) {
      launch_fill(c.data(), c.dtype(), c.numel(), 0.0f, stream());
    } else {
      launch_scale(c.data(), c.dtype(), c.numel(), call.beta, stream());
    }
    return;
  }
  matmul_plans().run(call, stream());
}

// Every product of the batch in one strided-batch cuBLASLt call (the heads
// of attention: Q Kᵀ into fp32 scores, P V into the compute dtype).
void CudaBackend::batched_matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
                                 Tensor& c, float alpha, float beta) {
  MatmulCall call = describe_matmul(a, trans_a, b, trans_b, c, beta, /*batched=*/true);
  call.alpha = alpha;
  run_matmul(call, c);
}

// Bias and ReLU ride in the matmul's epilogue: the bias added in fp32 before
// c's one rounding, which is the contract, and ReLU (which commutes with the
// rounding) after it. Where cuBLASLt offers no such algorithm, the unfused
// default (fp32 product, bias, one rounding, ReLU) runs instead.
void CudaBackend::linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y,
                                 bool relu) {
  MatmulCall call = describe_matmul(x, false, w, true, y, 0.0f);
  if ((bias == nullptr && !relu) || call.M == 0 || call.N == 0 || call.K == 0)
    return Backend::linear_forward(x, w, bias, y, relu);
  if (bias != nullptr) {
    MANTISSA_ASSERT(bias->dtype() == DType::F32 && bias->numel() == call.N,
                    "linear_forward: bias " + bias->describe() + " for " + y.describe());
    call.bias = bias->data_as<const float>();
  }
  call.relu = relu;
  enter();
  if (!matmul_plans().try_run(call, stream())) Backend::linear_forward(x, w, bias, y, relu);
}

// dW = dyᵀ x with dbias = column sums of dy from the same pass over dy
// (CUBLASLT_EPILOGUE_BGRADB), or the two separate ops where not offered.
void CudaBackend::linear_backward_weights(const Tensor& dy, const Tensor& x, Tensor& dw,
                                          Tensor* dbias) {
  MatmulCall call = describe_matmul(dy, true, x, false, dw, 0.0f);
  if (dbias == nullptr || call.M == 0 || call.N == 0 || call.K == 0)
    return Backend::linear_backward_weights(dy, x, dw, dbias);
  MANTISSA_ASSERT(dbias->dtype() == DType::F32 && dbias->numel() == call.M,
                  "linear_backward_weights: dbias " + dbias->describe() + " for " + dw.describe());
  call.bias_grad = dbias->data_as<float>();
  enter();
  if (!matmul_plans().try_run(call, stream())) Backend::linear_backward_weights(dy, x, dw, dbias);
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
