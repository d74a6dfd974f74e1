// Batch norm and layer norm as plain loops: fp32 arithmetic, statistics
// accumulated in double across blocks, activations in any dtype.
#include <omp.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

// x viewed as (N, C, S); S == 1 for (N, C) inputs.
struct ChannelDims {
  std::int64_t N, C, S;
};

ChannelDims bn_dims(const Tensor& x) {
  MANTISSA_ASSERT(x.rank() == 2 || x.rank() == 4,
                  "batch norm takes (N, C) or (N, C, H, W), got " + x.describe());
  return {x.dim(0), x.dim(1), x.rank() == 4 ? x.dim(2) * x.dim(3) : 1};
}

void check_per_channel(const Tensor& t, std::int64_t C, const char* what) {
  MANTISSA_ASSERT(t.dtype() == DType::F32 && t.numel() == C,
                  std::string("batch norm: ") + what + " must be f32 with " + std::to_string(C) +
                      " values, got " + t.describe());
}

// Per-channel sums of two quantities, fn(c, in, i) -> {first, second}, over
// every element i of the inputs (all shaped like dims). Threads take disjoint
// rows and keep private per-channel sums, so any layout parallelises.
template <std::size_t NIn, class Fn>
std::array<std::vector<double>, 2> channel_sums(const ChannelDims& d,
                                                const std::array<const Tensor*, NIn>& ins,
                                                Fn&& fn) {
  const std::size_t C = std::size_t(d.C);
  // S == 1: a row is one sample (C values); otherwise a row is one (n, c) plane.
  const std::int64_t rows = d.S == 1 ? d.N : d.N * d.C;
  const std::int64_t len = d.S == 1 ? d.C : d.S;
  const int threads = threads_for(d.N * d.C * d.S);
  std::vector<double> partial(std::size_t(threads) * 2 * C, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc0 = partial.data() + std::size_t(omp_get_thread_num()) * 2 * C;
    double* acc1 = acc0 + C;
    alignas(64) float buf[NIn][kBlock];
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < len; j += kBlock) {
        const std::int64_t n = std::min(kBlock, len - j);
        std::array<const float*, NIn> in{};
        for (std::size_t k = 0; k < NIn; ++k) in[k] = read_f32(*ins[k], r * len + j, n, buf[k]);
        if (d.S == 1) {
          for (std::int64_t i = 0; i < n; ++i) {
            const auto [a, b] = fn(j + i, in, i);
            acc0[j + i] += a;
            acc1[j + i] += b;
          }
        } else {
          const std::int64_t c = r % d.C;
          float s0 = 0.0f, s1 = 0.0f;
#pragma omp simd reduction(+ : s0, s1)
          for (std::int64_t i = 0; i < n; ++i) {
            const auto [a, b] = fn(c, in, i);
            s0 += a;
            s1 += b;
          }
          acc0[c] += s0;
          acc1[c] += s1;
        }
      }
    }
  }
  std::array<std::vector<double>, 2> sums{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int t = 0; t < threads; ++t) {
    const double* p = partial.data() + std::size_t(t) * 2 * C;
    for (std::size_t c = 0; c < C; ++c) {
      sums[0][c] += p[c];
      sums[1][c] += p[C + c];
    }
  }
  return sums;
}

// out[i] = fn(c, in, i) for every element, c being element i's channel.
template <std::size_t NIn, class Fn>
void channel_map(const ChannelDims& d, const std::array<const Tensor*, NIn>& ins, Tensor& out,
                 Fn&& fn) {
  const std::int64_t rows = d.S == 1 ? d.N : d.N * d.C;
  const std::int64_t len = d.S == 1 ? d.C : d.S;
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (std::int64_t r = 0; r < rows; ++r) {
    alignas(64) float buf[NIn][kBlock];
    alignas(64) float out_buf[kBlock];
    for (std::int64_t j = 0; j < len; j += kBlock) {
      const std::int64_t n = std::min(kBlock, len - j);
      const std::int64_t begin = r * len + j;
      std::array<const float*, NIn> in{};
      for (std::size_t k = 0; k < NIn; ++k) in[k] = read_f32(*ins[k], begin, n, buf[k]);
      float* o = out_f32(out, begin, out_buf);
      if (d.S == 1) {
#pragma omp simd
        for (std::int64_t i = 0; i < n; ++i) o[i] = fn(j + i, in, i);
      } else {
        const std::int64_t c = r % d.C;
#pragma omp simd
        for (std::int64_t i = 0; i < n; ++i) o[i] = fn(c, in, i);
      }
      write_back(out, begin, n, o);
    }
  }
}

