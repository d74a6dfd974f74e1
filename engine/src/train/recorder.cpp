// Recording a run in the RunStore. Metrics go through the store's buffered
// appends, which commit in batches, never one transaction per step.
#include "mantissa/recorder.hpp"

namespace mantissa {

RunRecorder::RunRecorder(RunStore& store, const NewRun& run)
    : store_(store), run_id_(store.create_run(run)) {}

RunRecorder::RunRecorder(RunStore& store, std::int64_t run_id, std::int64_t from_step)
    : store_(store), run_id_(run_id), last_step_(from_step) {
  store_.resume_run(run_id, from_step);
  store_.append_event(
      run_id, {from_step, EventKind::Info,
               "resumed from the checkpoint at step " + std::to_string(from_step), 0, 0, "", 0});
}

void RunRecorder::run_started(const RunStart& s) {
  store_.set_weight_names(run_id_, s.weights);
  if (s.ranks.world_size > 1) store_.set_ranks(run_id_, s.ranks);
}

void RunRecorder::step_recorded(const StepMetrics& m) {
  last_step_ = m.step;
  store_.append_step(run_id_, m);
}

void RunRecorder::epoch_recorded(const EpochMetrics& m) {
  store_.append_epoch(run_id_, m);
}

void RunRecorder::event_recorded(const RunEvent& e) {
  store_.append_event(run_id_, e);
}

void RunRecorder::numerics_layout(const std::vector<NumericsSlot>& slots) {
  store_.set_numerics_slots(run_id_, slots);
}

void RunRecorder::numerics_recorded(const NumericsSample& s) {
  store_.append_numerics(run_id_, s);
}

void RunRecorder::provenance_recorded(const Provenance& p) {
  store_.add_provenance(run_id_, p);
}

void RunRecorder::manifest_recorded(const std::string& json) {
  store_.set_manifest(run_id_, json);
}

void RunRecorder::checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                                     const std::vector<std::uint8_t>& blob) {
  store_.add_checkpoint(run_id_, step, epoch, blob, kind);
}

void RunRecorder::run_finished(const RunSummary& s) {
  // The status is what must land: a full disk may refuse the rest.
  try {
    if (s.outcome == RunOutcome::Failed)
      store_.append_event(run_id_,
                          {last_step_, EventKind::Error, s.error, 0, 0, "", s.wall_time_s});
    store_.set_summary(run_id_, run_summary_json(s));
  } catch (const StoreFullError&) {
  }
  store_.set_status(run_id_, run_status_of(s.outcome), s.error);
  store_.flush();
}

void RunRecorder::fail(const std::string& message) {
  RunSummary s;
  s.outcome = RunOutcome::Failed;
  s.error = message;
  s.steps = last_step_;
  run_finished(s);
}

RunStatus run_status_of(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::Finished:
      return RunStatus::Finished;
    case RunOutcome::Stopped:
      return RunStatus::Stopped;
    case RunOutcome::Failed:
      return RunStatus::Failed;
  }
  return RunStatus::Failed;
}

}  // namespace mantissa
