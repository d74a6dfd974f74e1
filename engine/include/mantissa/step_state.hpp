#pragma once
// The run's step state: what one training step leaves on the device for the
// next (the loss scale, the optimizer's step count, the skip counters) and
// what the host reads back once per step (the loss, the gradient norm, the
// learning rate used). The optimizer and loss-scale rules (src/optim,
// src/precision) read and write it where the step runs, on the host for the
// CPU backend and in the kernels for CUDA; both see this one struct.
//
// C++17 and <cstdint> only: kernel sources include this header.
//
// Counters are 64-bit integers, so the LR schedule, Adam's bias correction,
// the growth interval and dropout's per-step masks keep counting however long
// a run is. The fp32 fields that ops write through a one-element fp32 tensor
// (Backend::unscale_and_check, the losses) are 4-byte words, at the word
// offsets step_state_word names.
#include <cstddef>
#include <cstdint>

namespace mantissa {

struct StepState {
  // ---- fp32 words ----
  float scale;             // current loss scale S (1 when scaling is off)
  float found_inf;         // 0, or 1 + index of the first non-finite gradient tensor
  float loss;              // this step's unscaled loss
  float grad_sum_squares;  // sum of squares of the unscaled gradients
  float scale_used;        // S this step's loss was multiplied by
  float learning_rate;     // LR used by this step (0 if skipped)
  std::uint32_t skipped_this_step;  // 1 if the optimizer did not run
  std::uint32_t reserved;           // keeps the counters 8-byte aligned
  // ---- counters ----
  std::int64_t optimizer_steps;    // optimizer steps taken (drives the LR and Adam)
  std::int64_t steps_taken;        // steps run, skipped or not (dropout draws from it)
  std::int64_t growth_tracker;     // clean steps since the scale last changed
  std::int64_t skipped_total;      // skipped steps so far
  std::int64_t consecutive_skips;  // skipped steps in a row

#if __cplusplus >= 202002L
  friend bool operator==(const StepState&, const StepState&) = default;
#endif
};

static_assert(sizeof(StepState) == 72 && alignof(StepState) == 8,
              "StepState is read back as one block: no hidden padding");

// Word offsets of the fp32 fields, for one-element fp32 views of the state
// tensor (Tensor::slice); kWords is the state tensor's size in 4-byte words.
namespace step_state_word {
inline constexpr std::int64_t kScale = offsetof(StepState, scale) / 4;
inline constexpr std::int64_t kFoundInf = offsetof(StepState, found_inf) / 4;
inline constexpr std::int64_t kLoss = offsetof(StepState, loss) / 4;
inline constexpr std::int64_t kGradSumSquares = offsetof(StepState, grad_sum_squares) / 4;
inline constexpr std::int64_t kWords = sizeof(StepState) / 4;
}  // namespace step_state_word

}  // namespace mantissa
