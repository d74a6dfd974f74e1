#include "reference_ops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace mantissa::reference {

std::vector<float> random_values(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<float> round_to(DType t, const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    switch (t) {
      case DType::F32:
        out[i] = v[i];
        break;
      case DType::F16:
        out[i] = f16_to_f32(f32_to_f16(v[i]));
        break;
      case DType::BF16:
        out[i] = bf16_to_f32(f32_to_bf16(v[i]));
        break;
    }
  }
  return out;
}

Vec to_double(const std::vector<float>& v) {
  return Vec(v.begin(), v.end());
}

double unit_roundoff(DType t) {
  switch (t) {
    case DType::F32:
      return std::ldexp(1.0, -24);
    case DType::F16:
      return std::ldexp(1.0, -11);
    case DType::BF16:
      return std::ldexp(1.0, -8);
  }
  return 0.0;
}

testing::AssertionResult all_close(const std::vector<float>& actual, const Vec& expected,
                                   const Vec& abs_tol, double rel_tol) {
  if (actual.size() != expected.size()) {
    return testing::AssertionFailure() << "size " << actual.size() << " != " << expected.size();
  }
  std::size_t worst = 0, bad = 0;
  double worst_ratio = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double err = std::abs(double(actual[i]) - expected[i]);
    const double tol = abs_tol[i] + rel_tol * std::abs(expected[i]);
    const double ratio =
        std::isnan(err) ? std::numeric_limits<double>::infinity() : err / std::max(tol, 1e-300);
    if (!(err <= tol)) ++bad;
    if (ratio > worst_ratio || (i == 0 && bad)) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (bad == 0) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << bad << " of " << actual.size() << " values out of tolerance; worst at " << worst
         << ": got " << actual[worst] << ", expected " << expected[worst] << " (tolerance "
         << abs_tol[worst] + rel_tol * std::abs(expected[worst]) << ")";
}

testing::AssertionResult all_close(const std::vector<float>& actual, const Vec& expected,
                                   double abs_tol, double rel_tol) {
  return all_close(actual, expected, Vec(expected.size(), abs_tol), rel_tol);
}

Vec matmul(const std::vector<float>& a, bool trans_a, const std::vector<float>& b, bool trans_b,
           std::int64_t M, std::int64_t K, std::int64_t N, const std::vector<float>& c_in,
           double beta, Vec* magnitude) {
  Vec c(std::size_t(M * N), 0.0);
  if (magnitude) magnitude->assign(std::size_t(M * N), 0.0);
  for (std::int64_t m = 0; m < M; ++m) {
    for (std::int64_t n = 0; n < N; ++n) {
      double sum = 0.0, mag = 0.0;
      for (std::int64_t k = 0; k < K; ++k) {
        const double av = trans_a ? a[std::size_t(k * M + m)] : a[std::size_t(m * K + k)];
        const double bv = trans_b ? b[std::size_t(n * K + k)] : b[std::size_t(k * N + n)];
        sum += av * bv;
        mag += std::abs(av * bv);
      }
      const std::size_t i = std::size_t(m * N + n);
      if (beta != 0.0) {
        sum += beta * c_in[i];
        mag += std::abs(beta * c_in[i]);
      }
      c[i] = sum;
      if (magnitude) (*magnitude)[i] = mag;
    }
  }
  return c;
}

namespace {

// Index helpers for NCHW / OIHW.
std::size_t at4(std::int64_t d1, std::int64_t d2, std::int64_t d3, std::int64_t i0, std::int64_t i1,
                std::int64_t i2, std::int64_t i3) {
  return std::size_t(((i0 * d1 + i1) * d2 + i2) * d3 + i3);
}

}  // namespace

Vec conv2d_forward(const ConvShape& s, const std::vector<float>& x, const std::vector<float>& w,
                   const std::vector<float>* bias) {
  const std::int64_t OH = s.out_h(), OW = s.out_w();
  Vec y(std::size_t(s.N * s.O * OH * OW), 0.0);
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t o = 0; o < s.O; ++o)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          double sum = bias ? double((*bias)[std::size_t(o)]) : 0.0;
          for (std::int64_t c = 0; c < s.C; ++c)
            for (std::int64_t kh = 0; kh < s.KH; ++kh)
              for (std::int64_t kw = 0; kw < s.KW; ++kw) {
                const std::int64_t ih = oh * s.stride_h - s.pad_h + kh;
                const std::int64_t iw = ow * s.stride_w - s.pad_w + kw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                sum += double(x[at4(s.C, s.H, s.W, n, c, ih, iw)]) *
                       double(w[at4(s.C, s.KH, s.KW, o, c, kh, kw)]);
              }
          y[at4(s.O, OH, OW, n, o, oh, ow)] = sum;
        }
  return y;
}

