// Losses and the mixed-precision machinery (unscale + finite check, squared
// norms). Scalars stay in backend tensors; nothing here reads back to a host
// variable the caller sees.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cpu {

namespace {

// fp32 values per chunk of the cross-entropy's rows (1 MiB per buffer).
constexpr std::int64_t kLossChunkValues = std::int64_t(1) << 18;

void check_scalar(const Tensor& t, const char* what) {
  MANTISSA_ASSERT(t.dtype() == DType::F32 && t.numel() == 1,
                  std::string(what) + " must be a one-element f32 tensor, got " + t.describe());
}

// (N, C) logits in any float dtype and N labels holding class indices in
// [0, C). Datasets validate labels on load, so a bad one here is an engine bug.
void check_logits_labels(const Tensor& logits, const Tensor& labels) {
  MANTISSA_ASSERT(logits.rank() == 2, "logits must be (N, C), got " + logits.describe());
  MANTISSA_ASSERT(labels.dtype() == DType::F32 && labels.numel() == logits.dim(0),
                  "labels must be N f32 class indices, got " + labels.describe());
  const float* lab = labels.data_as<const float>();
  const float classes = float(logits.dim(1));
  for (std::int64_t n = 0; n < labels.numel(); ++n) {
    MANTISSA_ASSERT(lab[n] >= 0.0f && lab[n] < classes && lab[n] == std::floor(lab[n]),
                    "label " + std::to_string(lab[n]) + " of row " + std::to_string(n) +
                        " is not a class index below " + std::to_string(logits.dim(1)));
  }
}

}  // namespace

void CpuBackend::softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor& loss,
                                       Tensor& dlogits, const Tensor& scale) {
  check_logits_labels(logits, labels);
  check_scalar(loss, "cross-entropy loss");
  check_scalar(scale, "loss scale");
  MANTISSA_ASSERT(dlogits.shape() == logits.shape(), "dlogits must have logits' shape");
  const std::int64_t N = logits.dim(0);
  const std::int64_t C = logits.dim(1);
  MANTISSA_ASSERT(N > 0 && C > 0, "cross-entropy over an empty batch");
  const float* lab = labels.data_as<const float>();
  const float coef = float(double(scale.data_as<const float>()[0]) / double(N));

  // oneDNN's softmax and log-softmax (vectorised exp and log): the gradient
  // from p = exp(x - max) / sum, the loss from log p = x - max - log sum.
  // Rows go through in chunks of about a megabyte of fp32, so the fp32 work
  // never needs an N x C copy of 16-bit logits (which would be the largest
  // buffer of a language model's step); every row is computed alone, so the
  // chunking changes no bits.
  const std::int64_t chunk = std::clamp<std::int64_t>(kLossChunkValues / C, 1, N);
  auto lock = dnnl_.lock();
  const auto get = [&](PrimitiveOp op, dnnl::algorithm algorithm, std::int64_t rows) {
    // Keyed as softmax_forward keys its own: shapes and the (f32) output.
    const CachedPrimitive* p =
        dnnl_.find_or_make(PrimitiveKey(op, {rows, C, std::int64_t(DType::F32)}), [&] {
          const dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm,
                                                 plain_md({rows, C}, dnnl_dt::f32),
                                                 plain_md({rows, C}, dnnl_dt::f32), 1);
          return dnnl::primitive_desc(dnnl::softmax_v2_forward::primitive_desc(
              d, DnnlContext::attr(), dnnl_.engine(), /*allow_empty=*/true));
        });
    MANTISSA_ASSERT(p != nullptr, "oneDNN has no f32 softmax");
    return p;
  };
  float* x32 = logits.dtype() == DType::F32 ? nullptr : dnnl_.staging(0, std::size_t(chunk * C));
  float* logp = dnnl_.staging(1, std::size_t(chunk * C));
  float* g32 = dlogits.dtype() == DType::F32 ? nullptr : dnnl_.staging(2, std::size_t(chunk * C));
  std::vector<double> row_loss(static_cast<std::size_t>(N));
  for (std::int64_t first = 0; first < N; first += chunk) {
    const std::int64_t rows = std::min(chunk, N - first), values = rows * C;
    const float* x = read_f32(logits, first * C, values, x32);
    float* g = out_f32(dlogits, first * C, g32);
    dnnl_.execute(*get(PrimitiveOp::LogSoftmaxForward, dnnl::algorithm::softmax_log, rows),
                  {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, logp}});
    dnnl_.execute(*get(PrimitiveOp::SoftmaxForward, dnnl::algorithm::softmax_accurate, rows),
                  {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, g}});
#pragma omp parallel for schedule(static) if (values >= kParallelMin)
    for (std::int64_t n = 0; n < rows; ++n) {
      const auto label = std::int64_t(lab[first + n]);
      row_loss[std::size_t(first + n)] = -double(logp[n * C + label]);
      float* row = g + n * C;
#pragma omp simd
      for (std::int64_t i = 0; i < C; ++i) row[i] *= coef;
      row[label] -= coef;
    }
    write_back(dlogits, first * C, values, g);
  }
  double total = 0.0;  // in row order, so the loss does not depend on threads
  for (double l : row_loss) total += l;
  loss.data_as<float>()[0] = float(total / double(N));
}

