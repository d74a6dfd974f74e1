#pragma once
// Running one training step again, op by op, for a look inside it: the
// provenance re-run (trace_step.cpp) and the divergence probe
// (probe_step.cpp). Neither touches the weights, the optimizer or the step
// state; the graph's batch-norm statistics move in every training forward
// pass, so they are saved first and put back after.
#include <cstdint>
#include <vector>

#include "mantissa/graph.hpp"

namespace mantissa {

// A graph's buffers (batch-norm running statistics), saved.
class SavedBuffers {
 public:
  explicit SavedBuffers(Graph& g);
  void restore(Graph& g) const;  // into g (or another graph of the same model)

 private:
  std::vector<std::vector<float>> values_;
};

// Forward and backward of `g` on device tensors x, y at loss scale `scale`,
// as step `step` (1-based) draws its dropout, with every tensor shown to
// `observer` as it is made; returns the loss. The observer is detached and
// the saved activations dropped afterwards, also when an op throws.
float rerun_step(Graph& g, Backend& backend, double scale, const Tensor& x, const Tensor& y,
                 std::uint64_t dropout_seed, std::int64_t step, TensorObserver& observer);

}  // namespace mantissa
