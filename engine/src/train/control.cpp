#include "mantissa/trainer.hpp"

namespace mantissa {

void TrainControl::request_stop() {
  stop_ = true;
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

void TrainControl::pause() { paused_ = true; }

void TrainControl::resume() {
  paused_ = false;
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

bool TrainControl::wait_if_paused() {
  if (paused_ && !stop_) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !paused_ || stop_; });
  }
  return !stop_;
}

void MetricsFanout::run_started(const RunStart& s) {
  for (auto* k : sinks_) k->run_started(s);
}
void MetricsFanout::step_recorded(const StepMetrics& m) {
  for (auto* k : sinks_) k->step_recorded(m);
}
void MetricsFanout::epoch_recorded(const EpochMetrics& m) {
  for (auto* k : sinks_) k->epoch_recorded(m);
}
void MetricsFanout::event_recorded(const RunEvent& e) {
  for (auto* k : sinks_) k->event_recorded(e);
}
void MetricsFanout::numerics_layout(const std::vector<NumericsSlot>& slots) {
  for (auto* k : sinks_) k->numerics_layout(slots);
}
void MetricsFanout::numerics_recorded(const NumericsSample& s) {
  for (auto* k : sinks_) k->numerics_recorded(s);
}
void MetricsFanout::provenance_recorded(const Provenance& p) {
  for (auto* k : sinks_) k->provenance_recorded(p);
}

void MetricsFanout::probe_recorded(const StepProbe& p) {
  for (auto* k : sinks_) k->probe_recorded(p);
}
void MetricsFanout::manifest_recorded(const std::string& json) {
  for (auto* k : sinks_) k->manifest_recorded(json);
}
void MetricsFanout::checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                                       const std::vector<std::uint8_t>& blob) {
  for (auto* k : sinks_) k->checkpoint_written(step, epoch, kind, blob);
}
void MetricsFanout::run_finished(const RunSummary& s) {
  for (auto* k : sinks_) k->run_finished(s);
}

}  // namespace mantissa