// Synchronised BatchNorm (Backend::RankSum): `parts` (per-channel sums of
// this rank's rows), and the row count unless it is negative, summed over the
// ranks in place as one fp32 buffer. Returns the ranks' row count.
std::int64_t sum_over_ranks(const Backend::RankSum& across,
                            std::initializer_list<std::vector<double>*> parts, std::int64_t rows) {
  std::vector<float> buf;
  for (const std::vector<double>* p : parts)
    for (double v : *p) buf.push_back(float(v));
  if (rows >= 0) buf.push_back(float(rows));
  across(buf);
  std::size_t at = 0;
  for (std::vector<double>* p : parts)
    for (double& v : *p) v = double(buf[at++]);
  return rows >= 0 ? std::int64_t(buf[at]) : rows;
}

}  // namespace

void CpuBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         Tensor& y, Tensor& running_mean, Tensor& running_var,
                                         Tensor& save_mean, Tensor& save_invstd, float momentum,
                                         float eps, const RankSum* across) {
  const ChannelDims d = bn_dims(x);
  MANTISSA_ASSERT(y.shape() == x.shape(), "batch norm: y must have x's shape");
  for (const Tensor* t : std::initializer_list<const Tensor*>{
           &gamma, &beta, &running_mean, &running_var, &save_mean, &save_invstd}) {
    check_per_channel(*t, d.C, "gamma, beta and statistics");
  }
  std::int64_t count = d.N * d.S;
  MANTISSA_ASSERT(count > 0 || across != nullptr, "batch norm over an empty batch");
  const std::array<const Tensor*, 1> xs{&x};

  // Two passes (mean, then squared deviations) so large means do not cancel.
  auto sums = channel_sums<1>(d, xs, [](std::int64_t, const auto& in, std::int64_t i) {
    return std::pair{in[0][i], 0.0f};
  });
  if (across != nullptr) count = sum_over_ranks(*across, {&sums[0]}, count);
  MANTISSA_ASSERT(count > 0, "batch norm over an empty batch on every rank");
  std::vector<float> mean(std::size_t(d.C));
  for (std::int64_t c = 0; c < d.C; ++c)
    mean[std::size_t(c)] = float(sums[0][std::size_t(c)] / double(count));
  const float* m = mean.data();
  auto dev = channel_sums<1>(d, xs, [m](std::int64_t c, const auto& in, std::int64_t i) {
    const float t = in[0][i] - m[c];
    return std::pair{t * t, 0.0f};
  });
  if (across != nullptr) sum_over_ranks(*across, {&dev[0]}, -1);

  float* rm = running_mean.data_as<float>();
  float* rv = running_var.data_as<float>();
  float* sm = save_mean.data_as<float>();
  float* si = save_invstd.data_as<float>();
  const float* g = gamma.data_as<const float>();
  const float* b = beta.data_as<const float>();
  std::vector<float> mul(std::size_t(d.C)), add(std::size_t(d.C));
  for (std::int64_t c = 0; c < d.C; ++c) {
    const std::size_t k = std::size_t(c);
    const double var = dev[0][k] / double(count);  // biased: normalises the batch
    // Running variance is unbiased (PyTorch); a single value has none, so the
    // biased one stands in rather than a division by zero.
    const double unbiased = count > 1 ? dev[0][k] / double(count - 1) : var;
    const float invstd = float(1.0 / std::sqrt(var + double(eps)));
    sm[c] = mean[k];
    si[c] = invstd;
    rm[c] = (1.0f - momentum) * rm[c] + momentum * mean[k];
    rv[c] = (1.0f - momentum) * rv[c] + momentum * float(unbiased);
    mul[k] = g[c] * invstd;
    add[k] = b[c] - mean[k] * mul[k];
  }
  const float* mu = mul.data();
  const float* ad = add.data();
  channel_map<1>(d, xs, y, [mu, ad](std::int64_t c, const auto& in, std::int64_t i) {
    return in[0][i] * mu[c] + ad[c];
  });
}

void CpuBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         Tensor& y, float eps) {
  const ChannelDims d = bn_dims(x);
  MANTISSA_ASSERT(y.shape() == x.shape(), "batch norm: y must have x's shape");
  for (const Tensor* t :
       std::initializer_list<const Tensor*>{&gamma, &beta, &running_mean, &running_var}) {
    check_per_channel(*t, d.C, "gamma, beta and running statistics");
  }
  const float* g = gamma.data_as<const float>();
  const float* b = beta.data_as<const float>();
  const float* rm = running_mean.data_as<const float>();
  const float* rv = running_var.data_as<const float>();
  std::vector<float> mul(std::size_t(d.C)), add(std::size_t(d.C));
  for (std::int64_t c = 0; c < d.C; ++c) {
    const float invstd = float(1.0 / std::sqrt(double(rv[c]) + double(eps)));
    mul[std::size_t(c)] = g[c] * invstd;
    add[std::size_t(c)] = b[c] - rm[c] * mul[std::size_t(c)];
  }
  const float* mu = mul.data();
  const float* ad = add.data();
  channel_map<1>(d, {&x}, y, [mu, ad](std::int64_t c, const auto& in, std::int64_t i) {
    return in[0][i] * mu[c] + ad[c];
  });
}

void CpuBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                    const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                    Tensor& dgamma, Tensor& dbeta, const RankSum* across) {
  const ChannelDims d = bn_dims(x);
  MANTISSA_ASSERT(dy.shape() == x.shape() && dx.shape() == x.shape(),
                  "batch norm backward: dy and dx must have x's shape");
  for (const Tensor* t :
       std::initializer_list<const Tensor*>{&gamma, &save_mean, &save_invstd, &dgamma, &dbeta}) {
    check_per_channel(*t, d.C, "gamma, saved statistics and gradients");
  }
  const float* m = save_mean.data_as<const float>();
  const float* is = save_invstd.data_as<const float>();
  const float* g = gamma.data_as<const float>();
  const std::array<const Tensor*, 2> ins{&x, &dy};

  // dbeta = sum(dy), dgamma = sum(dy * xhat)
  auto sums =
      channel_sums<2>(d, ins, [m, is](std::int64_t c, const auto& in, std::int64_t i) {
        const float xhat = (in[0][i] - m[c]) * is[c];
        return std::pair{in[1][i], in[1][i] * xhat};
      });
  float* dg = dgamma.data_as<float>();
  float* db = dbeta.data_as<float>();
  for (std::int64_t c = 0; c < d.C; ++c) {  // this rank's share
    db[c] = float(sums[0][std::size_t(c)]);
    dg[c] = float(sums[1][std::size_t(c)]);
  }
  double count = double(d.N * d.S);
  if (across != nullptr) count = double(sum_over_ranks(*across, {&sums[0], &sums[1]}, d.N * d.S));
  std::vector<float> k_dy(std::size_t(d.C)), mean_dy(std::size_t(d.C)), mean_dyx(std::size_t(d.C));
  for (std::int64_t c = 0; c < d.C; ++c) {
    const std::size_t k = std::size_t(c);
    k_dy[k] = g[c] * is[c];
    mean_dy[k] = float(sums[0][k] / count);
    mean_dyx[k] = float(sums[1][k] / count);
  }
  // dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
  const float* kd = k_dy.data();
  const float* mdy = mean_dy.data();
  const float* mdx = mean_dyx.data();
  channel_map<2>(d, ins, dx, [=](std::int64_t c, const auto& in, std::int64_t i) {
    const float xhat = (in[0][i] - m[c]) * is[c];
    return kd[c] * (in[1][i] - mdy[c] - xhat * mdx[c]);
  });
}

}  // namespace mantissa::cpu
