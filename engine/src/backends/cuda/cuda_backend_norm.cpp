// Batch norm and layer norm with the backend's own kernels (batchnorm.cu,
// layernorm.cu): the CPU backend's formulas, statistics in double.
#include <initializer_list>
#include <string>

#include "backends/cuda/batchnorm.cuh"
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/layernorm.cuh"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

ChannelShape bn_dims(const Tensor& x) {
  MANTISSA_ASSERT(x.rank() == 2 || x.rank() == 4,
                  "batch norm takes (N, C) or (N, C, H, W), got " + x.describe());
  return {x.dim(0), x.dim(1), x.rank() == 4 ? x.dim(2) * x.dim(3) : 1};
}

void check_per_channel(std::initializer_list<const Tensor*> ts, std::int64_t C, const char* what) {
  for (const Tensor* t : ts) {
    MANTISSA_ASSERT(t->dtype() == DType::F32 && t->numel() == C,
                    std::string("batch norm: ") + what + " must be f32 with " + std::to_string(C) +
                        " values, got " + t->describe());
  }
}

const float* f32(const Tensor& t) {
  return t.data_as<const float>();
}
float* f32(Tensor& t) {
  return t.data_as<float>();
}

}  // namespace

// TrainingStep refuses synchronised BatchNorm on GPU ranks before a step;
// this is the op's own guard.
constexpr const char* kNoSyncNorm =
    "cuda: synchronised BatchNorm statistics are summed in host memory, on CPU ranks only";

void CudaBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                          Tensor& y, Tensor& running_mean, Tensor& running_var,
                                          Tensor& save_mean, Tensor& save_invstd, float momentum,
                                          float eps, const RankSum* across) {
  if (across != nullptr) throw Error(kNoSyncNorm);
  const ChannelShape d = bn_dims(x);
  MANTISSA_ASSERT(y.shape() == x.shape(), "batch norm: y must have x's shape");
  check_per_channel({&gamma, &beta, &running_mean, &running_var, &save_mean, &save_invstd}, d.C,
                    "gamma, beta and statistics");
  MANTISSA_ASSERT(d.N * d.S > 0, "batch norm over an empty batch");
  enter();
  launch_batchnorm_stats(x.data(), x.dtype(), d, f32(running_mean), f32(running_var),
                         f32(save_mean), f32(save_invstd), momentum, eps, stream());
  launch_batchnorm_apply(x.data(), x.dtype(), y.data(), y.dtype(), d, f32(gamma), f32(beta),
                         f32(save_mean), f32(save_invstd), stream());
}

void CudaBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                          const Tensor& running_mean, const Tensor& running_var,
                                          Tensor& y, float eps) {
  const ChannelShape d = bn_dims(x);
  MANTISSA_ASSERT(y.shape() == x.shape(), "batch norm: y must have x's shape");
  check_per_channel({&gamma, &beta, &running_mean, &running_var}, d.C,
                    "gamma, beta and running statistics");
  enter();
  DeviceBuffer invstd = scratch(std::size_t(d.C) * 4);
  launch_batchnorm_invstd(f32(running_var), invstd.as<float>(), d.C, eps, stream());
  launch_batchnorm_apply(x.data(), x.dtype(), y.data(), y.dtype(), d, f32(gamma), f32(beta),
                         f32(running_mean), invstd.as<const float>(), stream());
}

void CudaBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                     const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                     Tensor& dgamma, Tensor& dbeta, const RankSum* across) {
  if (across != nullptr) throw Error(kNoSyncNorm);
  const ChannelShape d = bn_dims(x);
  MANTISSA_ASSERT(dy.shape() == x.shape() && dx.shape() == x.shape(),
                  "batch norm backward: dy and dx must have x's shape");
  check_per_channel({&gamma, &save_mean, &save_invstd, &dgamma, &dbeta}, d.C,
                    "gamma, saved statistics and gradients");
  enter();
  DeviceBuffer means = scratch(std::size_t(d.C) * 2 * 4);  // mean(dy), mean(dy * xhat)
  launch_batchnorm_backward_reduce(x.data(), x.dtype(), dy.data(), dy.dtype(), d, f32(save_mean),
                                   f32(save_invstd), f32(dgamma), f32(dbeta), means.as<float>(),
                                   stream());
  launch_batchnorm_backward_apply(x.data(), x.dtype(), dy.data(), dy.dtype(), dx.data(), dx.dtype(),
                                  d, f32(gamma), f32(save_mean), f32(save_invstd),
                                  means.as<const float>(), stream());
}

namespace {

struct RowDims {
  std::int64_t rows, D;
};

RowDims ln_dims(const Tensor& x, std::initializer_list<const Tensor*> same_shape,
                std::initializer_list<const Tensor*> per_feature,
                std::initializer_list<const Tensor*> per_row) {
  MANTISSA_ASSERT(x.rank() >= 1, "layer norm needs rank >= 1");
  const std::int64_t D = x.dim(x.rank() - 1);
  const RowDims d{D == 0 ? 0 : x.numel() / D, D};
  auto check = [](const Tensor& t, bool ok, const char* what) {
    MANTISSA_ASSERT(
        t.dtype() == DType::F32 && ok,
        std::string("layer norm: ") + what + " has the wrong size or dtype: " + t.describe());
  };
  check(x, true, "x");
  for (const Tensor* t : same_shape) check(*t, t->shape() == x.shape(), "y / dy / dx");
  for (const Tensor* t : per_feature) check(*t, t->numel() == D, "gamma / beta / their grads");
  for (const Tensor* t : per_row) check(*t, t->numel() == d.rows, "saved statistics");
  return d;
}

}  // namespace

void CudaBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                    Tensor& y, Tensor& save_mean, Tensor& save_invstd, float eps) {
  const RowDims d = ln_dims(x, {&y}, {&gamma, &beta}, {&save_mean, &save_invstd});
  enter();
  launch_layernorm_forward(f32(x), f32(gamma), f32(beta), f32(y), f32(save_mean), f32(save_invstd),
                           d.rows, d.D, eps, stream());
}

void CudaBackend::layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                     const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                     Tensor& dgamma, Tensor& dbeta) {
  const RowDims d = ln_dims(x, {&dy, &dx}, {&gamma, &dgamma, &dbeta}, {&save_mean, &save_invstd});
  enter();
  launch_layernorm_backward(f32(x), f32(dy), f32(gamma), f32(save_mean), f32(save_invstd), f32(dx),
                            f32(dgamma), f32(dbeta), d.rows, d.D, stream());
}

}  // namespace mantissa::cuda
