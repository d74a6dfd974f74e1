#pragma once
// Whether a model and its batches fit before anything is allocated: a model
// that cannot fit is refused with the layer that needs the most, the bytes
// asked for and the bytes available, instead of dying in the allocator (or,
// on an overcommitting host, under the kernel's out-of-memory killer).
#include <cstddef>
#include <cstdint>
#include <string>

#include "mantissa/model.hpp"
#include "mantissa/units.hpp"

namespace mantissa {

class Backend;

// Bytes the backend can still hand out: free device memory where the backend
// knows it, else the host's available memory (MemAvailable). 0 when unknown.
std::size_t available_memory(const Backend& backend);

// What the backend holds and what is left, for an out-of-memory message:
// "1.2 GiB held by tensors, 300 MiB free on the device".
std::string memory_report(const Backend& backend);

// What training `summary` at `batch` samples a step is estimated to hold:
// the model state (masters, fp32 gradients, compute copies, optimizer
// state, the fingerprint's previous masters) and the
// activations at the step's peak (ModelSummary::training_activation_bytes:
// what the layers keep for the backward pass and the gradients it holds).
struct MemoryEstimate {
  double state = 0;
  double activations = 0;
  double total() const { return state + activations; }
};
MemoryEstimate estimate_memory(const ModelSummary& summary, const TrainingSpec& training,
                               std::int64_t batch);

// Throws OutOfMemoryError. `batch` is the largest batch a step will see.
void check_model_fits(const ModelSummary& summary, const TrainingSpec& training,
                      std::int64_t batch, const Backend& backend);


}  // namespace mantissa
