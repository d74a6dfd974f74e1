#pragma once
// Divergence from fp32 (docs/divergence.md): how far a candidate run's
// per-step loss leaves a float32 reference of the same initial weights and
// batches, against how far a noise twin (the reference with every initial
// weight one ulp off, TrainOptions::noise_twin) leaves it by chaos alone.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mantissa/metrics.hpp"

namespace mantissa {

// A 16-bit candidate differs from fp32 from the first step, by the rounding
// of its forward pass alone (bf16: about 2^-9 of the loss); the twin does
// not. So the band is the larger of k times the twin's distance so far
// (chaos) and `floor_factor` times the candidate's own distance over its
// first `floor_steps` steps, before any drift can have built up (precision).
// Outside it, the candidate has drifted beyond both.
struct DivergenceStep {
  std::int64_t step = 0;
  double candidate = 0;  // |loss - reference loss| / |reference loss|
  double twin = 0;       // the same for the noise twin
  double band = 0;
  bool outside = false;  // candidate > band
};

struct Divergence {
  std::vector<DivergenceStep> steps;  // the steps all three runs applied
  double k = 10;                      // the band is k times the twin's distance ...
  double floor = 0;                   // ... or floor_factor times this precision floor
  int consecutive = 5;                // steps in a row outside to count
  // The first of `consecutive` steps in a row outside the band; none: the
  // candidate stayed within it.
  std::optional<std::int64_t> first_divergent;
  std::int64_t within_until = 0;  // the last step before first_divergent (or the last compared)
};

// Per step over the steps recorded by all three (skipped steps left out).
Divergence divergence(std::span<const StepMetrics> candidate, std::span<const StepMetrics> reference,
                      std::span<const StepMetrics> twin, double k = 10, int consecutive = 5,
                      int floor_steps = 5, double floor_factor = 3);

}  // namespace mantissa
