#pragma once
// Where each value lives in the run's step-state vector, for code that
// cannot include the engine's public headers (C++17 kernel sources): the
// same indices as mantissa::step_state (optim.hpp), which rule_params.hpp
// checks. MANTISSA_HD helpers shared by the host and device rules.
#include "core/portable.hpp"

namespace mantissa::rules {

namespace state_index {
inline constexpr int kScale = 0;
inline constexpr int kGrowthTracker = 1;
inline constexpr int kSkippedTotal = 2;
inline constexpr int kConsecutiveSkips = 3;
inline constexpr int kFoundInf = 4;
inline constexpr int kOptimizerSteps = 5;
inline constexpr int kGradSumSquares = 7;
inline constexpr int kLearningRate = 8;
inline constexpr int kSkippedThisStep = 9;
inline constexpr int kScaleUsed = 10;
inline constexpr int kStepsTaken = 11;
inline constexpr float kStepsTakenPeriod = 16777216.0f;
}  // namespace state_index

// std::isfinite for host and device code alike.
MANTISSA_HD inline bool is_finite(float v) {
  return v == v && v - v == 0.0f;  // NaN fails the first, ±inf the second
}

}  // namespace mantissa::rules
