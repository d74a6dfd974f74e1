#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/layernorm.cuh"

namespace mantissa::cuda {

namespace {

__global__ void forward_kernel(const float* x, const float* gamma, const float* beta, float* y,
                               float* save_mean, float* save_invstd, std::int64_t D, float eps) {
  const std::int64_t r = blockIdx.x;
  const float* row = x + r * D;
  float* out = y + r * D;
  double sum = 0.0;
  for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) sum += double(row[i]);
  sum = block_sum(sum);
  const float mean = float(sum / double(D));
  double sq = 0.0;
  for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const double t = double(row[i] - mean);
    sq += t * t;
  }
  sq = block_sum(sq);
  const float invstd = float(1.0 / sqrt(sq / double(D) + double(eps)));
  if (threadIdx.x == 0) {
    save_mean[r] = mean;
    save_invstd[r] = invstd;
  }
  for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x)
    out[i] = (row[i] - mean) * invstd * gamma[i] + beta[i];
}

__global__ void backward_dx_kernel(const float* x, const float* dy, const float* gamma,
                                   const float* save_mean, const float* save_invstd, float* dx,
                                   std::int64_t D) {
  const std::int64_t r = blockIdx.x;
  const float* row = x + r * D;
  const float* grow = dy + r * D;
  float* out = dx + r * D;
  const float mean = save_mean[r];
  const float invstd = save_invstd[r];
  // With h = dy * gamma: dx = invstd * (h - mean(h) - xhat * mean(h * xhat)).
  double sum_h = 0.0, sum_hx = 0.0;
  for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const float xhat = (row[i] - mean) * invstd;
    const float h = grow[i] * gamma[i];
    sum_h += double(h);
    sum_hx += double(h * xhat);
  }
  sum_h = block_sum(sum_h);
  sum_hx = block_sum(sum_hx);
  const float mh = float(sum_h / double(D));
  const float mhx = float(sum_hx / double(D));
  for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const float xhat = (row[i] - mean) * invstd;
    out[i] = invstd * (grow[i] * gamma[i] - mh - xhat * mhx);
  }
}

__global__ void backward_params_kernel(const float* x, const float* dy, const float* save_mean,
                                       const float* save_invstd, float* dgamma, float* dbeta,
                                       std::int64_t rows, std::int64_t D) {
  for (std::int64_t i = global_index(); i < D; i += global_stride()) {
    double sg = 0.0, sb = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float xhat = (x[r * D + i] - save_mean[r]) * save_invstd[r];
      const float g = dy[r * D + i];
      sg += double(g * xhat);
      sb += double(g);
    }
    dgamma[i] = float(sg);
    dbeta[i] = float(sb);
  }
}

}  // namespace

void launch_layernorm_forward(const float* x, const float* gamma, const float* beta, float* y,
                              float* save_mean, float* save_invstd, std::int64_t rows,
                              std::int64_t D, float eps, cudaStream_t stream) {
  if (rows <= 0 || D <= 0) return;
  forward_kernel<<<unsigned(rows), kThreads, 0, stream>>>(x, gamma, beta, y, save_mean, save_invstd,
                                                          D, eps);
  MANTISSA_CUDA_CHECK_LAUNCH("layernorm forward");
}

void launch_layernorm_backward(const float* x, const float* dy, const float* gamma,
                               const float* save_mean, const float* save_invstd, float* dx,
                               float* dgamma, float* dbeta, std::int64_t rows, std::int64_t D,
                               cudaStream_t stream) {
  if (D <= 0) return;
  if (rows > 0) {
    backward_dx_kernel<<<unsigned(rows), kThreads, 0, stream>>>(x, dy, gamma, save_mean,
                                                                save_invstd, dx, D);
    MANTISSA_CUDA_CHECK_LAUNCH("layernorm backward dx");
  }
  backward_params_kernel<<<blocks_for(D), kThreads, 0, stream>>>(x, dy, save_mean, save_invstd,
                                                                 dgamma, dbeta, rows, D);
  MANTISSA_CUDA_CHECK_LAUNCH("layernorm backward dgamma/dbeta");
}

}  // namespace mantissa::cuda
