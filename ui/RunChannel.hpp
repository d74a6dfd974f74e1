#pragma once
// The one place where the worker thread hands results to the GUI thread. The
// trainer (through MetricsSink) and the worker loop push into a pending batch
// under a mutex; the controller's timer takes the whole batch at ~30 Hz. No Qt
// object is touched from the worker side.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/trainer.hpp"

namespace mantissa::ui {

// Everything that arrived since the last take(), in one piece.
struct RunBatch {
  std::optional<RunStart> started;  // the trainer began stepping
  std::int64_t runId = 0;           // store id, set together with `started`
  std::vector<StepMetrics> steps;
  std::vector<EpochMetrics> epochs;
  std::vector<RunEvent> events;
  std::vector<Provenance> provenance;  // where skipped steps first went non-finite
  std::optional<RunSummary> finished;  // the run ended (any outcome) and is recorded
  std::optional<std::string> failure;  // the run could not start, or failed
  bool empty() const {
    return !started && steps.empty() && epochs.empty() && events.empty() && provenance.empty() &&
           !finished && !failure;
  }
};

class RunChannel : public MetricsSink {
 public:
  explicit RunChannel(std::uint64_t generation) : generation_(generation) {}

  std::uint64_t generation() const { return generation_; }

  // Worker side.
  void setRunId(std::int64_t runId);
  void run_started(const RunStart& s) override;
  void step_recorded(const StepMetrics& m) override;
  void epoch_recorded(const EpochMetrics& m) override;
  void event_recorded(const RunEvent& e) override;
  void provenance_recorded(const Provenance& p) override;
  // run_finished is not forwarded: the worker reports the end with finish()
  // once the store has the final status, so the GUI never sees a run end
  // before it is recorded.
  void finish(const RunSummary& summary);
  void fail(std::string message);
  void markThreadDone() { threadDone_.store(true); }

  // GUI side.
  RunBatch take();
  bool threadDone() const { return threadDone_.load(); }

 private:
  const std::uint64_t generation_;
  std::mutex mutex_;
  RunBatch pending_;
  std::int64_t runId_ = 0;
  std::atomic<bool> threadDone_{false};
};

}  // namespace mantissa::ui
