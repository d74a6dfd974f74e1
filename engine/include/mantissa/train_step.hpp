#pragma once
// One training step, as the Trainer and `mantissa bench` run it: upload the
// batch, cast weights, forward, loss × S, backward, unscale + finite check +
// norm, optimizer (skipped on the device when a gradient was non-finite),
// loss-scale update. enqueue() returns without waiting for the device; the
// step's scalars come back through begin_read() / finish_read(), so a caller
// can read step t while step t + 1 runs.
//
// Step capture: on a backend that can capture (CUDA graphs), the first
// full-size step after one eager warm-up step is recorded once and every
// later full-size step replays it: the batch is copied into fixed input
// tensors first, then the recording runs, with no host work per op. A step of
// another batch size (the last partial batch) runs eagerly beside it. Dropout
// draws from the run's seed and the step counter in the state vector, which
// the device advances, so a replayed step draws a new mask. Nothing is
// captured when StepOptions::capture is off. If the recording fails, the step
// runs eagerly, capture stays off for this run and capture_note() says why.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/probe.hpp"
#include "mantissa/provenance.hpp"

namespace mantissa {

struct StepOptions {
  bool capture = true;   // TrainingSpec::capture_graphs
  bool numerics = true;  // per-tensor statistics every step (numerics.hpp)
  // Data-parallel training (docs/data-parallel.md): this rank's group, or
  // none; and how the gradients are summed.
  Collective* collective = nullptr;
  ReduceOrder reduce_order = ReduceOrder::Ring;
  // The gradient sum in buckets of about this many bytes, in reverse layer
  // order, each started as soon as the backward pass has made its
  // gradients (on a backend whose memory is the host's); 0: one sum after
  // the backward pass.
  std::int64_t bucket_bytes = 25 << 20;
};

// What the ranks of a data-parallel step agreed on besides the gradients
// (TrainingStep::agreed()): the largest of each rank's value.
struct StepAgreement {
  float control = 0;            // TrainingStep::set_control(): 1 stop
  double slowest_pass_s = 0;    // the slowest rank's forward and backward
  double reduce_s = 0;          // this rank's wait for the gradient sum after its backward pass
  double comm_s = 0;            // the sum's own time, hidden behind the backward pass or not
};

// The per-tensor numerics a read brought back (TrainingStep::finish_read).
struct StepNumerics {
  std::vector<std::uint32_t> stats;       // slots × numerics_bits::kWords
  std::vector<std::uint32_t> histograms;  // slots × kBins, or empty: not asked for this step
  std::vector<TensorStats> decoded() const;
  std::vector<Histogram> decoded_histograms() const;
};

// The weight fingerprint a read brought back (Backend::weight_fingerprint,
// docs/divergence.md): the masters after the step.
struct StepFingerprint {
  std::uint64_t checksum = 0;        // of every master's bits
  double update_norm = 0;            // L2 norm of what the step changed (0: skipped)
  std::vector<double> weight_norms;  // L2 norm of each master, in params() order
  double weight_norm() const;        // of all of them together
};

// The rows [lo, hi) that rank (or shard) r of `world` takes from a batch of
// n: contiguous, disjoint, together the whole batch; some are empty when n <
// world (PRECISION.md "Data-parallel training").
struct RowRange {
  std::int64_t lo = 0, hi = 0;
  std::int64_t rows() const { return hi - lo; }
};
RowRange shard_rows(std::int64_t n, std::int64_t world, std::int64_t rank);

class TrainingStep {
 public:
  // The optimizer's moments are created here (zeros); total_steps drives the
  // cosine schedule.
  TrainingStep(Graph& graph, Backend& backend, const TrainingSpec& training,
               std::int64_t total_steps, StepOptions options = {});
  ~TrainingStep();
  TrainingStep(const TrainingStep&) = delete;
  TrainingStep& operator=(const TrainingStep&) = delete;

