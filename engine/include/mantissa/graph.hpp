#pragma once
// The executable model: one Layer object per project node, run as a DAG.
//
// Dtypes follow PRECISION.md's autocast rules (see layer_output_dtype): the
// graph casts every input of a layer to the layer's dtype before forward and
// casts each input gradient back to the dtype its producer emitted, so layers
// never convert activations themselves. Weights live as masters (fp32, or
// 16-bit under the pure policies); prepare_step() casts each master once per
// step into its compute copy, which forward and backward both reuse.
#include <cstdint>
#include <functional>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/model.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/precision.hpp"

namespace mantissa {

struct Param {
  std::string name;  // "<layer-id>.weight", "<layer-id>.bias", "<layer-id>.gamma" ...
  Tensor master;     // master_dtype(policy); what the optimizer updates
  Tensor compute;    // the dtype the layer computes with; aliases master when equal
  Tensor grad;       // fp32, same shape; overwritten by every backward
  bool decay = true;  // weight decay applies (weights yes; biases and norm affine no)
};

// A non-trained tensor that is part of the model state (batch-norm running stats).
struct Buffer {
  std::string name;  // "<layer-id>.running_mean"
  Tensor value;      // fp32
};

struct ExecContext {
  Backend& backend;
  bool training = true;
  std::uint64_t dropout_seed = 0;  // the run's; each Dropout layer mixes in its id
  // The run's step state, whose steps_taken the backend mixes into the seed
  // where it runs: a new mask every step, also when the step is captured
  // once and replayed. None: the seed alone.
  const Tensor* step_state = nullptr;
  // Per-tensor numerics the graph asks a layer's op to take in its own pass
  // (Backend::StatsTarget; null: none). Forward: of input 0 and of the
  // output; backward: of the incoming gradient and of input 0's gradient. A
  // layer that says takes_stats() writes every target it is given.
  Backend::StatsTarget* stats_in = nullptr;
  Backend::StatsTarget* stats_out = nullptr;
  // Called after each node's backward pass with the node's index; its
  // parameters' gradients are final then (data-parallel buckets start
  // their sum while the backward pass goes on). None: not called.
  const std::function<void(int)>* backward_done = nullptr;
  // Synchronised BatchNorm in a data-parallel step: the sum over the ranks
  // that batch statistics go through (Backend::RankSum). None: this rank's
  // rows alone.
  const Backend::RankSum* rank_sum = nullptr;
};

class Layer {
 public:
  explicit Layer(const LayerSpec& spec) : spec_(spec) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const LayerSpec& spec() const { return spec_; }
  const std::string& id() const { return spec_.id; }
  DType dtype() const { return dtype_; }
  void set_dtype(DType d) { dtype_ = d; }

  // Creates parameters and buffers (values drawn from `seed`, identical on every
  // backend). input_shapes are per sample.
  virtual void create_state(Backend&, Policy, const std::vector<Shape>& /*input_shapes*/,
                            std::uint64_t /*seed*/) {}
  virtual std::vector<Param*> params() { return {}; }
  virtual std::vector<Buffer*> buffers() { return {}; }

  // inputs are already in dtype(); returns the output in dtype().
  virtual Tensor forward(ExecContext& ctx, std::span<const Tensor> inputs) = 0;
  // grad_out is in dtype(); returns one gradient per input (in dtype()), or an
  // empty Tensor for an input that needs none. Parameter gradients are written.
  virtual std::vector<Tensor> backward(ExecContext& ctx, const Tensor& grad_out,
                                       const std::vector<bool>& need_input_grad) = 0;
  // Releases tensors saved for backward.
  virtual void clear_saved() {}
  // Whether forward and backward write ExecContext::stats_in / stats_out.
  virtual bool takes_stats() const { return false; }