// The backward passes scatter each output position's contribution back,
// the transpose of the forward loop.
Vec conv2d_backward_data(const ConvShape& s, const std::vector<float>& dy,
                         const std::vector<float>& w) {
  const std::int64_t OH = s.out_h(), OW = s.out_w();
  Vec dx(std::size_t(s.N * s.C * s.H * s.W), 0.0);
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t o = 0; o < s.O; ++o)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const double g = dy[at4(s.O, OH, OW, n, o, oh, ow)];
          for (std::int64_t c = 0; c < s.C; ++c)
            for (std::int64_t kh = 0; kh < s.KH; ++kh)
              for (std::int64_t kw = 0; kw < s.KW; ++kw) {
                const std::int64_t ih = oh * s.stride_h - s.pad_h + kh;
                const std::int64_t iw = ow * s.stride_w - s.pad_w + kw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                dx[at4(s.C, s.H, s.W, n, c, ih, iw)] +=
                    g * double(w[at4(s.C, s.KH, s.KW, o, c, kh, kw)]);
              }
        }
  return dx;
}

Vec conv2d_backward_weights(const ConvShape& s, const std::vector<float>& x,
                            const std::vector<float>& dy) {
  const std::int64_t OH = s.out_h(), OW = s.out_w();
  Vec dw(std::size_t(s.O * s.C * s.KH * s.KW), 0.0);
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t o = 0; o < s.O; ++o)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const double g = dy[at4(s.O, OH, OW, n, o, oh, ow)];
          for (std::int64_t c = 0; c < s.C; ++c)
            for (std::int64_t kh = 0; kh < s.KH; ++kh)
              for (std::int64_t kw = 0; kw < s.KW; ++kw) {
                const std::int64_t ih = oh * s.stride_h - s.pad_h + kh;
                const std::int64_t iw = ow * s.stride_w - s.pad_w + kw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                dw[at4(s.C, s.KH, s.KW, o, c, kh, kw)] +=
                    g * double(x[at4(s.C, s.H, s.W, n, c, ih, iw)]);
              }
        }
  return dw;
}

Vec conv2d_backward_bias(const ConvShape& s, const std::vector<float>& dy) {
  const std::int64_t plane = s.out_h() * s.out_w();
  Vec db(std::size_t(s.O), 0.0);
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t o = 0; o < s.O; ++o)
      for (std::int64_t i = 0; i < plane; ++i)
        db[std::size_t(o)] += dy[std::size_t((n * s.O + o) * plane + i)];
  return db;
}

namespace {

// Visits every pooling window: fn(plane_offset_in, out_index, list of input
// indices inside the image).
template <class Fn>
void for_each_window(const PoolShape& s, Fn&& fn) {
  const std::int64_t OH = s.out_h(), OW = s.out_w();
  std::vector<std::size_t> idx;
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t c = 0; c < s.C; ++c)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          idx.clear();
          for (std::int64_t kh = 0; kh < s.KH; ++kh)
            for (std::int64_t kw = 0; kw < s.KW; ++kw) {
              const std::int64_t ih = oh * s.stride_h - s.pad_h + kh;
              const std::int64_t iw = ow * s.stride_w - s.pad_w + kw;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              idx.push_back(at4(s.C, s.H, s.W, n, c, ih, iw));
            }
          fn(at4(s.C, OH, OW, n, c, oh, ow), idx);
        }
}

}  // namespace

Vec max_pool_forward(const PoolShape& s, const std::vector<float>& x) {
  Vec y(std::size_t(s.N * s.C * s.out_h() * s.out_w()));
  for_each_window(s, [&](std::size_t o, const std::vector<std::size_t>& idx) {
    double m = -std::numeric_limits<double>::infinity();
    for (auto i : idx) m = std::max(m, double(x[i]));
    y[o] = m;
  });
  return y;
}

Vec max_pool_backward(const PoolShape& s, const std::vector<float>& x,
                      const std::vector<float>& dy) {
  Vec dx(x.size(), 0.0);
  for_each_window(s, [&](std::size_t o, const std::vector<std::size_t>& idx) {
    std::size_t best = idx.front();
    for (auto i : idx) {
      if (x[i] > x[best]) best = i;
    }
    dx[best] += dy[o];
  });
  return dx;
}

Vec avg_pool_forward(const PoolShape& s, const std::vector<float>& x) {
  Vec y(std::size_t(s.N * s.C * s.out_h() * s.out_w()));
  for_each_window(s, [&](std::size_t o, const std::vector<std::size_t>& idx) {
    double sum = 0.0;
    for (auto i : idx) sum += x[i];
    y[o] = sum / double(idx.size());
  });
  return y;
}

