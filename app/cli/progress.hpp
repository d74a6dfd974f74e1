#pragma once
// Running a training job from the command line: the Trainer on a worker thread,
// a live progress display on stderr drawn by the calling thread, Ctrl-C turned
// into a stop request, and the text helpers the training commands share
// (numbers, durations, aligned tables).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/model.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"
#include "mantissa/trainer.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cli {

// ---- text ------------------------------------------------------------------

std::string with_thousands(std::int64_t n);                   // 1234567 -> "1,234,567"
std::string fixed(double v, int decimals);                    // "%.*f"; "nan", "inf", "-inf"
// A validation loss: "-" where nothing was validated (no validation split:
// loss and accuracy both NaN), else fixed(loss, 4), "nan" for a diverged model.
std::string val_loss_text(double loss, double accuracy);
std::string duration_text(double seconds);                    // "4.2 s", "3:07", "1:02:03"
std::string percent_text(double fraction, int decimals = 1);  // 0.981 -> "98.1%"
std::string scale_text(double scale);                         // "%g" (a loss scale: loss_scale_text)

// parse_policy() with the flag named in the message.
Policy parse_policy_flag(const std::string& flag, const std::string& text);
// "float32,mixed_bfloat16" -> policies in order, duplicates dropped.
std::vector<Policy> parse_policy_list(const std::string& flag, const std::string& text);

// Columns padded to their widest cell; an empty row prints as a dashed rule.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right_aligned);
  void add(std::vector<std::string> row);
  void rule();
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
};

// ---- what the trainer thread reports ----------------------------------------

// A MetricsSink that collects what the display needs. The trainer thread
// writes, the display thread takes; every call is cheap (one uncontended lock).
class ProgressFeed : public MetricsSink {
 public:
  struct Snapshot {
    std::optional<RunStart> start;
    std::optional<StepMetrics> last;  // the latest step
    double recent_samples = 0;        // samples and step time since the last take()
    double recent_step_time = 0;
    double steps_per_s = 0;  // steps of this session over its wall time (with evaluation)
    std::vector<std::pair<EpochMetrics, double>> epochs;  // with the epoch's samples/s
    std::vector<RunEvent> events;
    bool done = false;
  };

  void run_started(const RunStart& s) override;
  void step_recorded(const StepMetrics& m) override;
  void epoch_recorded(const EpochMetrics& m) override;
  void event_recorded(const RunEvent& e) override;

  void mark_done();
  // Waits until an epoch, an event or the end arrives, or `timeout` passes.
  void wait(std::chrono::milliseconds timeout);
  // The state now; queued epochs and events move out.
  Snapshot take();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  Snapshot pending_;
  double session_wall0_ = 0;
  std::int64_t session_step0_ = -1;
  double epoch_samples_ = 0, epoch_step_time_ = 0;
};

// ---- what the user sees -----------------------------------------------------

// Draws on stderr. With a terminal: one status line redrawn in place (at most
// ~10 times a second) with epoch and event lines scrolling above it. Without
// one: a line per epoch and per event.
class ProgressDisplay {
 public:
  // Quiet: shows nothing (ranks other than 0 of a data-parallel run).
  explicit ProgressDisplay(bool quiet = false);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // Resets the per-run state; `classify` shows validation accuracy.
  void begin_run(bool classify);
  void show(ProgressFeed::Snapshot snapshot);
  // A line of its own (the live line is cleared first and redrawn later).
  void note(const std::string& line);
  void finish();  // clears the live line

 private:
  void clear_live();
  std::string status_text() const;
  void print_epoch(const EpochMetrics& m, double samples_per_s);
  void print_event(const RunEvent& e);

  bool quiet_ = false;
  bool live_ = false;
  bool classify_ = true;
  bool line_drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  std::optional<RunStart> start_;
  std::optional<StepMetrics> last_;
  double samples_per_s_ = 0;  // smoothed
  double steps_per_s_ = 0;
  int overflow_lines_ = 0;
};

// ---- a job ------------------------------------------------------------------

// What to train: the engine's train job (mantissa/train_job.hpp).
using TrainJob = TrainRequest;

struct JobResult {
  std::int64_t run_id = 0;  // 0 when not stored
  RunSummary summary;
  std::int64_t total_steps = 0;
  std::string device;
};

// Creates the backend, then trains on a worker thread that opens its own
// RunStore connection and records the run, while this thread draws the
// progress. Ctrl-C asks the trainer to stop at the next step boundary (the run
// ends stopped, with a checkpoint); a second Ctrl-C ends the process.
// A run that fails (its dataset does not load, a step runs out of memory)
// comes back with summary.outcome == Failed and is stored so; what keeps a run
// from being recorded at all (an unusable database, a resume that cannot
// start) is thrown.
JobResult run_job(const TrainJob& job, ProgressDisplay& display);

// Whether Ctrl-C was pressed during the last run_job() (compare stops there).
bool interrupted();

}  // namespace mantissa::cli
