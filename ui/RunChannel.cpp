#include "RunChannel.hpp"

#include <utility>

namespace mantissa::ui {

void RunChannel::setRunId(std::int64_t runId) {
  std::lock_guard lock(mutex_);
  runId_ = runId;
}

void RunChannel::run_started(const RunStart& s) {
  std::lock_guard lock(mutex_);
  pending_.started = s;
  pending_.runId = runId_;
}

void RunChannel::step_recorded(const StepMetrics& m) {
  std::lock_guard lock(mutex_);
  pending_.steps.push_back(m);
}

void RunChannel::epoch_recorded(const EpochMetrics& m) {
  std::lock_guard lock(mutex_);
  pending_.epochs.push_back(m);
}

void RunChannel::event_recorded(const RunEvent& e) {
  std::lock_guard lock(mutex_);
  pending_.events.push_back(e);
}

void RunChannel::provenance_recorded(const Provenance& p) {
  std::lock_guard lock(mutex_);
  pending_.provenance.push_back(p);
}

void RunChannel::finish(const RunSummary& summary) {
  std::lock_guard lock(mutex_);
  pending_.finished = summary;
  pending_.runId = runId_;
}

void RunChannel::fail(std::string message) {
  std::lock_guard lock(mutex_);
  pending_.failure = std::move(message);
}

RunBatch RunChannel::take() {
  RunBatch out;
  std::lock_guard lock(mutex_);
  std::swap(out, pending_);
  out.runId = runId_;
  return out;
}

}  // namespace mantissa::ui