 protected:
  LayerSpec spec_;
  DType dtype_ = DType::F32;
};

// Losses end the graph: predictions in the producer's dtype in (computed on
// in fp32), fp32 mean loss out, and the gradient of loss * scale w.r.t. the
// predictions in one call.
class LossLayer : public Layer {
 public:
  using Layer::Layer;
  virtual void loss_and_grad(ExecContext& ctx, const Tensor& pred, const Tensor& targets,
                             const Tensor& scale, Tensor& loss, Tensor& dpred) = 0;
  Tensor forward(ExecContext&, std::span<const Tensor>) override;
  std::vector<Tensor> backward(ExecContext&, const Tensor&, const std::vector<bool>&) override;
};

std::unique_ptr<Layer> create_layer(const LayerSpec& spec);

// Where a step's per-tensor numerics go (numerics.hpp): slot i's statistics
// at words [i * kWords, (i + 1) * kWords) of `stats`, its histogram likewise
// in `histograms` (undefined: none), written when the word `enable` is set.
struct NumericsBuffers {
  Tensor stats;
  Tensor histograms;
  Tensor enable;
};

// One tensor of a step as an observer sees it. slot is its numerics slot, or
// -1 for the casts between layers, which have none: `what` says what it is
// ("output", "gradient", "input 0 cast to f16", ...).
struct TensorEvent {
  int slot = -1;
  std::string layer;
  TensorRole role = TensorRole::Activation;
  int input = -1;
  std::string what;
};

// Sees every tensor of a step in execution order, as it is made (the
// provenance re-run of a skipped step). Called on the thread running the
// step; on an asynchronous backend the tensor's values are not ready yet.
class TensorObserver {
 public:
  virtual ~TensorObserver() = default;
  virtual void observe(const TensorEvent& event, const Tensor& t) = 0;
};

class Graph {
 public:
  Graph(const ModelSpec& model, Backend& backend, Policy policy, std::uint64_t init_seed,
        const std::filesystem::path& file_for_messages = {});

  Backend& backend() const { return *backend_; }
  Policy policy() const { return policy_; }
  const ModelSummary& summary() const { return summary_; }
  const Shape& input_shape() const;  // per sample
  const Shape& output_shape() const; // per sample (what the loss consumes)
  LayerKind loss_kind() const;
  // What the loss compares per sample: SoftmaxCrossEntropy over [T, V] has T
  // labelled positions of V classes each; every other model has 1 position
  // of output_shape().numel() outputs.
  std::int64_t positions() const;
  std::int64_t outputs_per_position() const;

  std::vector<Param*> params();    // in topological order, stable
  // The node each params() entry belongs to (ExecContext::backward_done).
  std::vector<int> param_nodes();
  std::vector<Buffer*> buffers();
  Layer& layer(const std::string& id);
  bool has_batch_norm() const;
  // A data-parallel rank without rows in this step, under synchronised
  // BatchNorm (ExecContext::rank_sum): every BatchNorm's forward and then
  // backward pass on an empty batch, in the order a full step makes them, so
  // that the rank joins their sums over the ranks and updates its running
  // statistics with the others'.
  void batch_norm_without_rows(ExecContext& ctx);

  // Casts every master whose compute copy has another dtype. Once per step.
  void prepare_step();
  // Runs the model on a batch (N, input_shape...) of fp32 data; returns the
  // tensor the loss consumes, in the dtype its producer emits. The batch is
  // released with its last reader when the caller hands it over (std::move):
  // under a mixed policy that is as soon as its 16-bit cast exists.
  Tensor forward(ExecContext& ctx, Tensor input);
  // After forward(): loss (1, fp32) = mean loss on `targets`; then backward from
  // loss * scale[0], filling every Param::grad.
  void loss_and_backward(ExecContext& ctx, const Tensor& targets, const Tensor& scale,
                         Tensor& loss);
  void clear_saved();
  // ReLU layers applied inside the Linear before them (see fuse_linear_relu).
  const std::vector<std::string>& fused_relus() const { return fused_relus_; }

