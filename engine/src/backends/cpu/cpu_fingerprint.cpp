// The weight fingerprint on the CPU (Backend::weight_fingerprint): one pass
// over every master, in chunks across threads. Each chunk's sums are kept
// and added up in chunk order afterwards, and the checksum is a wrapping
// integer sum, so the result does not depend on the thread count.
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "mantissa/error.hpp"
#include "optim/fingerprint_rule.hpp"

namespace mantissa::cpu {

namespace {
constexpr std::int64_t kChunk = 16384;  // elements per work item

struct Piece {
  std::int64_t tensor, begin, n;
};

inline float value_of(const void* p, DType d, std::int64_t i, std::uint32_t& bits) {
  if (d == DType::F32) {
    const float v = static_cast<const float*>(p)[i];
    std::memcpy(&bits, &v, 4);
    return v;
  }
  const std::uint16_t h = static_cast<const std::uint16_t*>(p)[i];
  bits = h;
  return d == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

// One piece's sums. Four interleaved accumulators for each double sum (lane
// i % 4, added up as (0 + 1) + (2 + 3)): the order is fixed by the piece
// alone, as before, but four additions are in flight instead of one waiting
// on the last (the sums were a quarter of a small model's step).
struct PieceSums {
  double sq = 0, du = 0;
  std::uint64_t checksum = 0;
};

template <bool kF32, bool kPrevious>
PieceSums piece_sums(const void* data, const void* prev, DType d, std::int64_t tensor,
                     std::int64_t begin, std::int64_t n) {
  double sq[4] = {}, du[4] = {};
  std::uint64_t sum = 0;
  const auto load = [d](const void* p, std::int64_t i, std::uint32_t& bits) {
    if constexpr (kF32) {
      const float v = static_cast<const float*>(p)[i];
      std::memcpy(&bits, &v, 4);
      return v;
    } else {
      return value_of(p, d, i, bits);
    }
  };
  std::int64_t i = begin;
  const std::int64_t end = begin + n;
  const auto one = [&](std::int64_t at, int lane) {
    std::uint32_t bits = 0;
    const float v = load(data, at, bits);
    sq[lane] += double(v) * double(v);
    sum += rules::fingerprint_term(bits, tensor, at);
    if constexpr (kPrevious) {
      std::uint32_t unused = 0;
      const double diff = double(v) - double(load(prev, at, unused));
      du[lane] += diff * diff;
    }
  };
  for (; i + 4 <= end; i += 4)
    for (int lane = 0; lane < 4; ++lane) one(i + lane, lane);
  for (int lane = 0; i < end; ++i, ++lane) one(i, lane);
  return {(sq[0] + sq[1]) + (sq[2] + sq[3]), (du[0] + du[1]) + (du[2] + du[3]), sum};
}

#if defined(__x86_64__)
// The fp32 piece with AVX2: the same four lanes as piece_sums (lane i % 4 is
// vector lane i % 4; separate multiplies and adds, no FMA), so the same bits.
__attribute__((target("avx2"))) PieceSums piece_sums_avx2(const float* w, const float* prev,
                                                           std::int64_t tensor,
                                                           std::int64_t begin, std::int64_t n) {
  __m256d sq = _mm256_setzero_pd(), du = _mm256_setzero_pd();
  std::uint64_t sum = 0;
  std::int64_t i = begin;
  const std::int64_t end = begin + n;
  for (; i + 4 <= end; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(w + i));
    sq = _mm256_add_pd(sq, _mm256_mul_pd(v, v));
    if (prev != nullptr) {
      const __m256d diff = _mm256_sub_pd(v, _mm256_cvtps_pd(_mm_loadu_ps(prev + i)));
      du = _mm256_add_pd(du, _mm256_mul_pd(diff, diff));
    }
    for (int k = 0; k < 4; ++k) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, w + i + k, 4);
      sum += rules::fingerprint_term(bits, tensor, i + k);
    }
  }
  alignas(32) double sql[4], dul[4];
  _mm256_store_pd(sql, sq);
  _mm256_store_pd(dul, du);
  for (int lane = 0; i < end; ++i, ++lane) {
    const float v = w[i];
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    sql[lane] += double(v) * double(v);
    sum += rules::fingerprint_term(bits, tensor, i);
    if (prev != nullptr) {
      const double diff = double(v) - double(prev[i]);
      dul[lane] += diff * diff;
    }
  }
  return {(sql[0] + sql[1]) + (sql[2] + sql[3]), (dul[0] + dul[1]) + (dul[2] + dul[3]), sum};
}
#endif

}  // namespace