  // Enqueues one step on n samples: x holds n × input numel fp32 features,
  // y what the loss takes (n class ids, or n × outputs targets). dropout_seed
  // is the run's (the same every step).
  void enqueue(std::span<const float> x, std::span<const float> y, std::int64_t n,
               std::uint64_t dropout_seed);
  // Data parallel: this rank's word for the next step's agreement (1: stop
  // after it), and what the ranks agreed on in the last step enqueued.
  void set_control(float word) { control_ = word; }
  const StepAgreement& agreed() const { return agreed_; }
  bool data_parallel() const { return collective_ != nullptr; }
  // Data parallel on a device backend, called by every rank after the
  // start-up check: sums the gradients with the backend's device collective
  // (NCCL) from now on where every rank has one (ring order only; the
  // rank-ordered sum stays on the host). Returns what sums them: "nccl 2.21.5
  // + gloo", "gloo" (CPU), or "gloo through host memory (why not NCCL)".
  std::string join_device_sum();
  const std::string& device_sum_note() const { return device_note_; }
  // Fault injection (TrainOptions::fault): the next step enqueued finds
  // `value` (inf or NaN) in its first gradient element on this rank, before
  // the ranks' sum.
  void plant_in_gradient(float value) { planted_ = value; }
  // Asks for histograms on the steps enqueued from now on (numerics only).
  void set_histograms(bool on) { histograms_next_ = on; }
  // Starts copying the state the last enqueued step leaves, and its per-tensor
  // numerics; returns the ticket.
  std::uint64_t begin_read();
  StepState finish_read(std::uint64_t ticket);
  // The numerics of the step the last finish_read() read (empty with
  // numerics off).
  const StepNumerics& numerics() const { return numerics_read_; }
  bool numerics_on() const { return numerics_.stats.defined(); }
  // The weight fingerprint of the step the last finish_read() read.
  const StepFingerprint& fingerprint() const { return fingerprint_read_; }
  // Whether finish_read(ticket) would not wait: the step has run.
  bool read_ready(std::uint64_t ticket);
  // enqueue() + begin_read() + finish_read(): one step, waited for.
  StepState run(std::span<const float> x, std::span<const float> y, std::int64_t n,
                std::uint64_t dropout_seed);

  // Runs step `step` (1-based) again on its batch, op by op, and finds where
  // it first went non-finite (provenance.hpp); `reported` is what the step
  // reported (its scale and loss). Waits for the device. Weights, optimizer
  // state, batch-norm statistics, the step state and the numerics buffers
  // are left as they are.
  Provenance trace(std::span<const float> x, std::span<const float> y, std::int64_t n,
                   std::uint64_t dropout_seed, std::int64_t step, const StepState& reported);
  // The same step run once at loss scale `scale`: every tensor as it was
  // made, measured, in execution order (16-bit casts between layers
  // included); the loss in *loss when asked. State left as trace() leaves it.
  std::vector<TracedTensor> measure_at(double scale, std::span<const float> x,
                                       std::span<const float> y, std::int64_t n,
                                       std::uint64_t dropout_seed, std::int64_t step,
                                       float* loss = nullptr);

  // The divergence probe (probe.hpp) of step `step` on its batch, from the
  // weights as they are now: the step forward and backward at the current
  // loss scale, and again in a float32 graph of `model` given the same
  // weights. Waits for the device; leaves the state as trace() does.
  StepProbe probe(std::span<const float> x, std::span<const float> y, std::int64_t n,
                  std::uint64_t dropout_seed, std::int64_t step, const ModelSpec& model,
                  std::uint64_t init_seed, const std::filesystem::path& file);

  Shape input_batch_shape(std::int64_t n) const;
  Shape target_batch_shape(std::int64_t n) const;

  // Capture status: whether a recording exists, how many steps replayed it,
  // and why there is none when there is none ("" before the first attempt).
  bool captured() const { return captured_; }
  // A capture was tried and failed; steps run op by op for the rest of the run.
  bool capture_failed() const { return capture_failed_; }
  std::int64_t replays() const { return replays_; }
  const std::string& capture_note() const { return capture_note_; }
  // Drops the recording (e.g. before the model's memory is reshaped); the next
  // full-size step records again.
  void discard_capture();

  // The training state, for checkpoints.
  const std::vector<Param*>& params() const { return params_; }
  // The optimizer's state tensors: slots_per_param() per parameter, slot by
  // slot (slots()[k * params().size() + i] is parameter i's slot k).
  std::vector<Tensor>& slots() { return slots_; }
  int slots_per_param() const { return slots_per_param_; }
  // The step state on the device (see step_state.hpp). read_state() waits
  // for the steps enqueued so far; write_state() is for a resumed run.
  const Tensor& state() const { return state_; }
  StepState read_state() const { return read_step_state(state_); }
  void write_state(const StepState& s) { write_step_state(state_, s); }
  const ScalerRule& scaler() const { return scaler_; }

