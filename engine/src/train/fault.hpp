#pragma once
// Fault injection for tests of what data-parallel ranks do when one
// misbehaves (TrainOptions::Fault, `MANTISSA_FAULT`, docs/data-parallel.md).
#include "mantissa/train_step.hpp"
#include "mantissa/trainer.hpp"

namespace mantissa {

// Called before the fault's step is enqueued, on its rank only.
void inject_fault(const TrainOptions::Fault& fault, TrainingStep& stepper);

}  // namespace mantissa
