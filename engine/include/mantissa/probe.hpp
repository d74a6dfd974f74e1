#pragma once
// The divergence probe (docs/divergence.md "Probe"): one step of a run, from
// the run's exact state at that step, computed forward and backward once in
// the run's policy and once in float32 from the same weights, batch and
// dropout draw. Each op's output is compared with its float32 counterpart;
// an op whose output error is ten times the error of what it read, and more
// than a rounding's worth, is a culprit: it creates error there, where
// drift that built up over earlier steps would show as error already in its
// inputs.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mantissa/dtype.hpp"
#include "mantissa/numerics.hpp"

namespace mantissa {

struct ProbeOp {
  std::string layer;
  std::string what;  // "output", "gradient of input 0", "gradient of fc1.weight", ...
  TensorRole role = TensorRole::Activation;
  int input = -1;
  DType dtype = DType::F32;  // what the run's policy made it in
  // ||run - fp32|| / ||fp32|| (gradients: the run's divided by its loss
  // scale); +inf where the run's value is not finite.
  double error = 0;
  double input_error = 0;  // the largest error among what the op read
  bool culprit = false;
  bool backward() const { return role == TensorRole::ActivationGrad || role == TensorRole::WeightGrad; }
};

struct StepProbe {
  std::int64_t step = 0;
  double scale = 1;           // the run's loss scale at the step
  double loss = 0;            // the run's loss, and fp32's, on this batch
  double loss_fp32 = 0;
  std::vector<ProbeOp> ops;   // in execution order
  // Layers with a culprit op, in execution order; empty: no op creates error
  // beyond what it reads (the difference is drift from earlier steps).
  std::vector<std::string> culprits;
  // One sentence for the CLI and the studio.
  std::string sentence() const;
};

// An op is a culprit when its error is at least `ratio` times its input
// error and at least `floor` (below that, both are rounding of one ulp or
// so). Fills input_error from the ops before each one (the layers it reads,
// the casts and 16-bit copies of its inputs and weights, the gradient flowing
// into it) and culprit, and the probe's culprits. `inputs` maps each layer
// to its input layers.
void mark_culprits(StepProbe& probe, const std::map<std::string, std::vector<std::string>>& inputs,
                   double ratio = 10, double floor = 1e-4);

class RunStore;

// The probe of a stored run's step: the run's project snapshot trained again
// on its backend from its newest checkpoint before the step (or from the
// start: the same seed gives the same weights and batches) up to the step,
// then probed. `reproduced` says whether the probe's loss has the bits the
// run recorded for the step: when it does, the state probed is the run's own.
struct RunProbe {
  StepProbe probe;
  std::int64_t run_id = 0;
  std::int64_t from_step = 0;  // the checkpoint it started from; 0: the start
  double recorded_loss = 0;
  bool reproduced = false;
};
// Throws InputError naming the run or the step when the run has no such step.
RunProbe probe_run(RunStore& store, std::int64_t run_id, std::int64_t step);

}  // namespace mantissa