 private:
  // The constructor's part for a run of several processes
  // (train_step_ranks.cpp).
  void set_up_ranks(const TrainingSpec& t);
  // The ops of one step on device tensors x, y (no host work in between).
  void body(Tensor x, const Tensor& y, std::uint64_t dropout_seed);
  // The forward and backward passes of body() with TrainingSpec::virtual_ranks
  // shards: each shard's scaled gradients summed into accumulated_ in shard
  // order, its loss into `loss`.
  void sharded_passes(const Tensor& x, const Tensor& y, std::uint64_t dropout_seed,
                      const Tensor& scale, Tensor& loss);
  // The forward and backward passes of body() on this rank's rows of a
  // data-parallel step, and the fp32 sum of every rank's scaled gradients
  // and loss; then agree() after the unscale pass: found_inf, the norm,
  // the step's sequence number and the control words, reduced with MAX.
  void data_parallel_pass(Tensor x, const Tensor& y, std::uint64_t dropout_seed,
                          const Tensor& scale, Tensor& loss);
  void agree(Tensor& found_inf, Tensor& grad_sq);
  // The fp32 sum over ranks in place, directly in host memory or through a
  // host copy.
  void sum_in_place(Tensor& t);
  bool decide_capture();
  bool capture_allowed(std::int64_t n) const;

  Graph& graph_;
  Backend& backend_;
  StepOptions options_;
  std::vector<Param*> params_;
  std::vector<Tensor> grads_, masters_, slots_;
  // Virtual ranks (gradient accumulation): the shard count, the summed
  // scaled gradients (fp32, one per parameter), and the one-element shard
  // loss and scale. Unused with one rank.
  int virtual_ranks_ = 1;
  std::vector<Tensor> accumulated_;
  Tensor shard_loss_, shard_scale_;
  // Data parallel: the group, the one flat fp32 buffer the gradients and the
  // loss are summed in (accumulated_ are views of it), the global batch's
  // rows, the host copy on a device backend, and the agreement.
  Collective* collective_ = nullptr;
  ReduceOrder reduce_order_ = ReduceOrder::Ring;
  Tensor flat_;
  std::int64_t global_rows_ = 0;
  std::vector<float> staging_;
  // The flat buffer in buckets (the loss at offset 0, then each gradient in
  // params() order), listed in the order they are summed: highest offsets,
  // i.e. the last layers, first. A bucket starts once the backward pass has
  // passed its first parameter; the one holding the loss starts last.
  struct Bucket {
    std::int64_t offset = 0, count = 0;
    std::size_t first_param = 0;
  };
  std::vector<Bucket> buckets_;
  std::vector<int> param_nodes_;
  std::size_t next_bucket_ = 0;
  std::size_t lowest_ready_ = 0;  // params from here on are in flat_
  class Communicator;  // the thread that runs the buckets' sums
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<DeviceCollective> device_sum_;  // NCCL: the flat buffer summed on the device
  // Synchronised BatchNorm (TrainingSpec::sync_batch_norm, with BatchNorm
  // in the model and several ranks): the sum the layers' statistics go through.
  bool sync_norms_ = false;
  Backend::RankSum rank_sum_;
  std::string device_note_;
  void start_buckets(bool all);
  std::uint64_t reductions_ = 0;
  float control_ = 0;
  double pass_seconds_ = 0;
  StepAgreement agreed_;
  std::optional<float> planted_;
  int slots_per_param_ = 0;
  std::vector<std::uint8_t> decay_;
  Tensor state_;  // a StepState (make_step_state())
  ScalerRule scaler_;
  OptimizerRule optimizer_;
  std::int64_t full_batch_ = 0;
  // The fixed input tensors of full-size steps (what a recording reads).
  Tensor static_x_, static_y_;
  std::int64_t eager_full_steps_ = 0;
  bool captured_ = false;
  bool capturable_ = false;  // option on and the backend able
  bool capture_failed_ = false;
  std::int64_t replays_ = 0;
  std::string capture_note_;
  // Per-tensor numerics: the buffers the graph records into, whether the
  // next and the last enqueued step ask for histograms, and the open reads
  // behind each state ticket.
  // Where each weight gradient's statistics go (empty: numerics off).
  std::vector<Backend::StatsTarget> grad_stat_targets_;
  std::vector<Backend::StatsTarget*> grad_stats_;
  NumericsBuffers numerics_;
  bool histograms_next_ = false;
  bool histograms_last_ = false;
  // The weight fingerprint: its output words, and each master as the last
  // step left it (copied from the masters before the first step).
  Tensor fingerprint_;
  std::vector<Tensor> previous_;
  bool previous_set_ = false;
  StepFingerprint fingerprint_read_;
  struct OpenRead {
    std::uint64_t state = 0, stats = 0, histograms = 0, fingerprint = 0;  // 0: none
  };
  std::vector<OpenRead> open_reads_;
  StepNumerics numerics_read_;
};

}  // namespace mantissa
