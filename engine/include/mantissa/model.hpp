#pragma once
// Project files (.mantissa.json) as typed structs. JSON exists only inside
// parse_project() / project_to_json(); everything else sees these structs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mantissa/numerics.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/tensor.hpp"

namespace mantissa {

// Each kind is defined by one file under engine/src/model/kinds/ (its
// descriptor: mantissa/layer_descriptor.hpp). A new kind is a value here and
// that file.
enum class LayerKind {
  Input,
  Linear,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool,
  Flatten,
  ReLU,
  LeakyReLU,
  GELU,
  Tanh,
  Sigmoid,
  Dropout,
  BatchNorm,
  LayerNorm,
  Add,
  Concat,
  SoftmaxCrossEntropy,
  MSE,
  Embedding,
  PositionalEmbedding,
  MultiHeadAttention,
  Softmax,
  GroupNorm,
  Reshape,
};
inline constexpr std::size_t kLayerKindCount = std::size_t(LayerKind::Reshape) + 1;  // the last one

// Shorthands for fields of descriptor(k).
std::string_view layer_kind_name(LayerKind k);  // the project-file spelling, e.g. "Conv2d"
std::optional<LayerKind> parse_layer_kind(std::string_view s);
bool is_loss(LayerKind k);

enum class Init { Default, KaimingUniform, KaimingNormal, XavierUniform, XavierNormal };

// One node of the model graph. Only the fields of its kind are meaningful; the
// parser rejects parameters that do not belong to the kind.
// Where the studio draws a layer's node (its top-left corner, in canvas
// units). Layout only: it never changes what the model computes.
struct CanvasPosition {
  double x = 0, y = 0;
  bool operator==(const CanvasPosition& o) const { return x == o.x && y == o.y; }
};

struct LayerSpec {
  std::string id;
  LayerKind kind = LayerKind::Input;
  std::vector<std::string> inputs;  // ids of the nodes feeding this one, in order
  bool pin_fp32 = false;            // run in fp32 whatever the policy

  std::vector<std::int64_t> shape;  // Input: per-sample shape, e.g. {784} or {1, 28, 28}; Reshape: the new one
  bool tokens = false;              // Input: the sample is token ids (kept exact, never narrowed)
  std::int64_t out_features = 0;    // Linear
  std::int64_t out_channels = 0;    // Conv2d
  bool bias = true;                 // Linear, Conv2d
  int kernel_h = 0, kernel_w = 0;   // Conv2d, pools
  int stride_h = 1, stride_w = 1;   // Conv2d, pools (pools default to the kernel size)
  int pad_h = 0, pad_w = 0;         // Conv2d, pools
  float negative_slope = 0.01f;     // LeakyReLU
  float p = 0.5f;                   // Dropout
  float eps = 1e-5f;                // BatchNorm, LayerNorm
  float momentum = 0.1f;            // BatchNorm
  Init init = Init::Default;        // Linear, Conv2d (Default = Kaiming uniform, PyTorch's)
  std::int64_t vocab = 0;           // Embedding: number of token ids
  std::int64_t width = 0;           // Embedding: channels per token
  std::int64_t max_length = 0;      // PositionalEmbedding: longest sequence it has a row for
  std::int64_t heads = 1;           // MultiHeadAttention
  bool causal = true;               // MultiHeadAttention: a position sees only those before it
  std::int64_t groups = 1;          // GroupNorm
  std::optional<CanvasPosition> position;  // "position": [x, y]; unset = the studio lays it out
};

struct ModelSpec {
  std::vector<LayerSpec> layers;  // in file order; validated to be a DAG
  // The ids of the BatchNorm layers, in file order (a data-parallel run says
  // how their statistics are kept).
  std::vector<std::string> batch_norm_ids() const;
};

struct DatasetSpec {
  // mnist | fashion-mnist | idx | csv | images | text | fortunes | spirals | moons | blobs
  std::string kind = "mnist";
  std::filesystem::path images;      // idx
  std::filesystem::path labels;      // idx
  std::filesystem::path path;        // csv, text: the file; images: the folder of class folders
  // csv, text, images: a separate validation file or folder; empty = split `path`
  std::filesystem::path validation_path;
  std::int64_t context = 64;         // text, fortunes: tokens (bytes) per window
  std::string label_column;          // csv: name or 0-based index; empty = last column
  // csv: standardise features; idx, images and the built-in images: scale to [0, 1]
  bool normalize = true;
  // images: every picture is decoded to `channels` (1 grey, 3 RGB) and resized to height × width
  std::int64_t channels = 3, height = 32, width = 32;
  // Augmentation of training images (C×H×W samples), on the loader thread, seeded
  // by (training seed, epoch, sample): a random crop of the image padded with
  // `crop_padding` zeros on each side, and a horizontal flip half of the time.
  std::int64_t crop_padding = 0;
  bool flip = false;
  std::int64_t samples = 2000;       // synthetic
  int classes = 2;                   // synthetic
  double noise = 0.1;                // synthetic
  std::uint64_t seed = 1;            // synthetic
  double validation_fraction = 0.2;  // for sets without a fixed split

