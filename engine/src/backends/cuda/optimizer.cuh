#pragma once
// The optimizer step as one kernel over every parameter (pointer table slots:
// master, fp32 gradient, then the optimizer's state slots, which share the
// master's dtype), instantiated per optimizer (step_rules.hpp). Every block
// reads the step state itself: when found_inf is set and the rule skips,
// nothing is written but skipped_this_step = 1 and learning_rate = 0 (by
// block 0). Otherwise each block derives the LR from
// the device step counter (step_rules.hpp), updates its chunk, and the last
// block to finish advances the counter, so no block can see it early.
#include <cuda_runtime_api.h>

#include "backends/cuda/multi_tensor_layout.hpp"
#include "optim/step_rules.hpp"

namespace mantissa::cuda {

void launch_optimizer_step(const TableView& table, StepState* state,
                           const rules::OptimizerParams& params, cudaStream_t stream);

}  // namespace mantissa::cuda
