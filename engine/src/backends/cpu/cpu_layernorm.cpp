// Layer norm over the last axis; a forced-fp32 op, so every tensor is f32.
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

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

void CpuBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   Tensor& y, Tensor& save_mean, Tensor& save_invstd, float eps) {
  const RowDims d = ln_dims(x, {&y}, {&gamma, &beta}, {&save_mean, &save_invstd});
  const float* xs = x.data_as<const float>();
  const float* g = gamma.data_as<const float>();
  const float* b = beta.data_as<const float>();
  float* ys = y.data_as<float>();
  float* sm = save_mean.data_as<float>();
  float* si = save_invstd.data_as<float>();
  const std::int64_t D = d.D;
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelMin)
  for (std::int64_t r = 0; r < d.rows; ++r) {
    const float* row = xs + r * D;
    float* out = ys + r * D;
    // Not a structured binding: clang 16 crashes on one inside an OpenMP loop.
    const RowStats stats = row_stats(row, D, eps);
    const float mean = stats.mean, invstd = stats.invstd;
    sm[r] = mean;
    si[r] = invstd;
#pragma omp simd
    for (std::int64_t i = 0; i < D; ++i) out[i] = (row[i] - mean) * invstd * g[i] + b[i];
  }
}

void CpuBackend::layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                    const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                    Tensor& dgamma, Tensor& dbeta) {
  const RowDims d = ln_dims(x, {&dy, &dx}, {&gamma, &dgamma, &dbeta}, {&save_mean, &save_invstd});
  const float* xs = x.data_as<const float>();
  const float* dys = dy.data_as<const float>();
  const float* g = gamma.data_as<const float>();
  const float* sm = save_mean.data_as<const float>();
  const float* si = save_invstd.data_as<const float>();
  float* dxs = dx.data_as<float>();
  const std::int64_t D = d.D;
  const int threads = threads_for(x.numel());
  // Private dgamma / dbeta sums per thread, added up after the parallel loop.
  std::vector<double> partial(std::size_t(threads) * 2 * std::size_t(D), 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* pg = partial.data() + std::size_t(omp_get_thread_num()) * 2 * std::size_t(D);
    double* pb = pg + D;
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < d.rows; ++r) {
      const float* row = xs + r * D;
      const float* grow = dys + r * D;
      float* out = dxs + r * D;
      const float mean = sm[r];
      const float invstd = si[r];
      // With h = dy * gamma: dx = invstd * (h - mean(h) - xhat * mean(h * xhat)).
      double sum_h = 0.0, sum_hx = 0.0;
#pragma omp simd reduction(+ : sum_h, sum_hx)
      for (std::int64_t i = 0; i < D; ++i) {
        const float xhat = (row[i] - mean) * invstd;
        const float h = grow[i] * g[i];
        sum_h += h;
        sum_hx += h * xhat;
        pg[i] += grow[i] * xhat;
        pb[i] += grow[i];
      }
      const float mh = float(sum_h / double(D));
      const float mhx = float(sum_hx / double(D));
#pragma omp simd
      for (std::int64_t i = 0; i < D; ++i) {
        const float xhat = (row[i] - mean) * invstd;
        out[i] = invstd * (grow[i] * g[i] - mh - xhat * mhx);
      }
    }
  }
  float* dg = dgamma.data_as<float>();
  float* db = dbeta.data_as<float>();
  for (std::int64_t i = 0; i < D; ++i) {
    double sg = 0.0, sb = 0.0;
    for (int t = 0; t < threads; ++t) {
      sg += partial[std::size_t(t) * 2 * std::size_t(D) + std::size_t(i)];
      sb += partial[std::size_t(t) * 2 * std::size_t(D) + std::size_t(D + i)];
    }
    dg[i] = float(sg);
    db[i] = float(sb);
  }
}

}  // namespace mantissa::cpu
