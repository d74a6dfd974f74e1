#pragma once
// The Trainer: one run of one project on one backend. run() blocks and is
// meant for a worker thread (TrainerThread starts one); faces talk to it only
// through a MetricsSink (events out) and a TrainControl (commands in).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mantissa/collective.hpp"
#include "mantissa/metrics.hpp"
#include "mantissa/model.hpp"
#include "mantissa/probe.hpp"
#include "mantissa/provenance.hpp"

namespace mantissa {

class Backend;
class Graph;
struct DatasetSplit;

// Commands from a face, checked at step boundaries. Thread-safe.
class TrainControl {
 public:
  void request_stop();
  void pause();
  void resume();
  bool stop_requested() const { return stop_.load(); }
  bool paused() const { return paused_.load(); }
  // Blocks while paused; returns false if a stop was requested.
  bool wait_if_paused();

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

enum class RunOutcome { Finished, Stopped, Failed };

struct RunSummary {
  RunOutcome outcome = RunOutcome::Finished;
  std::string error;  // when failed
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;
  double final_loss_scale = 1;
  double final_train_loss = 0;
  double final_val_loss = 0;
  double final_val_accuracy = 0;
  double wall_time_s = 0;
  double samples_per_s = 0;  // mean over the run's steps
  double eval_time_s = 0;        // spent on validation, not in any step's time
  double checkpoint_time_s = 0;  // spent writing checkpoints, not in any step's time
  std::int64_t peak_memory = 0;
  std::int64_t peak_activation_memory = 0;  // peak minus what the model state holds
};

struct RunStart {
  std::int64_t total_steps = 0;
  std::int64_t steps_per_epoch = 0;
  std::int64_t first_step = 1;  // > 1 when resuming
  std::string backend;
  std::string device;
  // The model's parameters in order: whose norms StepMetrics::weight_norms holds.
  std::vector<std::string> weights;
  // Data parallel: the ranks (world_size 1 otherwise).
  RankLayout ranks;
};

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual void run_started(const RunStart&) {}
  virtual void step_recorded(const StepMetrics&) {}
  virtual void epoch_recorded(const EpochMetrics&) {}
  virtual void event_recorded(const RunEvent&) {}
  // Per-tensor numerics (numerics.hpp): the slots, once, before the first
  // sample; then the sampled steps and the steps around an event.
  virtual void numerics_layout(const std::vector<NumericsSlot>&) {}
  virtual void numerics_recorded(const NumericsSample&) {}
  // Where a skipped step first went non-finite (provenance.hpp).
  virtual void provenance_recorded(const Provenance&) {}
  // The divergence probe of TrainOptions::probe_step (probe.hpp).
  virtual void probe_recorded(const StepProbe&) {}
  // The numerics manifest (manifest.hpp), once, when the steps are done.
  virtual void manifest_recorded(const std::string& /*json*/) {}
  // Called with a serialised checkpoint; the sink decides where it goes.
  virtual void checkpoint_written(std::int64_t /*step*/, std::int64_t /*epoch*/, CheckpointKind /*kind*/,
                                  const std::vector<std::uint8_t>& /*blob*/) {}
  virtual void run_finished(const RunSummary&) {}
};

// Fans one stream of metrics out to several sinks.
class MetricsFanout : public MetricsSink {
 public:
  void add(MetricsSink* sink) { sinks_.push_back(sink); }
  void run_started(const RunStart& s) override;
  void step_recorded(const StepMetrics& m) override;
  void epoch_recorded(const EpochMetrics& m) override;
  void event_recorded(const RunEvent& e) override;
  void numerics_layout(const std::vector<NumericsSlot>& slots) override;
  void numerics_recorded(const NumericsSample& s) override;
  void provenance_recorded(const Provenance& p) override;
  void probe_recorded(const StepProbe& p) override;
  void manifest_recorded(const std::string& json) override;
  void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind,
                          const std::vector<std::uint8_t>& blob) override;
  void run_finished(const RunSummary& s) override;

 private:
  std::vector<MetricsSink*> sinks_;
};

struct TrainOptions {
  std::optional<std::vector<std::uint8_t>> resume_from;  // a checkpoint blob
  // Initial weights from a safetensors file (load_weights: names and shapes
  // must match); resume_from, when also given, wins.
  std::optional<std::filesystem::path> init_weights;
  // A noise twin (docs/divergence.md): every initial fp32 master weight moved
  // one ulp up, so that the run measures how far fp32 drifts by chaos alone.
  bool noise_twin = false;
  // With resume_from: the loss scaler's state to continue with instead of
  // the checkpoint's (a branch with other scaler settings, whatif.hpp).
  struct ScalerState {
    double scale = 1;
    std::int64_t growth_tracker = 0;
    std::int64_t consecutive_skips = 0;
  };
  std::optional<ScalerState> scaler_state;
  // Train up to this step (1-based), probe it (probe.hpp, reported through
  // MetricsSink::probe_recorded) instead of running it, and stop there.
  std::optional<std::int64_t> probe_step;
  // Data-parallel training (docs/data-parallel.md): this rank's group (not
  // owned), or none. Rank 0's weights and state are broadcast at start after
  // every rank's settings were checked against rank 0's; only rank 0
  // evaluates and writes checkpoints.
  Collective* collective = nullptr;
  ReduceOrder reduce_order = ReduceOrder::Ring;
  std::int64_t bucket_bytes = 25 << 20;  // StepOptions::bucket_bytes
  // Fault injection, for tests of what the ranks do when one misbehaves
  // (`MANTISSA_FAULT`, docs/data-parallel.md): at `step` (1-based), on rank
  // `rank`, put an inf or a NaN in the gradient, stall for `seconds`, or
  // kill the process (SIGKILL).
  struct Fault {
    enum class Kind { None, Inf, NaN, Stall, Kill } kind = Kind::None;
    std::int64_t step = 0;
    int rank = 0;
    double seconds = 0;
  };
  Fault fault;
  bool evaluate = true;                                   // validation each epoch
  std::int64_t warmup_steps_excluded = 0;  // not counted in samples_per_s (unless no others)
  // Epoch-end safety checkpoints are skipped while writing them would take
  // more than this share of the run's time (epochs of milliseconds on a small
  // model); 0 or >= 1: one at every epoch end. Time-based ones always happen.
  double safety_checkpoint_share = 0.05;
};

// "inf@STEP[:RANK]", "nan@STEP[:RANK]", "stall@STEP[:RANK][/SECONDS]",
// "kill@STEP[:RANK]"; InputError naming `source` otherwise.
TrainOptions::Fault parse_fault(const std::string& text, const std::string& source);

class Trainer {
 public:
  // The project must already carry any command-line overrides. Loads the
  // dataset and builds the model (throws InputError on bad input).
  Trainer(const Project& project, Backend& backend, TrainOptions options = {});
  ~Trainer();

  // Trains until the budget is spent or a stop is requested. Never throws for
  // run-time failures: they end the run as Failed with the message.
  RunSummary run(MetricsSink& sink, TrainControl& control);

  Graph& graph();
  std::int64_t total_steps() const;
  std::int64_t steps_per_epoch() const;
  // Serialises the complete training state at the current step boundary.
  std::vector<std::uint8_t> checkpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mantissa
