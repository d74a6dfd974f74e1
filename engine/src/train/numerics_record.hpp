#pragma once
// What the trainer keeps of each step's per-tensor numerics (numerics.hpp),
// beyond the step's scalars: the samples it stores (sampled steps, and the
// steps around an event, bounded by kMaxEventSamples), the loss scaler's
// record (the unscaled gradient amax, measured again at S = 1 after an
// overflow, up to kMaxRemeasured), and the re-run of a skipped step that
// finds where it first went non-finite (provenance.hpp, up to
// kMaxTracedEvents). Only rank 0's record is kept in a data-parallel run.
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mantissa/graph.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/provenance.hpp"
#include "mantissa/train_step.hpp"
#include "mantissa/trainer.hpp"

namespace mantissa {

// A step as it was enqueued: its number (1-based) and batch, to run it again.
struct StepBatch {
  std::int64_t step = 0;
  std::int64_t rows = 0;
  std::span<const float> x, y;  // empty when numerics are off
};

class NumericsRecord {
 public:
  // `lead`: this process keeps the run's record (rank 0, or the only one).
  NumericsRecord(TrainingStep& stepper, Graph& graph, const NumericsOptions& options, bool lead,
                 std::uint64_t dropout_seed);

  bool on() const { return stepper_.numerics_on(); }

  // Whether step `at` (1-based) takes histograms: sampled, or just after an event.
  bool histograms_for(std::int64_t at) const;

  // The first tensor in execution order that held a non-finite value in the
  // step last read ("" when numerics are off or none did).
  std::string first_nonfinite_tensor() const;

  // StepMetrics::unscaled_grad_amax and forward_nonfinite (whatif.hpp).
  // `latest`: the steps enqueued so far; a step after it may have run.
  void scaler_record(const StepState& s, const StepBatch& b, std::int64_t latest,
                     const std::vector<TensorStats>& stats, StepMetrics& m);

  // A step that skipped (or whose loss was not finite), run again op by op.
  std::optional<Provenance> trace_if_event(const StepState& s, const StepBatch& b,
                                           std::int64_t latest, MetricsSink& sink);

  // Stores the step's numerics when it is sampled, has an event, or follows
  // one; keeps it for a moment otherwise, in case an event comes next.
  void record(const StepState& s, std::int64_t at_step, const std::vector<TensorStats>& stats,
              MetricsSink& sink);

 private:
  TrainingStep& stepper_;
  Graph& graph_;
  NumericsOptions options_;
  bool lead_;
  std::uint64_t dropout_seed_;
  // The last steps not stored (kept for an event that follows them) and the
  // last step stored because an event came before it.
  std::deque<NumericsSample> recent_;
  std::int64_t after_event_until_ = 0;
  std::int64_t event_samples_ = 0;  // up to kMaxEventSamples
  std::int64_t traced_events_ = 0;  // up to kMaxTracedEvents
  std::int64_t remeasured_ = 0;     // up to kMaxRemeasured
  // Which slots the loss scaler reads (filled at the first step).
  std::vector<bool> scaled16_;
  bool fp32_record_ = false;  // no 16-bit gradients: every activation gradient instead
};

}  // namespace mantissa
