#pragma once
// RunRecorder: the MetricsSink that keeps a run in a RunStore. It creates the
// run (or takes an existing one up again for a resume), hands step, epoch and
// event metrics to the store's batched appends, stores checkpoints, and at the
// end writes the status and a summary.
//
// It runs on the thread the Trainer reports on, and so must the RunStore it
// is given (one connection per thread, see store.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"

namespace mantissa {

class RunRecorder : public MetricsSink {
 public:
  // Creates the run; its status is running from here on.
  RunRecorder(RunStore& store, const NewRun& run);
  // Continues `run_id` from its checkpoint at `from_step`: the run is running
  // again and what was recorded after that step is dropped (RunStore::resume_run).
  RunRecorder(RunStore& store, std::int64_t run_id, std::int64_t from_step);
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  std::int64_t run_id() const { return run_id_; }

  void run_started(const RunStart& s) override;
  void step_recorded(const StepMetrics& m) override;
  void epoch_recorded(const EpochMetrics& m) override;
  void event_recorded(const RunEvent& e) override;
  void numerics_layout(const std::vector<NumericsSlot>& slots) override;
  void numerics_recorded(const NumericsSample& s) override;
  void provenance_recorded(const Provenance& p) override;
  void manifest_recorded(const std::string& json) override;
  void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind,
                          const std::vector<std::uint8_t>& blob) override;
  // Summary, then status (finished / stopped / failed with the message); both
  // reach the database before this returns.
  void run_finished(const RunSummary& s) override;

  // For a run that failed before the trainer could report (a dataset that does
  // not load, say): stored as failed with `message`.
  void fail(const std::string& message);

 private:
  RunStore& store_;
  std::int64_t run_id_ = 0;
  std::int64_t last_step_ = 0;
};

RunStatus run_status_of(RunOutcome outcome);

// The summary as stored with a run: {"steps", "skipped_steps",
// "final_loss_scale", "final_train_loss", "final_val_loss",
// "final_val_accuracy", "wall_time_s", "samples_per_s", "peak_memory",
// "peak_activation_memory"}; non-finite numbers are null.
std::string run_summary_json(const RunSummary& s);

}  // namespace mantissa