  // Every file and folder above made absolute, a relative one taken
  // relative to `dir` (Project::dataset_dir(); empty: the working
  // directory), so that a stored copy of the project finds its data from
  // wherever it is read again.
  void make_paths_absolute(const std::filesystem::path& dir = {});
};

// Each kind's name, hyperparameters and state are its row in
// src/optim/optimizers.cpp; its update is in src/optim/step_rules.hpp.
enum class OptimizerKind { Sgd, AdamW, Adam };
enum class ScheduleKind { Constant, Step, Cosine };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::Sgd;
  double lr = 0.05;
  double momentum = 0.9;  // SGD
  bool nesterov = false;  // SGD
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam, AdamW
};

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::Constant;
  std::int64_t warmup_steps = 0;  // linear warm-up from 0, before any schedule
  std::int64_t step_size = 1000;  // Step: multiply by gamma every step_size steps
  double gamma = 0.1;
  double min_lr = 0.0;            // Cosine: floor reached at the last step
};

struct TrainingSpec {
  Policy policy = Policy::Float32;
  LossScaleConfig loss_scale;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  std::int64_t batch_size = 128;
  int epochs = 5;
  std::optional<std::int64_t> steps;  // overrides epochs when set
  std::uint64_t seed = 0;
  std::optional<double> clip_grad_norm;
  std::int64_t checkpoint_every = 0;  // steps; 0 = only at the end
  // Gradient accumulation as PRECISION.md's data-parallel step in one
  // process: each batch of n rows is cut into this many contiguous shards
  // ([floor(r n / K), floor((r + 1) n / K))), each run forward and backward
  // with its loss divided by n, and their scaled gradients summed in fp32 in
  // shard order before the one unscale-and-check, optimizer and scaler step.
  static constexpr int kMaxVirtualRanks = 4096;  // the project file's and the CLI's limit
  int virtual_ranks = 1;
  // Data-parallel runs: BatchNorm's batch statistics over every rank's rows
  // together (summed across ranks), so that the run equals one process with
  // the whole batch; off, each rank normalises its own rows (PRECISION.md).
  bool sync_batch_norm = false;
  // Safety checkpoints, so that a killed run resumes losing little: one once
  // this much wall time has passed since the last (0 = none), and one at
  // every epoch end. Pruned when the run finishes (RunStore::set_status).
  double checkpoint_seconds = 60;
  bool checkpoint_each_epoch = true;
  std::string backend = "cpu";
  bool allow_tf32 = false;  // BackendOptions::allow_tf32
  // Record a full-size training step once and replay it (CUDA graphs) where
  // the backend can; off runs every op as it is called.
  bool capture_graphs = true;
  // Per-tensor numerics: always on unless turned off; how often a step's
  // statistics and histograms are stored ("numerics" in the project file).
  NumericsOptions numerics;
};

struct Project {
  int version = 1;
  std::string name;
  std::filesystem::path file;  // where it was read from (for messages and relative paths)
  DatasetSpec dataset;
  ModelSpec model;
  TrainingSpec training;

  // What relative dataset paths are relative to: the project file's folder,
  // or (no file) the working directory, given as an empty path.
  std::filesystem::path dataset_dir() const { return file.empty() ? file : file.parent_path(); }
};

inline constexpr int kProjectFormatVersion = 1;

// Reads and validates a project file. Every problem throws InputError whose
// message starts with "<file>: <json path>: " and names the layer when there is
// one, e.g. "mnist.json: /model/nodes/3: layer 'fc2': unknown layer type 'Dense2'".
Project load_project(const std::filesystem::path& file);
Project parse_project(const std::string& json_text, const std::filesystem::path& file_for_messages);
std::string project_to_json(const Project& p);  // pretty, round-trips through parse_project

