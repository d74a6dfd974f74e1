#pragma once
// Plain reference implementations of the backend ops, for tests only: direct
// loops in double precision over host vectors, written from the definitions
// (not from any backend), so every backend can be checked against them.
// Layouts are the backend's: dense row-major, NCHW images, OIHW weights.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "mantissa/dtype.hpp"

namespace mantissa::reference {

using Vec = std::vector<double>;

// ---- test data and comparison ------------------------------------------------

// n values uniform in [lo, hi), reproducible from seed.
std::vector<float> random_values(std::size_t n, std::uint64_t seed, float lo = -1.0f,
                                 float hi = 1.0f);
// v rounded to what a tensor of dtype t stores (PRECISION.md rounding).
std::vector<float> round_to(DType t, const std::vector<float>& v);
Vec to_double(const std::vector<float>& v);
// Unit roundoff of storing a value in t: 2^-24, 2^-11, 2^-8.
double unit_roundoff(DType t);

// Checks |actual[i] - expected[i]| <= abs_tol[i] + rel_tol * |expected[i]|
// for every i; reports the worst offender.
testing::AssertionResult all_close(const std::vector<float>& actual, const Vec& expected,
                                   const Vec& abs_tol, double rel_tol);
testing::AssertionResult all_close(const std::vector<float>& actual, const Vec& expected,
                                   double abs_tol, double rel_tol);

// ---- dense -------------------------------------------------------------------

// c = op(a) @ op(b) + beta * c_in, op(a) (M, K), op(b) (K, N). Also returns
// in `magnitude` the sum of |a_ik * b_kj| per output: the scale of rounding
// error any fp32 summation order can make.
Vec matmul(const std::vector<float>& a, bool trans_a, const std::vector<float>& b, bool trans_b,
           std::int64_t M, std::int64_t K, std::int64_t N, const std::vector<float>& c_in,
           double beta, Vec* magnitude);

// ---- convolution and pooling -------------------------------------------------

struct ConvShape {
  std::int64_t N, C, H, W, O, KH, KW, stride_h, stride_w, pad_h, pad_w;
  std::int64_t out_h() const { return (H + 2 * pad_h - KH) / stride_h + 1; }
  std::int64_t out_w() const { return (W + 2 * pad_w - KW) / stride_w + 1; }
};

Vec conv2d_forward(const ConvShape& s, const std::vector<float>& x, const std::vector<float>& w,
                   const std::vector<float>* bias);
Vec conv2d_backward_data(const ConvShape& s, const std::vector<float>& dy,
                         const std::vector<float>& w);
Vec conv2d_backward_weights(const ConvShape& s, const std::vector<float>& x,
                            const std::vector<float>& dy);
Vec conv2d_backward_bias(const ConvShape& s, const std::vector<float>& dy);

struct PoolShape {
  std::int64_t N, C, H, W, KH, KW, stride_h, stride_w, pad_h, pad_w;
  std::int64_t out_h() const { return (H + 2 * pad_h - KH) / stride_h + 1; }
  std::int64_t out_w() const { return (W + 2 * pad_w - KW) / stride_w + 1; }
};

// Max pooling ignores padding; average pooling divides by the number of real
// (non-padding) inputs in the window.
Vec max_pool_forward(const PoolShape& s, const std::vector<float>& x);
Vec max_pool_backward(const PoolShape& s, const std::vector<float>& x,
                      const std::vector<float>& dy);
Vec avg_pool_forward(const PoolShape& s, const std::vector<float>& x);
Vec avg_pool_backward(const PoolShape& s, const std::vector<float>& dy);

// ---- normalisation -----------------------------------------------------------

struct BatchNormResult {
  Vec y, mean, invstd, running_mean, running_var;
};
// x (N, C, S) flattened; batch statistics, PyTorch running-stat update.
BatchNormResult batchnorm_train(const std::vector<float>& x, std::int64_t N, std::int64_t C,
                                std::int64_t S, const std::vector<float>& gamma,
                                const std::vector<float>& beta,
                                const std::vector<float>& running_mean,
                                const std::vector<float>& running_var, double momentum, double eps);
Vec batchnorm_infer(const std::vector<float>& x, std::int64_t N, std::int64_t C, std::int64_t S,
                    const std::vector<float>& gamma, const std::vector<float>& beta,
                    const std::vector<float>& running_mean, const std::vector<float>& running_var,
                    double eps);
struct NormGrads {
  Vec dx, dgamma, dbeta;
};
// Gradients of batch norm (training mode) with respect to x, gamma and beta.
NormGrads batchnorm_backward(const std::vector<float>& x, const std::vector<float>& dy,
                             std::int64_t N, std::int64_t C, std::int64_t S,
                             const std::vector<float>& gamma, double eps);

struct LayerNormResult {
  Vec y, mean, invstd;
};
LayerNormResult layernorm_forward(const std::vector<float>& x, std::int64_t rows, std::int64_t D,
                                  const std::vector<float>& gamma, const std::vector<float>& beta,
                                  double eps);
NormGrads layernorm_backward(const std::vector<float>& x, const std::vector<float>& dy,
                             std::int64_t rows, std::int64_t D, const std::vector<float>& gamma,
                             double eps);

// ---- elementwise -------------------------------------------------------------

enum class Act { Relu, LeakyRelu, Gelu, Tanh, Sigmoid };
double activation(Act act, double alpha, double x);
double activation_grad(Act act, double alpha, double x);  // d act / dx at x

// ---- losses ------------------------------------------------------------------

struct LossResult {
  double loss;
  Vec grad;  // d loss / d input, times scale
};
LossResult softmax_cross_entropy(const std::vector<float>& logits, const std::vector<float>& labels,
                                 std::int64_t N, std::int64_t C, double scale);
LossResult mse(const std::vector<float>& pred, const std::vector<float>& target, double scale);

}  // namespace mantissa::reference