Vec avg_pool_backward(const PoolShape& s, const std::vector<float>& dy) {
  Vec dx(std::size_t(s.N * s.C * s.H * s.W), 0.0);
  for_each_window(s, [&](std::size_t o, const std::vector<std::size_t>& idx) {
    for (auto i : idx) dx[i] += dy[o] / double(idx.size());
  });
  return dx;
}

BatchNormResult batchnorm_train(const std::vector<float>& x, std::int64_t N, std::int64_t C,
                                std::int64_t S, const std::vector<float>& gamma,
                                const std::vector<float>& beta,
                                const std::vector<float>& running_mean,
                                const std::vector<float>& running_var, double momentum,
                                double eps) {
  BatchNormResult r;
  r.y.resize(x.size());
  const double count = double(N * S);
  for (std::int64_t c = 0; c < C; ++c) {
    double sum = 0.0;
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t s = 0; s < S; ++s) sum += x[std::size_t((n * C + c) * S + s)];
    const double mean = sum / count;
    double sq = 0.0;
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t s = 0; s < S; ++s) {
        const double d = x[std::size_t((n * C + c) * S + s)] - mean;
        sq += d * d;
      }
    const double var = sq / count;
    const double invstd = 1.0 / std::sqrt(var + eps);
    r.mean.push_back(mean);
    r.invstd.push_back(invstd);
    r.running_mean.push_back((1.0 - momentum) * running_mean[std::size_t(c)] + momentum * mean);
    r.running_var.push_back((1.0 - momentum) * running_var[std::size_t(c)] +
                            momentum * sq / (count - 1.0));
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t s = 0; s < S; ++s) {
        const std::size_t i = std::size_t((n * C + c) * S + s);
        r.y[i] = (x[i] - mean) * invstd * gamma[std::size_t(c)] + beta[std::size_t(c)];
      }
  }
  return r;
}

Vec batchnorm_infer(const std::vector<float>& x, std::int64_t N, std::int64_t C, std::int64_t S,
                    const std::vector<float>& gamma, const std::vector<float>& beta,
                    const std::vector<float>& running_mean, const std::vector<float>& running_var,
                    double eps) {
  Vec y(x.size());
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t s = 0; s < S; ++s) {
        const std::size_t i = std::size_t((n * C + c) * S + s);
        const std::size_t k = std::size_t(c);
        y[i] =
            (x[i] - running_mean[k]) / std::sqrt(double(running_var[k]) + eps) * gamma[k] + beta[k];
      }
  return y;
}

namespace {

// Gradient with respect to x of f(x) = sum_j w_j * xhat_j(x), where xhat
// normalises the whole vector x (one batch-norm channel or layer-norm row),
// by central differences: an independent check of hand-derived backward
// formulas. Double precision keeps the error near 1e-9.
Vec group_input_grad(const Vec& x, const Vec& w, double eps) {
  auto f = [&](const Vec& v) {
    double mean = 0.0;
    for (double e : v) mean += e;
    mean /= double(v.size());
    double var = 0.0;
    for (double e : v) var += (e - mean) * (e - mean);
    const double invstd = 1.0 / std::sqrt(var / double(v.size()) + eps);
    double out = 0.0;
    for (std::size_t j = 0; j < v.size(); ++j) out += w[j] * (v[j] - mean) * invstd;
    return out;
  };
  Vec xs = x;
  Vec grad(x.size());
  const double h = 1e-5;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double keep = xs[i];
    xs[i] = keep + h;
    const double up = f(xs);
    xs[i] = keep - h;
    const double down = f(xs);
    xs[i] = keep;
    grad[i] = (up - down) / (2.0 * h);
  }
  return grad;
}

// Splits x into groups (group_of(i) in [0, groups)), differentiates each, and
// accumulates dgamma / dbeta per param_of(i).
template <class GroupOf, class ParamOf>
NormGrads grouped_norm_grads(const std::vector<float>& x, const std::vector<float>& dy,
                             const std::vector<float>& gamma, std::size_t groups, double eps,
                             GroupOf&& group_of, ParamOf&& param_of) {
  std::vector<std::vector<std::size_t>> members(groups);
  for (std::size_t i = 0; i < x.size(); ++i) members[group_of(i)].push_back(i);
  NormGrads g;
  g.dx.assign(x.size(), 0.0);
  g.dgamma.assign(gamma.size(), 0.0);
  g.dbeta.assign(gamma.size(), 0.0);
  for (const auto& idx : members) {
    Vec xs, w;
    for (auto i : idx) {
      xs.push_back(x[i]);
      w.push_back(double(dy[i]) * gamma[param_of(i)]);
    }
    const Vec dxs = group_input_grad(xs, w, eps);
    double mean = 0.0;
    for (double e : xs) mean += e;
    mean /= double(xs.size());
    double var = 0.0;
    for (double e : xs) var += (e - mean) * (e - mean);
    const double invstd = 1.0 / std::sqrt(var / double(xs.size()) + eps);
    for (std::size_t j = 0; j < idx.size(); ++j) {
      g.dx[idx[j]] = dxs[j];
      g.dgamma[param_of(idx[j])] += dy[idx[j]] * (xs[j] - mean) * invstd;
      g.dbeta[param_of(idx[j])] += dy[idx[j]];
    }
  }
  return g;
}

}  // namespace