// Shape inference and per-layer costs. Shapes are per sample (no batch axis).
struct LayerInfo {
  std::string id;
  LayerKind kind = LayerKind::Input;
  std::vector<Shape> input_shapes;
  Shape output_shape;
  std::int64_t params = 0;         // trainable parameter count
  // Of those, the ones the layer computes in its own dtype (a Linear's, a
  // convolution's, attention's projections' and an embedding's weights);
  // the others (biases, norms' scales, positions) compute in fp32.
  std::int64_t weight_params = 0;
  bool pin_fp32 = false;  // the layer is pinned to fp32 (LayerSpec::pin_fp32)
  std::int64_t forward_flops = 0;  // per sample, 2 per multiply-add (linear, conv)
  // Output activation bytes per sample under float32, mixed_float16, mixed_bfloat16.
  std::array<std::int64_t, 3> activation_bytes{};
  // What training holds for this layer's backward pass, per sample and
  // policy: the tensors it keeps from its forward that no layer before it
  // keeps already (its inputs as it received them, its output, its own
  // intermediates); for the loss, the predictions and their gradient. The
  // sum over the layers is the activation memory of a training step's peak.
  std::array<std::int64_t, 3> kept_bytes{};
  std::array<DType, 3> output_dtype{};
};

struct ModelSummary {
  std::vector<LayerInfo> layers;  // topological order
  std::int64_t total_params = 0;
  std::int64_t total_forward_flops = 0;               // per sample
  std::array<std::int64_t, 3> total_activation_bytes{};  // per sample
  // Per sample: the activation memory at a training step's peak, estimated
  // from what each layer keeps (LayerInfo::kept_bytes) and the gradients the
  // backward pass holds, as the graph runs them (weights, their gradients
  // and optimizer state not included).
  std::array<std::int64_t, 3> training_activation_bytes{};
  std::string output_id;                              // the node feeding the loss
  std::string loss_id;                                // the loss node
};

inline constexpr std::array<Policy, 3> kSummaryPolicies = {Policy::Float32, Policy::MixedFloat16,
                                                           Policy::MixedBFloat16};
// Where a policy's figures are in those arrays: its own entry, or for the
// pure float16 / bfloat16 policies the mixed one of the same 16-bit type
// (their activations are the same or smaller: only the Input differs).
std::size_t summary_index(Policy p);

// Validates the graph (unknown inputs, cycles, exactly one Input and one loss,
// shape compatibility) and infers shapes. Errors name the file, path and layer.
ModelSummary analyze_model(const ModelSpec& model, const std::filesystem::path& file_for_messages);
// The model as a builder sees it while it is unfinished: the shape of every
// layer that can be inferred (its inputs are), and every problem at once, each
// on its layer, in words without file or JSON path. An unused output is a
// warning here: the layers after it are still inferred (training refuses it).
struct ModelProblem {
  std::string layer_id;  // empty: the model as a whole ("the model has no loss layer ...")
  std::string message;
  bool warning = false;
};
struct ModelDiagnosis {
  std::vector<LayerInfo> layers;  // the inferred layers, inputs before the layers they feed
  std::vector<ModelProblem> problems;
  // As ModelSummary's, once every layer is inferred (zeros before).
  std::array<std::int64_t, 3> training_activation_bytes{};
  // No problems at all: analyze_model() accepts the model.
  bool complete() const { return problems.empty(); }
  const LayerInfo* find(std::string_view id) const;        // nullptr: not inferred
  std::vector<const ModelProblem*> problems_of(std::string_view id) const;
};
ModelDiagnosis diagnose_model(const ModelSpec& model);

// The autocast rule of PRECISION.md: the dtype a layer computes in and emits,
// given the policy, its pin and its inputs' dtypes. Input emits fp32 data.
//  * Linear, Conv2d: compute dtype (fp32 when pinned).
//  * LayerNorm, losses: fp32.
//  * BatchNorm and everything else: the input dtype; Add / Concat with inputs of
//    different dtypes promote to fp32; pinned layers are fp32.
// Under Float16 / BFloat16 (pure) the Input emits the 16-bit type too.
DType layer_output_dtype(const LayerSpec& layer, Policy policy, const std::vector<DType>& inputs);

// Nodes in an order where every node comes after its inputs.
std::vector<const LayerSpec*> topological_order(const ModelSpec& model);

}  // namespace mantissa