  // The tensors a step records, in execution order (numerics.hpp); fixed
  // when the graph is built.
  const std::vector<NumericsSlot>& numerics_slots() const { return slots_; }
  // Per slot: whether its values are held in a 16-bit type and multiplied by
  // the loss scale: a backward tensor stored in fp16 or bf16, or an fp32
  // gradient that is cast to its producer's 16-bit type (the cast overflows
  // where the fp32 value is past the 16-bit range). The loss scaler's
  // what-if (whatif.hpp) reads these slots' largest values.
  std::vector<bool> scaled_16bit_slots();
  // Records every slot's statistics into `buffers` from now on (nullptr:
  // stop). The buffers must outlive the graph's use of them.
  void attach_numerics(const NumericsBuffers* buffers) { numerics_ = buffers; }
  // Weight-gradient statistics: loss_and_backward takes them unless a later
  // pass over the gradients does (TrainingStep's unscale pass, with
  // weight_grad_targets()).
  void defer_weight_grad_stats(bool deferred) { weight_grad_stats_deferred_ = deferred; }
  // Per params() entry, where its gradient's statistics go: targets kept in
  // `storage`, or empty when no numerics are attached.
  std::vector<Backend::StatsTarget*> weight_grad_targets(
      std::vector<Backend::StatsTarget>& storage) const;
  // Shows every tensor of the following steps to `observer` (nullptr: stop).
  void set_observer(TensorObserver* observer) { observer_ = observer; }

 private:
  void fuse_linear_relu();

  struct Node {
    std::unique_ptr<Layer> layer;
    std::vector<int> inputs;  // node indices
    Tensor output;            // saved from forward
    Tensor grad;              // accumulated during backward
    bool needs_grad = false;  // some parameter upstream... i.e. grad must flow into it
    int output_slot = -1;     // numerics slot of its forward output
    // Read by several layers that pass gradients back: the slot of their sum
    // (NumericsSlot::input -1), recorded as its backward begins; else -1.
    int grad_sum_slot = -1;
    std::vector<int> input_grad_slots;  // per input: slot of the gradient its backward returns
    // Statistics another node's op takes (Graph::plan_stats_in_ops): of the
    // forward output, by its only reader's forward; of input k's gradient,
    // by the backward of the node that produced input k.
    bool output_stats_by_consumer = false;
    std::vector<bool> input_grad_stats_by_source;
    // The slots this node's op takes for others: its input 0 (forward) and
    // the gradient of its output (backward); -1: none.
    int in_stats_slot = -1;
    int dy_stats_slot = -1;
  };

  void build_numerics_slots();
  void plan_stats_in_ops();
  // Statistics of slot `slot` (when attached) and the observer's view of t.
  void record(int slot, const Tensor& t);
  // Only the statistics / only the observer's view.
  void record_stats(int slot, const Tensor& t);
  void observe_slot(int slot, const Tensor& t);
  // Where slot `slot`'s statistics go, for an op that takes them itself;
  // false when no numerics are attached or slot is -1.
  bool stats_target(int slot, Backend::StatsTarget& target) const;
  // Words (and histogram) of slot `from` copied to slot `to` (one tensor in
  // both slots).
  void copy_stats(int from, int to);
  // The observer's view of a cast between layers (no slot).
  void observe_cast(const Node& node, int input, bool backward, const Tensor& t);

  Backend* backend_;
  Policy policy_;
  ModelSummary summary_;
  std::vector<Node> nodes_;  // topological order; nodes_[0] is the Input
  int output_node_ = -1;
  int loss_node_ = -1;
  std::vector<std::string> fused_relus_;
  std::vector<NumericsSlot> slots_;
  std::vector<int> weight16_slots_;  // per params() entry; -1 where compute is the master
  std::vector<int> weight_grad_slots_;  // per params() entry
  bool weight_grad_stats_deferred_ = false;
  int loss_slot_ = -1;
  const NumericsBuffers* numerics_ = nullptr;
  TensorObserver* observer_ = nullptr;
};

}  // namespace mantissa