void CpuBackend::mse_loss(const Tensor& pred, const Tensor& target, Tensor& loss, Tensor& dpred,
                          const Tensor& scale) {
  MANTISSA_ASSERT(pred.dtype() == DType::F32 && target.dtype() == DType::F32 &&
                      pred.shape() == target.shape() && dpred.shape() == pred.shape(),
                  "mse_loss: pred and target must be f32 of one shape, got " + pred.describe() +
                      " and " + target.describe());
  check_scalar(loss, "mse loss");
  check_scalar(scale, "loss scale");
  const std::int64_t total = pred.numel();
  MANTISSA_ASSERT(total > 0, "mse_loss over an empty batch");
  const float coef = float(2.0 * double(scale.data_as<const float>()[0]) / double(total));
  std::vector<double> block_sums(std::size_t((total + kBlock - 1) / kBlock), 0.0);
  map_blocks<2, 1>(total, {&pred, &target}, {&dpred},
                   [&](auto in, auto out, std::int64_t n, std::int64_t begin) {
                     const float* p = in[0];
                     const float* t = in[1];
                     float* g = out[0];
                     float s = 0.0f;
#pragma omp simd reduction(+ : s)
                     for (std::int64_t i = 0; i < n; ++i) {
                       const float diff = p[i] - t[i];
                       s += diff * diff;
                       g[i] = coef * diff;
                     }
                     block_sums[std::size_t(begin / kBlock)] = s;
                   });
  double sum = 0.0;
  for (double s : block_sums) sum += s;
  loss.data_as<float>()[0] = float(sum / double(total));
}

void CpuBackend::count_correct(const Tensor& logits, const Tensor& labels, Tensor& correct) {
  check_logits_labels(logits, labels);
  MANTISSA_ASSERT(logits.dtype() == DType::F32, "count_correct takes f32 logits, got " +
                                                    logits.describe());
  check_scalar(correct, "correct count");
  const std::int64_t N = logits.dim(0);
  const std::int64_t C = logits.dim(1);
  const float* x = logits.data_as<const float>();
  const float* lab = labels.data_as<const float>();
  std::int64_t hits = 0;
#pragma omp parallel for reduction(+ : hits) if (N * C >= kParallelMin)
  for (std::int64_t n = 0; n < N; ++n) {
    const float* row = x + n * C;
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < C; ++i) {
      if (row[i] > row[best]) best = i;  // strict: the first maximum wins
    }
    hits += best == std::int64_t(lab[n]) ? 1 : 0;
  }
  correct.data_as<float>()[0] += float(hits);
}

void CpuBackend::unscale_and_check(std::span<const Tensor> grads, const Tensor& scale,
                                   Tensor& found_inf) {
  check_scalar(scale, "loss scale");
  check_scalar(found_inf, "found_inf");
  const float inv = float(1.0 / double(scale.data_as<const float>()[0]));
  float* flag = found_inf.data_as<float>();
  for (std::size_t k = 0; k < grads.size(); ++k) {
    // Handles are shared, so unscaling through a copy writes the caller's tensor.
    Tensor g = grads[k];
    std::atomic<bool> bad{false};
    map_blocks<1, 1>(g.numel(), {&g}, {&g}, [&](auto in, auto out, std::int64_t n, auto) {
      const float* v = in[0];
      float* o = out[0];
      int any = 0;
      // The check looks at the value before unscaling, as GradScaler does.
#pragma omp simd reduction(| : any)
      for (std::int64_t i = 0; i < n; ++i) {
        any |= is_nonfinite(v[i]) ? 1 : 0;
        o[i] = v[i] * inv;
      }
      if (any) bad.store(true, std::memory_order_relaxed);
    });
    if (bad.load() && flag[0] == 0.0f) flag[0] = float(k + 1);
  }
}

void CpuBackend::sum_squares(std::span<const Tensor> grads, Tensor& out) {
  check_scalar(out, "sum_squares output");
  // fp32 sums per block of 1024; blocks and tensors are added in double.
  double total = 0.0;
  for (const Tensor& g : grads) {
    const std::int64_t n = g.numel();
    const std::int64_t blocks = (n + kBlock - 1) / kBlock;
    double part = 0.0;
#pragma omp parallel for reduction(+ : part) schedule(static) if (n >= kParallelMin)
    for (std::int64_t b = 0; b < blocks; ++b) {
      alignas(64) float buf[kBlock];
      const std::int64_t len = std::min(kBlock, n - b * kBlock);
      const float* v = read_f32(g, b * kBlock, len, buf);
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (std::int64_t i = 0; i < len; ++i) s += v[i] * v[i];
      part += s;
    }
    total += part;
  }
  out.data_as<float>()[0] = float(total);
}

}  // namespace mantissa::cpu
