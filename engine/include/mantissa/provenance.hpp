#pragma once
// Overflow provenance (docs/numerics.md "Provenance"): where a skipped step
// (or one with a non-finite loss) first went non-finite, found by running the
// same step again, op by op, with every tensor measured as it is made.
//
// A skipped step leaves the weights, the optimizer state and the step counter
// as they were, and its batch, dropout draw and loss scale are known, so the
// re-run computes the same tensors. It finds the first tensor in execution
// order that holds a non-finite value while everything before it was finite:
// a layer's forward output, a cast between layers, a gradient a backward pass
// returns, or a weight gradient. A backward overflow is then measured again at
// S = 1: gone there, it was scale-induced (the scaler's business); still
// there, or in the forward pass or the loss, it is a real range problem.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/numerics.hpp"

namespace mantissa {

// One tensor of the re-run, in the order it was made.
struct TracedTensor {
  std::string layer;
  TensorRole role = TensorRole::Activation;
  int slot = -1;     // numerics slot; -1 for a cast between layers
  int input = -1;    // gradients and casts: which input of `layer`
  std::string what;  // "output", "gradient of input 0", "input 0 cast to f16", ...
  DType dtype = DType::F32;
  TensorStats stats;
  bool backward() const { return role == TensorRole::ActivationGrad || role == TensorRole::WeightGrad; }
  std::string label() const;  // "fc1 output", "fc2 gradient of input 0", ...
};

struct Provenance {
  std::int64_t step = 0;
  double scale = 1;           // S of the step
  float loss = 0;             // the re-run's loss
  // The re-run gave the loss bits the step reported; when not, why (another
  // step had already changed the weights, or a non-deterministic kernel).
  bool reproduced = true;
  std::string not_reproduced;
  std::optional<TracedTensor> first;  // the first non-finite tensor; none: all finite
  float input_amax = 0;               // largest finite |x| among its inputs
  std::string input;                  // what those inputs were
  // Backward only: whether the step is finite when re-run at S = 1.
  bool measured_at_scale_one = false;
  bool finite_at_scale_one = false;
  // Layers whose outputs were non-finite after the first one, in order: the
  // path the bad values took.
  std::vector<std::string> path;

  // Scale-induced: a backward overflow that disappears at S = 1.
  bool scale_induced() const { return measured_at_scale_one && finite_at_scale_one; }
  std::string classification() const;  // "scale-induced", "scale-independent", "none"
  // The event in one sentence, for the log, the event card and `explain`.
  std::string sentence() const;
};

// Stored with the run as JSON (RunStore::add_provenance).
std::string provenance_json(const Provenance& p);
// A stored record; throws Error for text that is not one.
Provenance parse_provenance_json(const std::string& json);

}  // namespace mantissa
