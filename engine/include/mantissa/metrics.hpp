#pragma once
// What a training run reports (PRECISION.md "What every step reports"). Plain
// structs: the engine emits them through a MetricsSink, the store, the studio
// and the command line consume them.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace mantissa {

struct StepMetrics {
  std::int64_t step = 0;   // 1-based, counts skipped steps too
  std::int64_t epoch = 0;  // 0-based
  double loss = 0;         // unscaled fp32 training loss of this batch
  double loss_scale = 1;   // scale used for this step
  bool skipped = false;    // optimizer not run (non-finite gradients)
  std::int64_t skipped_total = 0;
  std::int64_t growth_tracker = 0;
  double grad_norm = 0;  // global L2 norm of the unscaled gradients
  double lr = 0;         // learning rate used (0 when skipped)
  double step_time_s = 0;
  double samples_per_s = 0;
  std::int64_t memory_in_use = 0;  // bytes the engine holds
  std::int64_t memory_peak = 0;
  std::int64_t driver_memory_in_use = 0;  // CUDA: what the driver reports; 0 otherwise
  double wall_time_s = 0;                 // since the run started
  // The loss scaler's record (whatif.hpp), with per-tensor numerics on: the
  // largest |x| / S over the 16-bit tensors the loss scale multiplies (on a
  // step that overflowed, measured again at S = 1); NaN when not measured.
  double unscaled_grad_amax = std::numeric_limits<double>::quiet_NaN();
  // The forward pass or the loss held a non-finite value: the step overflows
  // whatever the loss scale.
  bool forward_nonfinite = false;
  // The step's weight fingerprint (docs/divergence.md): the masters after it.
  double update_norm = 0;            // L2 norm of the change (0 when skipped)
  double weight_norm = 0;            // L2 norm of all masters together
  std::int64_t weights_checksum = 0;  // of every master's bits (a uint64's bits)
  // L2 norm of each master, in the model's parameter order (RunStart::weights);
  // stored beside the fields (RunStore::weight_norms), empty when not read.
  std::vector<double> weight_norms;
  // Data parallel (docs/data-parallel.md), 0 with one rank: the slowest
  // rank's forward and backward passes, and how long this rank's gradient
  // sum took (the communication the step waited for).
  double slowest_rank_s = 0;
  double reduce_time_s = 0;
};

// The ranks of a data-parallel run (RunStart::ranks, RunStore::ranks).
struct RankLayout {
  int world_size = 1;
  std::string engine;        // "gloo"
  std::string reduce_order;  // "ring" | "rank"
  std::vector<std::string> devices;  // each rank's backend and device, in rank order
};

struct EpochMetrics {
  std::int64_t epoch = 0;  // 0-based
  std::int64_t step = 0;   // last step of the epoch
  double train_loss = 0;   // mean over the epoch's non-skipped steps
  double val_loss = 0;
  double val_accuracy = 0;  // fraction in [0, 1]; classification only
  double wall_time_s = 0;
  // Time this epoch spent outside its steps: validation, and writing
  // checkpoints (to the sink, i.e. the database). Not part of any step_time_s.
  double eval_time_s = 0;
  double checkpoint_time_s = 0;
};

// Why a checkpoint was written. Kept: asked for (checkpoint_every) or the
// run's last. Safety: by wall time or at an epoch end, so that a killed run can
// be resumed; a run that finishes drops them.
enum class CheckpointKind { Kept, Safety };

enum class EventKind { Overflow, Warning, Info, Error };

struct RunEvent {
  std::int64_t step = 0;
  EventKind kind = EventKind::Info;
  std::string message;       // one line, ready to show
  double scale_before = 0;   // overflow events
  double scale_after = 0;
  std::string tensor;        // first gradient tensor with a non-finite value
  double wall_time_s = 0;
};

}  // namespace mantissa
