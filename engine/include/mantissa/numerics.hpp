#pragma once
// Per-tensor numerics (docs/numerics.md): for every tensor a
// training step produces, where its values sit against the 16-bit formats.
//
// A backend computes a tensor's statistics from the bit patterns of its values
// (Backend::tensor_stats) into kWords 32-bit words, and on sampled steps a
// histogram of kBins words, in a device buffer the trainer reads with the
// step's scalars. The words are exact integers, so every backend gives the
// same ones. This header names the words and bins, says which fp32 bit
// patterns fall where, and decodes the words on the host.
//
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mantissa/dtype.hpp"
#include "mantissa/numerics_bits.hpp"

namespace mantissa {

// What a tensor is to the step, in execution order: the 16-bit weight copies
// are made first (prepare_step), then activations (forward, the loss last),
// then activation gradients (backward, the loss's own first), then the
// parameters' gradients (complete when backward ends; still scaled by S).
enum class TensorRole : std::uint8_t { Weight16, Activation, ActivationGrad, WeightGrad };
std::string_view role_name(TensorRole role);  // "16-bit weight", "activation", ...
std::string_view role_key(TensorRole role);   // "weight16", "activation", "activation_grad", "weight_grad"
std::optional<TensorRole> parse_role_key(std::string_view key);
// Whether S scales the tensor (activation and weight gradients).
inline bool role_is_scaled(TensorRole r) {
  return r == TensorRole::ActivationGrad || r == TensorRole::WeightGrad;
}


// One tensor's statistics, decoded.
struct TensorStats {
  float amax = 0;  // largest finite |x|
  std::uint32_t pos_inf = 0, neg_inf = 0, nan = 0, zeros = 0;
  std::uint32_t flush_f16 = 0, flush_bf16 = 0, subnormal_f16 = 0, saturate_f16 = 0;
  std::uint32_t count = 0;  // 0: not produced this step
  std::uint32_t nonfinite() const { return pos_inf + neg_inf + nan; }
  bool produced() const { return count > 0; }
  bool operator==(const TensorStats&) const = default;
};
using NumericsWords = std::array<std::uint32_t, numerics_bits::kWords>;
using Histogram = std::array<std::uint32_t, numerics_bits::kBins>;

TensorStats decode_stats(std::span<const std::uint32_t> words);
NumericsWords encode_stats(const TensorStats& stats);
// The same statistics computed on the host from fp32 values, one at a time:
// the reference the backends are tested against.
NumericsWords reference_stats(std::span<const float> values);
Histogram reference_histogram(std::span<const float> values);

// Binade edges of a histogram bin, for display: [2^e, 2^(e+1)); the end
// binades are open towards 0 and infinity. Zero, subnormal and non-finite
// bins have none.
std::optional<int> bin_exponent(int bin);

// A tensor the step records: its place in the step's buffers is its index.
struct NumericsSlot {
  std::string layer;       // layer id ("fc1"); the loss layer's id for the loss and its gradient
  TensorRole role = TensorRole::Activation;
  // Activation gradients: which input of `layer` it is the gradient of;
  // -1 for the gradient of `layer`'s own output summed over its readers (a
  // layer read by several: the sum is a tensor of its own, and can overflow
  // where none of its terms does).
  int input = -1;
  std::string param;       // weight gradients and 16-bit weights: "fc1.weight"
  DType dtype = DType::F32;
  std::string label() const;  // "fc1 output", "attn gradient of input 0", "fc1.weight gradient"
};

// The statistics of one step, as read back: stats[i] is slot i's; the
// histograms are there on sampled steps only.
struct NumericsSample {
  std::int64_t step = 0;
  std::string reason;  // "sampled", "event", "around event"
  double scale = 1;    // S the step used
  std::vector<TensorStats> stats;
  std::vector<Histogram> histograms;  // empty, or one per slot
};

// What the range view's heatmaps and `mantissa runs numerics --over-steps`
// show per tensor and step.
enum class NumericsMetric {
  FlushF16,      // % of values that flush to zero in fp16 (0 < |x| < 2^-25)
  SubnormalF16,  // % of values subnormal in fp16
  SaturateF16,   // % of values at or above 65,520 (inf in fp16)
  Headroom,      // binades from |x|max to fp16's 65,504 (negative: over)
  NonFinite,     // % of values inf or NaN
};
inline constexpr NumericsMetric kNumericsMetrics[] = {
    NumericsMetric::FlushF16, NumericsMetric::SubnormalF16, NumericsMetric::SaturateF16,
    NumericsMetric::Headroom, NumericsMetric::NonFinite};
std::string_view metric_key(NumericsMetric m);    // "flush", "subnormal", "saturate", ...
std::string_view metric_title(NumericsMetric m);  // "flush to zero in fp16 (%)"
std::optional<NumericsMetric> parse_metric_key(std::string_view key);
// The metric of one tensor's statistics; none when the tensor was not
// produced (or, for headroom, holds no non-zero finite value).
std::optional<double> metric_value(const TensorStats& s, NumericsMetric m);

// What one run stores for its events at most, so that a run that keeps
// overflowing keeps a bounded database: steps stored for an event or around
// one, and events run again op by op (provenance.hpp). Sampled steps are
// stored regardless; every event still names its first non-finite tensor.
inline constexpr std::int64_t kMaxEventSamples = 256;
inline constexpr std::int64_t kMaxTracedEvents = 64;
// Overflowed steps run again at S = 1 for the loss scaler's record
// (StepMetrics::unscaled_grad_amax); past this, such steps are not measured.
inline constexpr std::int64_t kMaxRemeasured = 1024;

// How often the trainer stores a step's numerics (TrainingSpec::numerics).
struct NumericsOptions {
  bool enabled = true;
  std::int64_t sample_every = 50;  // steps; histograms and stored statistics
  std::int64_t around_event = 2;   // steps stored before and after a skipped step
};

}  // namespace mantissa
