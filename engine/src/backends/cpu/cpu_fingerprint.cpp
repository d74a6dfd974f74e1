// The weight fingerprint on the CPU (Backend::weight_fingerprint): one pass
// over every master, in chunks across threads. Each chunk's sums are kept
// and added up in chunk order afterwards, and the checksum is a wrapping
// integer sum, so the result does not depend on the thread count.
#include <cstring>
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
}  // namespace

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
    double sq = 0, du = 0;
    std::uint64_t sum = 0;
    for (std::int64_t i = piece.begin; i < piece.begin + piece.n; ++i) {
      std::uint32_t bits = 0;
      const float v = value_of(data, d, i, bits);
      sq += double(v) * double(v);
      sum += rules::fingerprint_term(bits, piece.tensor, i);
      if (prev != nullptr) {
        std::uint32_t unused = 0;
        const double diff = double(v) - double(value_of(prev, d, i, unused));
        du += diff * diff;
      }
    }
    if (prev != nullptr) {
      const auto size = std::int64_t(dtype_size(d));
      std::memcpy(static_cast<char*>(prev) + piece.begin * size,
                  static_cast<const char*>(data) + piece.begin * size,
                  std::size_t(piece.n * size));
    }
    piece_sq[std::size_t(c)] = sq;
    piece_update[std::size_t(c)] = du;
    checksum += sum;
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
