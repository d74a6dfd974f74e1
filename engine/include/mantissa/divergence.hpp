#pragma once
// Divergence from fp32 (docs/divergence.md): how far a candidate run's
// per-step fingerprint (loss, gradient norm, update norm, the masters' norms)
// leaves a float32 reference of the same initial weights and batches, against
// how far a noise twin (the reference with every initial weight one ulp off,
// TrainOptions::noise_twin) leaves it by chaos alone; and how long the
// candidate's weights stayed bit-identical to the reference's (checksums).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mantissa/metrics.hpp"

namespace mantissa {

class RunStore;

// One fingerprint measure over the compared steps. A 16-bit candidate differs
// from fp32 from the first step, by the rounding of its forward pass alone
// (bf16: about 2^-9 of the loss); the twin does not. So the band is the
// larger of k times the twin's distance so far (chaos) and `floor_factor`
// times the candidate's own largest distance over its first `floor_steps`
// steps, before any drift can have built up (precision). Outside it, the
// candidate has drifted beyond both. The weights measure adds up every
// step's rounding, so its precision floor grows with the step: floor_factor
// times the largest distance per step over the first steps, times the step.
struct DivergenceMeasure {
  std::string name;               // "loss", "grad_norm", "update_norm", "weights"
  std::vector<double> candidate;  // relative distance to the reference, per compared step
  std::vector<double> twin;       // the same for the noise twin
  std::vector<double> band;
  double floor = 0;  // per step for the weights measure
  // The first of `consecutive` compared steps in a row outside the band.
  std::optional<std::int64_t> first_divergent;
  bool outside(std::size_t i) const { return candidate[i] > band[i]; }
};

struct Divergence {
  std::vector<std::int64_t> steps;  // the steps all three runs applied
  // loss, then those the runs recorded: grad_norm, update_norm, weights.
  std::vector<DivergenceMeasure> measures;
  double k = 10;
  int consecutive = 5;
  // The loss measure's first_divergent: the loss decides whether the run
  // trains like fp32; the other measures show where else, and how early, the
  // difference is visible. None: the loss stayed within its band.
  std::optional<std::int64_t> first_divergent;
  std::int64_t within_until = 0;  // the last step before first_divergent (or the last compared)
  // The last step up to which the candidate's weights were bit for bit the
  // reference's (their checksums agree at every step up to it); 0: not even
  // after step 1, or no checksums recorded.
  std::int64_t identical_until = 0;
  const DivergenceMeasure* measure(std::string_view name) const;
};

// Per step over the steps recorded by all three (skipped steps left out).
// The weights measure uses StepMetrics::weight_norms where both runs have
// them (the relative distance of the norm vectors), else weight_norm.
Divergence divergence(std::span<const StepMetrics> candidate, std::span<const StepMetrics> reference,
                      std::span<const StepMetrics> twin, double k = 10, int consecutive = 5,
                      int floor_steps = 5, double floor_factor = 3);

// A run's steps with their per-master norms (RunStore::weight_norms) filled in.
std::vector<StepMetrics> fingerprints(RunStore& store, std::int64_t run_id);

}  // namespace mantissa
