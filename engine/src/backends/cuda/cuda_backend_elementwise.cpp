// Elementwise ops and data movement: checks on the host, one kernel each.
#include <string>

#include "backends/cuda/activation.cuh"
#include "backends/cuda/arith.cuh"
#include "backends/cuda/cast.cuh"
#include "backends/cuda/concat.cuh"
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/dropout.cuh"
#include "backends/cuda/fill.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

static_assert(int(Activation::Relu) == int(ActKind::Relu) &&
                  int(Activation::LeakyRelu) == int(ActKind::LeakyRelu) &&
                  int(Activation::Gelu) == int(ActKind::Gelu) &&
                  int(Activation::Tanh) == int(ActKind::Tanh) &&
                  int(Activation::Sigmoid) == int(ActKind::Sigmoid),
              "ActKind must list the activations in mantissa::Activation's order");

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

}  // namespace

void CudaBackend::fill(Tensor& t, float value) {
  enter();
  launch_fill(t.data(), t.dtype(), t.numel(), value, stream());
}

void CudaBackend::cast(const Tensor& src, Tensor& dst) {
  check_same_numel(src, dst, "cast");
  enter();
  launch_cast(src.data(), src.dtype(), dst.data(), dst.dtype(), src.numel(), stream());
}

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
  check_same_numel(a, b, "add");
  check_same_numel(a, out, "add");
  enter();
  launch_binary(BinaryOp::Add, a.data(), a.dtype(), b.data(), b.dtype(), out.data(), out.dtype(),
                out.numel(), stream());
}

void CudaBackend::accumulate(const Tensor& src, Tensor& dst) {
  check_same_numel(src, dst, "accumulate");
  enter();
  launch_binary(BinaryOp::Add, dst.data(), dst.dtype(), src.data(), src.dtype(), dst.data(),
                dst.dtype(), dst.numel(), stream());
}

void CudaBackend::scale(Tensor& t, float s) {
  enter();
  launch_scale(t.data(), t.dtype(), t.numel(), s, stream());
}

void CudaBackend::mul(const Tensor& a, const Tensor& b, Tensor& out) {
  check_same_numel(a, b, "mul");
  check_same_numel(a, out, "mul");
  enter();
  launch_binary(BinaryOp::Mul, a.data(), a.dtype(), b.data(), b.dtype(), out.data(), out.dtype(),
                out.numel(), stream());
}

void CudaBackend::activation_forward(Activation act, float alpha, const Tensor& x, Tensor& y) {
  check_same_numel(x, y, "activation_forward");
  enter();
  launch_activation_forward(ActKind(int(act)), alpha, x.data(), x.dtype(), y.data(), y.dtype(),
                            y.numel(), stream());
}

void CudaBackend::activation_backward(Activation act, float alpha, const Tensor& x, const Tensor& y,
                                      const Tensor& dy, Tensor& dx) {
  check_same_numel(dy, dx, "activation_backward");
  const ActKind kind = ActKind(int(act));
  // Each activation reads only what its derivative needs: x or y.
  const Tensor& a = mantissa::activation_reads_output(act) ? y : x;
  check_same_numel(a, dx, "activation_backward");
  enter();
  launch_activation_backward(kind, alpha, a.data(), a.dtype(), dy.data(), dy.dtype(), dx.data(),
                             dx.dtype(), dx.numel(), stream());
}

void CudaBackend::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, float p,
                                  std::uint64_t seed, const Tensor* state) {
  check_same_numel(x, y, "dropout_forward");
  check_same_numel(x, mask, "dropout_forward");
  MANTISSA_ASSERT(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1)");
  const StepState* step = state != nullptr ? step_state_of(*state) : nullptr;
  // y uses the mask value as stored, so backward (dy * mask) matches exactly.
  const float keep_scale = rounded_to(mask.dtype(), 1.0f / (1.0f - p));
  enter();
  launch_dropout(x.data(), x.dtype(), y.data(), y.dtype(), mask.data(), mask.dtype(), x.numel(), p,
                 keep_scale, seed, step,
                 stream());
}

namespace {

// A tensor viewed as (outer, axis-1 size, inner) for concat / split.
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

// Moves the axis-1 slices of `parts` to (concat) or from (split) `whole`.
template <class PartSpan>
void move_axis1(PartSpan parts, const Tensor& whole, bool to_whole, cudaStream_t stream) {
  const Axis1View w = axis1_view(whole);
  std::int64_t mid_total = 0;
  for (const Tensor& part : parts) {
    check_axis1_compatible(part, whole);
    mid_total += part.dim(1);
  }
  MANTISSA_ASSERT(mid_total == w.mid,
                  "concat/split: axis-1 sizes do not add up to " + whole.describe());
  const std::int64_t whole_stride = w.mid * w.inner;
  std::int64_t offset = 0;  // elements along one row of whole
  for (const Tensor& part : parts) {
    const std::int64_t count = part.dim(1) * w.inner;
    if (to_whole) {
      launch_copy_rows(part.data(), part.dtype(), count, 0, whole.data(), whole.dtype(),
                       whole_stride, offset, w.outer, count, stream);
    } else {
      launch_copy_rows(whole.data(), whole.dtype(), whole_stride, offset, part.data(), part.dtype(),
                       count, 0, w.outer, count, stream);
    }
    offset += count;
  }
}

}  // namespace

void CudaBackend::concat(std::span<const Tensor> xs, Tensor& y) {
  enter();
  move_axis1(xs, y, true, stream());
}

void CudaBackend::split(const Tensor& dy, std::span<Tensor> dxs) {
  enter();
  move_axis1(dxs, dy, false, stream());
}

}  // namespace mantissa::cuda
