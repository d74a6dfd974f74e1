// Sequences and attention with the backend's own kernels: head transposes and
// the fp32 softmax of attention scores (sequence.cu), embedding lookups and
// their deterministic gradient (embedding.cu), and group norm (groupnorm.cu).
// Shapes and dtypes are checked here as the CPU backend checks them; token
// ids live on the device, so their range is not (see embedding.cuh).
// batched_matmul is with the other matmuls in cuda_backend_dense.cpp.
#include <string>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/embedding.cuh"
#include "backends/cuda/groupnorm.cuh"
#include "backends/cuda/sequence.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

std::int64_t last_dim(const Tensor& t) {
  return t.rank() == 0 ? 1 : t.dim(t.rank() - 1);
}

GroupShape group_shape(const Tensor& x, std::int64_t groups, const char* op) {
  MANTISSA_ASSERT(
      x.rank() >= 2 && x.dtype() == DType::F32 && groups > 0 && x.dim(1) % groups == 0,
      std::string(op) + ": " + x.describe() + " in " + std::to_string(groups) + " groups");
  std::int64_t S = 1;
  for (std::size_t i = 2; i < x.rank(); ++i) S *= x.dim(i);
  return {x.dim(0), x.dim(1), S, groups};
}

bool f32_with(const Tensor& t, std::int64_t n) {
  return t.dtype() == DType::F32 && t.numel() == n;
}

}  // namespace

void CudaBackend::swap_axes12(const Tensor& x, Tensor& y) {
  MANTISSA_ASSERT(x.rank() == 4 && y.rank() == 4 && x.dtype() == y.dtype() &&
                      y.dim(0) == x.dim(0) && y.dim(1) == x.dim(2) && y.dim(2) == x.dim(1) &&
                      y.dim(3) == x.dim(3),
                  "swap_axes12: " + x.describe() + " -> " + y.describe());
  enter();
  launch_swap_axes12(x.data(), y.data(), dtype_size(x.dtype()), x.dim(0), x.dim(1), x.dim(2),
                     x.dim(3), stream());
}

void CudaBackend::softmax_forward(const Tensor& x, Tensor& y, float scale, bool causal) {
  MANTISSA_ASSERT(x.shape() == y.shape(),
                  "softmax_forward: " + x.describe() + " -> " + y.describe());
  const std::int64_t L = last_dim(x);
  if (L == 0 || x.numel() == 0) return;
  const std::int64_t T = causal ? x.dim(x.rank() - 2) : 0;
  MANTISSA_ASSERT(!causal || (x.rank() >= 2 && T == L),
                  "softmax_forward: a causal mask needs square (T, T) rows, got " + x.describe());
  enter();
  launch_softmax_forward(x.data(), x.dtype(), y.data(), y.dtype(), x.numel() / L, L, scale, T,
                         stream());
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, float scale) {
  MANTISSA_ASSERT(
      y.shape() == dy.shape() && y.shape() == dx.shape(),
      "softmax_backward: " + y.describe() + ", " + dy.describe() + " -> " + dx.describe());
  const std::int64_t L = last_dim(y);
  if (L == 0 || y.numel() == 0) return;
  enter();
  launch_softmax_backward(y.data(), y.dtype(), dy.data(), dy.dtype(), dx.data(), dx.dtype(),
                          y.numel() / L, L, scale, stream());
}

void CudaBackend::embedding_forward(const Tensor& table, const Tensor& ids, Tensor& out) {
  MANTISSA_ASSERT(
      table.rank() == 2 && ids.dtype() == DType::F32 && out.dtype() == table.dtype() &&
          out.numel() == ids.numel() * table.dim(1),
      "embedding_forward: " + table.describe() + " [" + ids.describe() + "] -> " + out.describe());
  enter();
  launch_embedding_forward(table.data(), table.dtype(), ids.data_as<const float>(), out.data(),
                           table.dim(0), table.dim(1), ids.numel(), stream());
}

void CudaBackend::embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  MANTISSA_ASSERT(dtable.rank() == 2 && dtable.dtype() == DType::F32 && ids.dtype() == DType::F32 &&
                      dout.numel() == ids.numel() * dtable.dim(1),
                  "embedding_backward: [" + ids.describe() + "] " + dout.describe() + " -> " +
                      dtable.describe());
  enter();
  launch_embedding_backward(ids.data_as<const float>(), dout.data(), dout.dtype(),
                            dtable.data_as<float>(), dtable.dim(0), dtable.dim(1), ids.numel(),
                            stream());
}

void CudaBackend::groupnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                    Tensor& y, Tensor& save_mean, Tensor& save_invstd,
                                    std::int64_t groups, float eps) {
  const GroupShape d = group_shape(x, groups, "groupnorm_forward");
  MANTISSA_ASSERT(y.shape() == x.shape() && y.dtype() == DType::F32 && f32_with(gamma, d.C) &&
                      f32_with(beta, d.C) && f32_with(save_mean, d.N * d.G) &&
                      f32_with(save_invstd, d.N * d.G),
                  "groupnorm_forward: tensors do not match " + x.describe());
  enter();
  launch_groupnorm_forward(x.data_as<const float>(), gamma.data_as<const float>(),
                           beta.data_as<const float>(), y.data_as<float>(),
                           save_mean.data_as<float>(), save_invstd.data_as<float>(), d, eps,
                           stream());
}

void CudaBackend::groupnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                     const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                     Tensor& dgamma, Tensor& dbeta, std::int64_t groups) {
  const GroupShape d = group_shape(x, groups, "groupnorm_backward");
  MANTISSA_ASSERT(dy.shape() == x.shape() && dx.shape() == x.shape() && dy.dtype() == DType::F32 &&
                      dx.dtype() == DType::F32 && f32_with(gamma, d.C) && f32_with(dgamma, d.C) &&
                      f32_with(dbeta, d.C) && f32_with(save_mean, d.N * d.G) &&
                      f32_with(save_invstd, d.N * d.G),
                  "groupnorm_backward: tensors do not match " + x.describe());
  enter();
  launch_groupnorm_backward(x.data_as<const float>(), dy.data_as<const float>(),
                            gamma.data_as<const float>(), save_mean.data_as<const float>(),
                            save_invstd.data_as<const float>(), dx.data_as<float>(),
                            dgamma.data_as<float>(), dbeta.data_as<float>(), d, stream());
}

}  // namespace mantissa::cuda
