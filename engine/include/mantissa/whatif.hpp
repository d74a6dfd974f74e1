#pragma once
// The loss scaler's what-if (docs/whatif.md): any scaler setting replayed on
// the steps a run recorded.
//
// With per-tensor numerics on, every step records A, the largest |x| / S over
// the 16-bit tensors the loss scale multiplies (Graph::scaled_16bit_slots; a
// step that overflowed is measured again at S = 1), and F, whether its
// forward pass or loss was non-finite (StepMetrics::unscaled_grad_amax,
// forward_nonfinite). Scaling by a power of two multiplies each of those
// tensors exactly, so the step overflows at scale S exactly when
//
//     F  or  S * A >= 65,520   (the first value fp16 rounds to infinity).
//
// A setting therefore replays exactly on the recorded steps up to the first
// step where its skip decision differs from the run's. From there on the run
// would have trained on other weights: the replay goes on with the recorded A
// as an estimate, and says where that began.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mantissa/metrics.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/precision.hpp"

namespace mantissa {

// fp16's overflow threshold: values at or past it round to infinity.
inline constexpr double kFp16OverflowAt = 65520.0;

struct ScalerReplayStep {
  std::int64_t step = 0;
  double scale = 1;       // S the step would run at
  bool overflow = false;  // F, or S * A at or past the threshold
  bool skipped = false;   // overflowed, and the scaler skips such steps
  // Binades between S * A and the threshold (negative: past it); NaN when
  // the step has no A.
  double margin_log2 = 0;
  // The record decides the step: A was measured, or the scale is at most the
  // run's own on a step that did not overflow there (or at least it on one
  // that did). Otherwise the step is taken to do as the run did.
  bool decided = true;
  // The scaler's state after the step, for a branch that resumes there.
  double scale_after = 1;
  std::int64_t growth_tracker_after = 0;
  std::int64_t consecutive_skips_after = 0;
};

struct ScalerReplay {
  std::vector<ScalerReplayStep> steps;  // one per recorded step, in order
  std::int64_t skipped = 0;             // predicted
  std::int64_t recorded_skipped = 0;    // what the run did
  double final_scale = 1;
  // The first step whose skip decision differs from the run's. The replay is
  // exact before it and at it; after it, an estimate.
  std::optional<std::int64_t> first_difference;
  // The first step the record cannot decide (see ScalerReplayStep::decided).
  std::optional<std::int64_t> first_undecided;
  // A scale that is not a power of two: S * A is then exact only to within
  // the rounding of the scaled tensors.
  bool powers_of_two = true;
  // Steps that ran within one binade of the threshold without crossing it.
  std::int64_t knife_edge = 0;
  // Predicted steps whose gradients are non-finite and are applied anyway
  // (a scaler that does not skip): the first of them ruins the weights.
  std::optional<std::int64_t> first_applied_overflow;
  double wasted_fraction() const {
    return steps.empty() ? 0.0 : double(skipped) / double(steps.size());
  }
};

// Replays `settings` (a project's loss_scale block; its mode left unset
// takes `policy`'s default) over `recorded`, whose steps are in order from
// step 1. Throws InputError when the run has no scaler record (numerics were
// off, or it predates the record).
ScalerReplay replay_scaler(std::span<const StepMetrics> recorded, Policy policy,
                           const LossScaleConfig& settings,
                           double overflow_at = kFp16OverflowAt);

// A branch that trained a replay's settings (train_job.hpp branch_request)
// against the replay, over the branch's steps: the skip decisions where the
// replay is exact (up to its first difference, that step included) must all
// agree; after it the replay is an estimate.
struct BranchCheck {
  std::int64_t compared = 0;           // branch steps with a replayed step
  std::int64_t exact_steps = 0;        // of them, up to the replay's first difference
  std::int64_t exact_mismatches = 0;   // skip decisions there that differ (0: verified)
  std::optional<std::int64_t> first_mismatch;  // anywhere
  std::int64_t predicted_skips = 0;    // over the compared steps
  std::int64_t actual_skips = 0;
  std::int64_t scale_mismatches = 0;   // exact steps whose scale differs from the replay's
  bool verified() const { return compared > 0 && exact_mismatches == 0 && scale_mismatches == 0; }
};
BranchCheck check_branch(const ScalerReplay& replay, std::span<const StepMetrics> branch);

// The settings with the fewest predicted skips, then the largest typical
// scale (least underflow), among initial scales 2^0 … 2^24 and growth
// intervals from `intervals`, others as in `base`.
struct ScalerSearch {
  LossScaleConfig best;
  ScalerReplay replay;
  int tried = 0;
};
ScalerSearch search_scaler(std::span<const StepMetrics> recorded, Policy policy,
                           const LossScaleConfig& base,
                           std::span<const long> intervals = std::span<const long>());

// Underflow under a replay: of the non-zero values of the 16-bit gradients
// (ActivationGrad slots stored in fp16 or bf16; every one in an fp32 run),
// the share that lands below 2^-25 and flushes to zero in fp16, at the
// scales the run used and at the replay's. From the binade histograms of the
// steps stored with them (sampled steps and those around events), shifted
// by log2 of each scale's ratio to the run's (loss scaling moves a histogram
// by exactly that many bins). Binade resolution; values the run itself had
// flushed were stored as zeros and are not seen.
struct UnderflowEstimate {
  double recorded = 0;   // share, 0..1
  double predicted = 0;
  int steps = 0;         // stored steps with histograms that it read
};
UnderflowEstimate estimate_underflow(const ScalerReplay& replay,
                                     std::span<const NumericsSample> samples,
                                     std::span<const NumericsSlot> tensors);

// fp16 readiness of an fp32 or bf16 run: the forward tensors (activations,
// not fp16's forced-fp32 outputs) whose stored largest |x| reaches fp16's
// overflow threshold, each with its largest value and the first stored step
// that reached it, largest first. From the stored steps only (sampled ones
// and those around events), so a brief excursion between them is missed.
struct ForwardOverflow {
  std::string tensor;  // "fc1 output"
  double amax = 0;
  std::int64_t first_step = 0;
};
std::vector<ForwardOverflow> fp16_forward_overflows(std::span<const NumericsSample> samples,
                                                    std::span<const NumericsSlot> tensors,
                                                    double overflow_at = kFp16OverflowAt);

// "init_scale 2^16, growth ×2 every 2000 clean steps, backoff ×0.5".
std::string describe_scaler(Policy policy, const LossScaleConfig& settings);

}  // namespace mantissa
