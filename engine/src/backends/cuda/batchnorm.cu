#include "backends/cuda/batchnorm.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

// Element j of channel c's N * S values, in (n, s) order.
__device__ inline std::int64_t channel_element(const ChannelShape& d, std::int64_t c,
                                               std::int64_t j) {
  const std::int64_t n = j / d.S;
  return (n * d.C + c) * d.S + (j - n * d.S);
}

__global__ void stats_kernel(const void* x, DType xt, ChannelShape d, float* running_mean,
                             float* running_var, float* save_mean, float* save_invstd,
                             float momentum, float eps) {
  const std::int64_t c = blockIdx.x;
  const std::int64_t count = d.N * d.S;
  double sum = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x)
    sum += double(load_any(x, xt, channel_element(d, c, j)));
  sum = block_sum(sum);
  const float mean = float(sum / double(count));
  double dev = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const float t = load_any(x, xt, channel_element(d, c, j)) - mean;
    dev += double(t * t);
  }
  dev = block_sum(dev);
  if (threadIdx.x == 0) {
    const double var = dev / double(count);
    const double unbiased = count > 1 ? dev / double(count - 1) : var;
    save_mean[c] = mean;
    save_invstd[c] = float(1.0 / sqrt(var + double(eps)));
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * float(unbiased);
  }
}

__global__ void invstd_kernel(const float* var, float* invstd, std::int64_t C, float eps) {
  for (std::int64_t c = global_index(); c < C; c += global_stride())
    invstd[c] = float(1.0 / sqrt(double(var[c]) + double(eps)));
}

template <class Y>
__global__ void apply_kernel(const void* x, DType xt, typename Y::raw* y, ChannelShape d,
                             const float* gamma, const float* beta, const float* mean,
                             const float* invstd) {
  const std::int64_t total = d.N * d.C * d.S;
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    const std::int64_t c = (i / d.S) % d.C;
    const float mul = gamma[c] * invstd[c];
    const float add = beta[c] - mean[c] * mul;
    Y::store(y, i, load_any(x, xt, i) * mul + add);
  }
}

__global__ void backward_reduce_kernel(const void* x, DType xt, const void* dy, DType gt,
                                       ChannelShape d, const float* mean, const float* invstd,
                                       float* dgamma, float* dbeta, float* scratch) {
  const std::int64_t c = blockIdx.x;
  const std::int64_t count = d.N * d.S;
  const float m = mean[c], is = invstd[c];
  double sum_dy = 0.0, sum_dyx = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t i = channel_element(d, c, j);
    const float g = load_any(dy, gt, i);
    const float xhat = (load_any(x, xt, i) - m) * is;
    sum_dy += double(g);
    sum_dyx += double(g * xhat);
  }
  sum_dy = block_sum(sum_dy);
  sum_dyx = block_sum(sum_dyx);
  if (threadIdx.x == 0) {
    dbeta[c] = float(sum_dy);
    dgamma[c] = float(sum_dyx);
    scratch[c] = float(sum_dy / double(count));
    scratch[d.C + c] = float(sum_dyx / double(count));
  }
}

template <class D>
__global__ void backward_apply_kernel(const void* x, DType xt, const void* dy, DType gt,
                                      typename D::raw* dx, ChannelShape d, const float* gamma,
                                      const float* mean, const float* invstd,
                                      const float* scratch) {
  const std::int64_t total = d.N * d.C * d.S;
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    const std::int64_t c = (i / d.S) % d.C;
    const float xhat = (load_any(x, xt, i) - mean[c]) * invstd[c];
    const float k = gamma[c] * invstd[c];
    D::store(dx, i, k * (load_any(dy, gt, i) - scratch[c] - xhat * scratch[d.C + c]));
  }
}

}  // namespace

void launch_batchnorm_stats(const void* x, DType x_type, const ChannelShape& d, float* running_mean,
                            float* running_var, float* save_mean, float* save_invstd,
                            float momentum, float eps, cudaStream_t stream) {
  if (d.C <= 0) return;
  stats_kernel<<<unsigned(d.C), kThreads, 0, stream>>>(x, x_type, d, running_mean, running_var,
                                                       save_mean, save_invstd, momentum, eps);
  MANTISSA_CUDA_CHECK_LAUNCH("batchnorm statistics");
}

void launch_batchnorm_invstd(const float* var, float* invstd, std::int64_t C, float eps,
                             cudaStream_t stream) {
  if (C <= 0) return;
  invstd_kernel<<<blocks_for(C), kThreads, 0, stream>>>(var, invstd, C, eps);
  MANTISSA_CUDA_CHECK_LAUNCH("batchnorm invstd");
}

void launch_batchnorm_apply(const void* x, DType x_type, void* y, DType y_type,
                            const ChannelShape& d, const float* gamma, const float* beta,
                            const float* mean, const float* invstd, cudaStream_t stream) {
  const std::int64_t total = d.N * d.C * d.S;
  if (total <= 0) return;
  with_storage(y_type, [&](auto t) {
    using Y = decltype(t);
    apply_kernel<Y><<<blocks_for(total), kThreads, 0, stream>>>(
        x, x_type, static_cast<typename Y::raw*>(y), d, gamma, beta, mean, invstd);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("batchnorm apply");
}

void launch_batchnorm_backward_reduce(const void* x, DType x_type, const void* dy, DType dy_type,
                                      const ChannelShape& d, const float* mean, const float* invstd,
                                      float* dgamma, float* dbeta, float* scratch,
                                      cudaStream_t stream) {
  if (d.C <= 0) return;
  backward_reduce_kernel<<<unsigned(d.C), kThreads, 0, stream>>>(x, x_type, dy, dy_type, d, mean,
                                                                 invstd, dgamma, dbeta, scratch);
  MANTISSA_CUDA_CHECK_LAUNCH("batchnorm backward reduce");
}

void launch_batchnorm_backward_apply(const void* x, DType x_type, const void* dy, DType dy_type,
                                     void* dx, DType dx_type, const ChannelShape& d,
                                     const float* gamma, const float* mean, const float* invstd,
                                     const float* scratch, cudaStream_t stream) {
  const std::int64_t total = d.N * d.C * d.S;
  if (total <= 0) return;
  with_storage(dx_type, [&](auto t) {
    using D = decltype(t);
    backward_apply_kernel<D><<<blocks_for(total), kThreads, 0, stream>>>(
        x, x_type, dy, dy_type, static_cast<typename D::raw*>(dx), d, gamma, mean, invstd, scratch);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("batchnorm backward apply");
}

}  // namespace mantissa::cuda
