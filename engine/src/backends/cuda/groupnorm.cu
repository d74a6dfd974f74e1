#include "backends/cuda/groupnorm.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

constexpr std::int64_t kMaxGroupBlocks = 65535;

unsigned grid_for(std::int64_t items) {
  return unsigned(items < kMaxGroupBlocks ? items : kMaxGroupBlocks);
}

// Casts below mirror the CPU loops: `in[i] - mean` is an fp32 difference,
// widened to double only where the CPU widens it.
__global__ void forward_kernel(const float* x, const float* gamma, const float* beta, float* y,
                               float* save_mean, float* save_invstd, std::int64_t NG,
                               std::int64_t G, std::int64_t cpg, std::int64_t S, float eps) {
  const std::int64_t P = cpg * S;
  for (std::int64_t ng = blockIdx.x; ng < NG; ng += gridDim.x) {
    const float* in = x + ng * P;
    float* out = y + ng * P;
    double sum = 0.0;
    for (std::int64_t i = threadIdx.x; i < P; i += blockDim.x) sum += double(in[i]);
    sum = block_sum(sum);
    const float mean = float(sum / double(P));
    double sq = 0.0;
    for (std::int64_t i = threadIdx.x; i < P; i += blockDim.x) {
      const double t = double(in[i] - mean);
      sq += t * t;
    }
    sq = block_sum(sq);
    const float invstd = float(1.0 / sqrt(sq / double(P) + double(eps)));
    if (threadIdx.x == 0) {
      save_mean[ng] = mean;
      save_invstd[ng] = invstd;
    }
    const std::int64_t c0 = (ng % G) * cpg;
    for (std::int64_t i = threadIdx.x; i < P; i += blockDim.x) {
      const std::int64_t c = c0 + i / S;
      out[i] = (in[i] - mean) * invstd * gamma[c] + beta[c];
    }
  }
}

// dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma.
__global__ void backward_dx_kernel(const float* x, const float* dy, const float* gamma,
                                   const float* save_mean, const float* save_invstd, float* dx,
                                   std::int64_t NG, std::int64_t G, std::int64_t cpg,
                                   std::int64_t S) {
  const std::int64_t P = cpg * S;
  for (std::int64_t ng = blockIdx.x; ng < NG; ng += gridDim.x) {
    const float* in = x + ng * P;
    const float* gy = dy + ng * P;
    float* out = dx + ng * P;
    const std::int64_t c0 = (ng % G) * cpg;
    const float mean = save_mean[ng], invstd = save_invstd[ng];
    double s1 = 0.0, s2 = 0.0;
    for (std::int64_t i = threadIdx.x; i < P; i += blockDim.x) {
      const double dxhat = double(gy[i]) * double(gamma[c0 + i / S]);
      s1 += dxhat;
      s2 += dxhat * double(in[i] - mean) * double(invstd);
    }
    s1 = block_sum(s1);
    s2 = block_sum(s2);
    const double m1 = s1 / double(P), m2 = s2 / double(P);
    for (std::int64_t i = threadIdx.x; i < P; i += blockDim.x) {
      const double xhat = double((in[i] - mean) * invstd);  // an fp32 product, as on the CPU
      const double dxhat = double(gy[i]) * double(gamma[c0 + i / S]);
      out[i] = float(double(invstd) * (dxhat - m1 - xhat * m2));
    }
  }
}

// dgamma[c] = sum over n, s of dy * xhat; dbeta[c] = sum of dy.
__global__ void backward_params_kernel(const float* x, const float* dy, const float* save_mean,
                                       const float* save_invstd, float* dgamma, float* dbeta,
                                       std::int64_t N, std::int64_t C, std::int64_t G,
                                       std::int64_t cpg, std::int64_t S) {
  const std::int64_t items = N * S;
  for (std::int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const std::int64_t g = c / cpg;
    double a = 0.0, b = 0.0;
    for (std::int64_t i = threadIdx.x; i < items; i += blockDim.x) {
      const std::int64_t n = i / S;
      const std::int64_t s = i - n * S;
      const std::int64_t ng = n * G + g;
      const std::int64_t at = (n * C + c) * S + s;
      a += double(dy[at]) * double(x[at] - save_mean[ng]) * double(save_invstd[ng]);
      b += double(dy[at]);
    }
    a = block_sum(a);
    b = block_sum(b);
    if (threadIdx.x == 0) {
      dgamma[c] = float(a);
      dbeta[c] = float(b);
    }
  }
}

}  // namespace

void launch_groupnorm_forward(const float* x, const float* gamma, const float* beta, float* y,
                              float* save_mean, float* save_invstd, const GroupShape& d, float eps,
                              cudaStream_t stream) {
  const std::int64_t NG = d.N * d.G, cpg = d.C / d.G;
  if (NG <= 0 || cpg * d.S <= 0) return;
  forward_kernel<<<grid_for(NG), kThreads, 0, stream>>>(x, gamma, beta, y, save_mean, save_invstd,
                                                        NG, d.G, cpg, d.S, eps);
  MANTISSA_CUDA_CHECK_LAUNCH("groupnorm forward");
}

void launch_groupnorm_backward(const float* x, const float* dy, const float* gamma,
                               const float* save_mean, const float* save_invstd, float* dx,
                               float* dgamma, float* dbeta, const GroupShape& d,
                               cudaStream_t stream) {
  if (d.C <= 0) return;
  const std::int64_t NG = d.N * d.G, cpg = d.C / d.G;
  if (NG > 0 && cpg * d.S > 0) {
    backward_dx_kernel<<<grid_for(NG), kThreads, 0, stream>>>(x, dy, gamma, save_mean, save_invstd,
                                                              dx, NG, d.G, cpg, d.S);
    MANTISSA_CUDA_CHECK_LAUNCH("groupnorm backward dx");
  }
  // With no samples the sums are empty: dgamma = dbeta = 0, as on the CPU.
  backward_params_kernel<<<grid_for(d.C), kThreads, 0, stream>>>(
      x, dy, save_mean, save_invstd, dgamma, dbeta, d.N, d.C, d.G, cpg, d.S);
  MANTISSA_CUDA_CHECK_LAUNCH("groupnorm backward dgamma/dbeta");
}

}  // namespace mantissa::cuda