FingerprintSums fingerprint_sums(const float* w, const float* prev, std::int64_t tensor,
                                 std::int64_t n, bool allow_avx2) {
  PieceSums ps;
#if defined(__x86_64__)
  if (allow_avx2 && has_avx2()) {
    ps = piece_sums_avx2(w, prev, tensor, 0, n);
    return {ps.sq, ps.du, ps.checksum};
  }
#endif
  (void)allow_avx2;
  ps = prev != nullptr ? piece_sums<true, true>(w, prev, DType::F32, tensor, 0, n)
                       : piece_sums<true, false>(w, prev, DType::F32, tensor, 0, n);
  return {ps.sq, ps.du, ps.checksum};
}

void CpuBackend::weight_fingerprint(std::span<const Tensor> weights,
                                    std::span<const Tensor> previous, Tensor& out) {
  const auto n_weights = std::int64_t(weights.size());
  MANTISSA_ASSERT(previous.empty() || previous.size() == weights.size(),
                  "weight_fingerprint: one previous copy per weight, or none");
  MANTISSA_ASSERT(out.dtype() == DType::F32 && out.numel() == rules::fingerprint_words(n_weights),
                  "weight_fingerprint output must be " +
                      std::to_string(rules::fingerprint_words(n_weights)) + " fp32 words");
  for (std::size_t k = 0; k < previous.size(); ++k)
    MANTISSA_ASSERT(previous[k].dtype() == weights[k].dtype() &&
                        previous[k].numel() == weights[k].numel(),
                    "weight_fingerprint: a previous copy must match its weight");
  std::vector<Piece> pieces;
  std::int64_t total = 0;
  for (std::int64_t k = 0; k < n_weights; ++k) {
    const std::int64_t n = weights[std::size_t(k)].numel();
    for (std::int64_t b = 0; b < n; b += kChunk) pieces.push_back({k, b, std::min(kChunk, n - b)});
    total += n;
  }
  const auto count = std::int64_t(pieces.size());
  std::vector<double> piece_sq(pieces.size(), 0.0), piece_update(pieces.size(), 0.0);
  std::uint64_t checksum = 0;
#pragma omp parallel for schedule(static) reduction(+ : checksum) if (total >= kParallelMin)
  for (std::int64_t c = 0; c < count; ++c) {
    const Piece& piece = pieces[std::size_t(c)];
    const Tensor& w = weights[std::size_t(piece.tensor)];
    const DType d = w.dtype();
    const void* data = w.data();
    void* prev = previous.empty() ? nullptr : previous[std::size_t(piece.tensor)].data();
    const bool f32 = d == DType::F32;
#if defined(__x86_64__)
    const PieceSums ps =
        f32 && has_avx2()
            ? piece_sums_avx2(static_cast<const float*>(data), static_cast<const float*>(prev),
                              piece.tensor, piece.begin, piece.n)
        : prev != nullptr
            ? (f32 ? piece_sums<true, true>(data, prev, d, piece.tensor, piece.begin, piece.n)
                   : piece_sums<false, true>(data, prev, d, piece.tensor, piece.begin, piece.n))
            : (f32 ? piece_sums<true, false>(data, prev, d, piece.tensor, piece.begin, piece.n)
                   : piece_sums<false, false>(data, prev, d, piece.tensor, piece.begin, piece.n));
#else
    const PieceSums ps =
        prev != nullptr
            ? (f32 ? piece_sums<true, true>(data, prev, d, piece.tensor, piece.begin, piece.n)
                   : piece_sums<false, true>(data, prev, d, piece.tensor, piece.begin, piece.n))
            : (f32 ? piece_sums<true, false>(data, prev, d, piece.tensor, piece.begin, piece.n)
                   : piece_sums<false, false>(data, prev, d, piece.tensor, piece.begin, piece.n));
#endif
    if (prev != nullptr) {
      const auto size = std::int64_t(dtype_size(d));
      std::memcpy(static_cast<char*>(prev) + piece.begin * size,
                  static_cast<const char*>(data) + piece.begin * size,
                  std::size_t(piece.n * size));
    }
    piece_sq[std::size_t(c)] = ps.sq;
    piece_update[std::size_t(c)] = ps.du;
    checksum += ps.checksum;
  }
  std::vector<double> norms(std::size_t(n_weights), 0.0);
  double update = 0;
  for (std::size_t c = 0; c < pieces.size(); ++c) {
    norms[std::size_t(pieces[c].tensor)] += piece_sq[c];
    update += piece_update[c];
  }
  float* o = out.data_as<float>();
  const auto lo = std::uint32_t(checksum), hi = std::uint32_t(checksum >> 32);
  std::memcpy(o + rules::kFingerprintChecksumLo, &lo, 4);
  std::memcpy(o + rules::kFingerprintChecksumHi, &hi, 4);
  o[rules::kFingerprintUpdate] = float(update);
  for (std::int64_t k = 0; k < n_weights; ++k)
    o[rules::kFingerprintNorms + k] = float(norms[std::size_t(k)]);
}

}  // namespace mantissa::cpu