NormGrads batchnorm_backward(const std::vector<float>& x, const std::vector<float>& dy,
                             std::int64_t N, std::int64_t C, std::int64_t S,
                             const std::vector<float>& gamma, double eps) {
  (void)N;
  auto channel = [C, S](std::size_t i) { return std::size_t((std::int64_t(i) / S) % C); };
  return grouped_norm_grads(x, dy, gamma, std::size_t(C), eps, channel, channel);
}

LayerNormResult layernorm_forward(const std::vector<float>& x, std::int64_t rows, std::int64_t D,
                                  const std::vector<float>& gamma, const std::vector<float>& beta,
                                  double eps) {
  LayerNormResult r;
  r.y.resize(x.size());
  for (std::int64_t row = 0; row < rows; ++row) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < D; ++i) sum += x[std::size_t(row * D + i)];
    const double mean = sum / double(D);
    double sq = 0.0;
    for (std::int64_t i = 0; i < D; ++i) {
      const double d = x[std::size_t(row * D + i)] - mean;
      sq += d * d;
    }
    const double invstd = 1.0 / std::sqrt(sq / double(D) + eps);
    r.mean.push_back(mean);
    r.invstd.push_back(invstd);
    for (std::int64_t i = 0; i < D; ++i) {
      const std::size_t k = std::size_t(row * D + i);
      r.y[k] = (x[k] - mean) * invstd * gamma[std::size_t(i)] + beta[std::size_t(i)];
    }
  }
  return r;
}

NormGrads layernorm_backward(const std::vector<float>& x, const std::vector<float>& dy,
                             std::int64_t rows, std::int64_t D, const std::vector<float>& gamma,
                             double eps) {
  auto row_of = [D](std::size_t i) { return std::size_t(std::int64_t(i) / D); };
  auto feature = [D](std::size_t i) { return std::size_t(std::int64_t(i) % D); };
  return grouped_norm_grads(x, dy, gamma, std::size_t(rows), eps, row_of, feature);
}

double activation(Act act, double alpha, double x) {
  switch (act) {
    case Act::Relu:
      return x > 0.0 ? x : 0.0;
    case Act::LeakyRelu:
      return x > 0.0 ? x : alpha * x;
    case Act::Gelu:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Act::Tanh:
      return std::tanh(x);
    case Act::Sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
  }
  return 0.0;
}

double activation_grad(Act act, double alpha, double x) {
  switch (act) {
    case Act::Relu:
      return x > 0.0 ? 1.0 : 0.0;
    case Act::LeakyRelu:
      return x > 0.0 ? 1.0 : alpha;
    case Act::Gelu: {
      const double pi = 3.14159265358979323846;
      return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) +
             x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * pi);
    }
    case Act::Tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case Act::Sigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 - s);
    }
  }
  return 0.0;
}

LossResult softmax_cross_entropy(const std::vector<float>& logits, const std::vector<float>& labels,
                                 std::int64_t N, std::int64_t C, double scale) {
  LossResult r{0.0, Vec(logits.size())};
  for (std::int64_t n = 0; n < N; ++n) {
    const auto label = std::size_t(labels[std::size_t(n)]);
    double mx = -std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < C; ++i) mx = std::max(mx, double(logits[std::size_t(n * C + i)]));
    double sum = 0.0;
    for (std::int64_t i = 0; i < C; ++i) sum += std::exp(logits[std::size_t(n * C + i)] - mx);
    r.loss += -(logits[std::size_t(n * C) + label] - mx - std::log(sum));
    for (std::int64_t i = 0; i < C; ++i) {
      const double p = std::exp(logits[std::size_t(n * C + i)] - mx) / sum;
      r.grad[std::size_t(n * C + i)] =
          (p - (std::size_t(i) == label ? 1.0 : 0.0)) / double(N) * scale;
    }
  }
  r.loss /= double(N);
  return r;
}

LossResult mse(const std::vector<float>& pred, const std::vector<float>& target, double scale) {
  LossResult r{0.0, Vec(pred.size())};
  const double n = double(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const double d = double(pred[i]) - double(target[i]);
    r.loss += d * d / n;
    r.grad[i] = 2.0 * d / n * scale;
  }
  return r;
}

}  // namespace mantissa::reference
