#pragma once
// Guided fixes (docs/advice.md): rules over what a run stored (its steps and
// their loss-scaler record, its traced overflow events, its per-tensor
// histograms). Each finding cites its evidence in one sentence and offers
// fixes, best first; a fix is a change to the project that `mantissa advise
// RUN --try N` trains as a child run linked to RUN. Nothing is applied
// without being asked for.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mantissa/metrics.hpp"
#include "mantissa/model.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/provenance.hpp"
#include "mantissa/store.hpp"

namespace mantissa {

struct Fix {
  std::string title;  // "pin fc1, act and fc2 to fp32"
  std::string why;    // what it should change, and how that was judged
  std::vector<std::string> pin;           // layers to pin to fp32
  std::optional<Policy> policy;           // another policy
  std::optional<LossScaleConfig> scaler;  // other loss-scale settings
  std::optional<double> adam_eps;         // another Adam / AdamW epsilon
  std::vector<std::pair<std::string, float>> layer_eps;  // a norm layer's eps
};

struct Finding {
  // forward-overflow, backward-overflow-at-scale-1, early-skips,
  // underflow-with-headroom, underflow-without-headroom, stale-updates,
  // adam-moment-flush, norm-input-underflow
  std::string rule;
  std::string evidence;  // "fc1 output (f16) went non-finite first at step 12 ..."
  std::vector<Fix> fixes;
};

// What the rules read, from the store.
struct RunEvidence {
  std::int64_t run_id = 0;
  Project project;  // the snapshot the run trained
  std::vector<StepMetrics> steps;
  std::vector<Provenance> provenance;
  std::vector<NumericsSlot> tensor_slots;
  std::vector<NumericsSample> samples;  // stored steps with histograms
  std::vector<FixTrial> history;        // every fix decided in this database
};
RunEvidence read_run_evidence(RunStore& store, std::int64_t run_id);

// The findings, most severe first (forward overflows, then overflows the
// scale cannot help, then the scaler's, then underflow, then the pure 16-bit
// policies' stale updates and Adam moments, then norms fed vanishing
// values). Empty: nothing to fix that the record shows.
std::vector<Finding> advise(const RunEvidence& run);

// `project` with `fix` applied; throws InputError naming a layer the model
// does not have.
Project apply_fix(const Project& project, const Fix& fix);

// A fix's child run against its control over the child's steps. The
// control is the parent's own record over the same steps: the same initial
// weights and batches, and on one machine a rerun of it is the same run bit
// for bit (the weight checksums say so, divergence.hpp); or, where that is
// in doubt, a control branch trained beside the fix (`advise --try
// --control`), passed as `control`.
struct FixComparison {
  std::int64_t parent = 0, child = 0;
  std::int64_t steps = 0;  // the child's steps (from a checkpoint: the later ones)
  std::int64_t child_skips = 0, control_skips = 0;
  std::int64_t tail_from = 0, tail_to = 0;  // the last fifth of the steps
  double child_loss = 0, control_loss = 0;  // mean loss over the tail (NaN: none finite)
  std::string sentence() const;  // "skipped 0 of 24 steps (run 5: 23); mean loss ..."
};
FixComparison compare_fix(std::int64_t parent, std::span<const StepMetrics> control,
                          std::int64_t child, std::span<const StepMetrics> trained);
// The same, read from the store (throws InputError for a run that is no
// trial of a fix).
FixComparison compare_fix(RunStore& store, std::int64_t child);

}  // namespace mantissa
