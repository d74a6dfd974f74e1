#pragma once
// Datasets in host memory and the DataLoader that feeds the trainer.
//
// Every dataset becomes one fp32 table: `features` holds size() samples of
// sample_shape, `targets` holds target_dim values per sample (a class index
// stored as float for classification). Loading, splitting and shuffling are
// pure functions of the DatasetSpec, so a run can be reproduced and resumed.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mantissa/model.hpp"

namespace mantissa {

struct Dataset {
  std::string name;                        // "mnist", "spirals", the file name...
  std::vector<std::int64_t> sample_shape;  // {1, 28, 28} for IDX images, {F} for CSV / synthetic
  std::vector<float> features;             // (size, prod(sample_shape)), row-major
  std::vector<float> targets;              // (size, target_dim); class index as float
  std::int64_t target_dim = 1;
  int num_classes = 0;                   // 0 for regression
  std::vector<std::string> class_names;  // num_classes entries when classifying

  std::int64_t size() const;
  std::int64_t sample_numel() const;  // prod(sample_shape)
};

struct DatasetSplit {
  Dataset train, validation;
  // Per-feature statistics of the train split when features were standardised
  // (CSV with normalize); empty otherwise. Kept so that inference and export
  // can apply the same transform.
  std::vector<float> feature_mean, feature_std;
};

// $MANTISSA_DATA_DIR, else $XDG_DATA_HOME/mantissa/data, else
// ~/.local/share/mantissa/data.
std::filesystem::path data_dir();

// Loads and splits what `spec` describes. Relative paths in the spec are taken
// relative to `base_dir` (the project file's folder) when it is not empty.
//  * mnist:  data_dir()/mnist/mnist-{images.idx3,labels.idx1}-ubyte; fixed split,
//            the first four fifths train, the last fifth validation (8,000 /
//            2,000 for the built-in 10,000 digits); validation_fraction ignored.
//  * fashion-mnist: data_dir()/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte;
//            fixed split, the train files train and the t10k files validate
//            (60,000 / 10,000); validation_fraction is refused.
//  * idx, csv, images, spirals, moons, blobs: the last validation_fraction of
//            the samples after a shuffle seeded by spec.seed is the validation
//            split, unless csv or images name a validation file or folder.
//  * images: spec.path holds one subfolder of PNG / JPEG files per class (the
//            classes in byte order of their names); each picture becomes
//            channels × height × width, scaled to [0, 1] with normalize.
//  * text, fortunes: bytes cut into windows of spec.context, split by position.
// Every problem throws InputError naming the file and the row, item or field.
DatasetSplit load_dataset(const DatasetSpec& spec, const std::filesystem::path& base_dir = {});

// The pieces load_dataset() is built from, for tools and tests.
//
// IDX (the MNIST container): element types 0x08 (uint8) and 0x0D (big-endian
// float32). Images of rank 3 (N, H, W) become samples of {1, H, W}; rank 2
// (N, F) gives {F}; rank 4 is taken as (N, C, H, W). uint8 labels of rank 1
// are class ids (num_classes = max + 1); float32 labels are regression targets.
// With scale_uint8, uint8 images are divided by 255.
Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 bool scale_uint8);

// CSV: comma separated, RFC 4180 quoting, blank lines skipped. Rows in messages
// are counted as an editor shows the file's lines, from 1, header included;
// columns without a header are numbered from 0, like label_column.
//  * The first row is a header when one of its feature cells is not a number
//    (or only its label cell is not, while every other label is).
//  * label_column: a header name, or a 0-based index; empty = the last column.
//  * Labels that are all integers in [0, 100000) are class ids. Otherwise, if
//    any label is not a number, labels are class names, numbered in sorted
//    (byte-wise) order so the same names give the same ids in every file.
//    Other numeric labels are regression targets.
Dataset load_csv(const std::filesystem::path& path, const std::string& label_column);

// spirals / moons / blobs in 2-D, a pure function of (samples, classes, noise,
// seed): the same seed gives the same bits on every platform.
Dataset make_synthetic(const DatasetSpec& spec);
// What a synthetic set may ask for: the project reader and the generator
// hold it to the same limits.
inline constexpr std::int64_t kMaxSyntheticSamples = 10'000'000;
inline constexpr int kMaxSyntheticClasses = 1000;

// Shuffles sample indices with `seed`, keeps the last validation_fraction as
// validation; both parts stay in their original relative order.
DatasetSplit split_dataset(const Dataset& all, double validation_fraction, std::uint64_t seed);

// Standardises every feature with the train split's mean and standard deviation
// and records them in split.feature_mean / feature_std.
void standardize(DatasetSplit& split);

// True when a sample of `data` has as many values as the model's input expects:
// 1×28×28 MNIST feeds an input of [784] and the other way round.
bool shape_fits(const Dataset& data, const std::vector<std::int64_t>& model_input_shape);
// Throws InputError when !shape_fits, naming the dataset, both shapes and the
// model's input layer id.
void check_input_shape(const Dataset& data, const std::vector<std::int64_t>& model_input_shape,
                       const std::string& input_id);

// What a dataset gives per sample, known without holding its samples: enough
// to check it against a model while the model is being drawn.
struct DatasetShape {
  std::string name;                        // as Dataset::name: "mnist", the file name...
  std::vector<std::int64_t> sample_shape;  // {1, 28, 28}, {F}
  std::int64_t target_dim = 1;
  int num_classes = -1;  // -1: unknown until every label is read; 0: regression
  std::int64_t vocabulary = 0;  // text: token ids lie in [0, vocabulary); 0: not text
  bool operator==(const DatasetShape&) const = default;
};

// The shape of a loaded dataset; its classes are known.
DatasetShape dataset_shape(const Dataset& data);
// The shape a model must fit for a loaded split: the training set's, its
// classes widened by any the validation set has beyond them (a label only
// the validation split holds needs its output too).
DatasetShape dataset_shape(const DatasetSplit& split);

// The shape `spec` will load, read from the headers of its files only (a CSV
// file's first record, an IDX file's header and its one byte per label), never
// their samples, so it is cheap enough to call on every edit. Classes are known
// for the synthetic sets and IDX files, not for CSV files (-1). Relative paths
// are taken from `base_dir` as load_dataset() takes them; an unreadable file
// throws InputError naming it.
DatasetShape peek_dataset(const DatasetSpec& spec, const std::filesystem::path& base_dir = {});

// Where `data` does not fit `model` (diagnosed as `diagnosis`), as error
// problems on its layers, in words that name the dataset and both shapes: the
// sample size on the Input layer; classes or targets on the layer feeding the
// loss (the checks Trainer makes before its first step). Parts of the model
// the diagnosis could not infer, and classes that are unknown, are not checked.
std::vector<ModelProblem> dataset_fit_problems(const DatasetShape& data, const ModelSpec& model,
                                               const ModelDiagnosis& diagnosis);

// Throws InputError with the first of dataset_fit_problems() for a loaded
// split (dataset_shape(split)), as the trainer checks before its first
// step: the studio's and the trainer's checks are the same rule.
void check_dataset_fits(const DatasetSplit& split, const ModelSpec& model);

// Throws InputError when a sample holds a value that is no token id of an
// Embedding fed from the Input (not an integer in [0, vocab)), naming the
// dataset, the sample, the value and the layer.
void check_token_ids(const Dataset& data, const ModelSpec& model);

// One batch, laid out for a direct upload.
struct Batch {
  std::int64_t epoch = 0;
  std::int64_t index = 0;  // within the epoch
  std::int64_t size = 0;   // samples; smaller than batch_size only for a last partial batch
  std::vector<float> x;    // (size, prod(sample_shape))
  std::vector<float> y;    // (size, target_dim)
  std::vector<std::int64_t> samples;  // (size) row of each sample in the dataset
};

struct LoaderOptions {
  std::int64_t batch_size = 128;
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;  // when false the last partial batch of an epoch is kept
  int prefetch = 3;        // batches assembled ahead of the consumer
  // Runs on the prefetch thread after a batch is assembled (augmentation, for
  // instance). Exceptions it throws come out of next().
  std::function<void(Batch&)> transform;
};

// An endless stream of batches: epoch 0, batch 0, 1, ..., then epoch 1, ...
// A background thread assembles batches into a bounded queue; next() waits
// only when that queue is empty. The order of epoch e is a pure function of
// (seed, e), so seek() recreates exactly the batches an uninterrupted run saw.
// The dataset must outlive the loader. One consumer thread calls next().
class DataLoader {
 public:
  DataLoader(const Dataset& data, LoaderOptions options);
  DataLoader(const Dataset& data, std::int64_t batch_size, bool shuffle, std::uint64_t seed,
             bool drop_last = false);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch. The reference stays valid until the following next() or
  // the loader's destruction; its buffers are then reused.
  const Batch& next();
  // Restarts production at (epoch, batch_index); a batch_index past the end of
  // an epoch carries into the following epochs.
  void seek(std::int64_t epoch, std::int64_t batch_index);

  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // Sample rows in the order epoch `epoch` visits them.
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;

 private:
  void produce();
  void assemble(Batch& batch, std::int64_t epoch, std::int64_t index,
                const std::vector<std::int64_t>& order) const;

  const Dataset& data_;
  LoaderOptions options_;
  std::int64_t batches_per_epoch_ = 0;

  std::mutex mutex_;
  std::condition_variable producer_cv_, consumer_cv_;
  std::vector<Batch> slots_;
  std::vector<int> free_;        // slots the producer may fill
  std::deque<int> ready_;        // filled slots, in stream order
  int held_ = -1;                // slot last handed out by next()
  std::int64_t next_epoch_ = 0;  // where the producer continues
  std::int64_t next_index_ = 0;
  std::uint64_t generation_ = 0;  // bumped by seek(); stale batches are dropped
  std::exception_ptr error_;
  bool stop_ = false;
  std::thread thread_;
};

// Whether `spec` asks for augmentation (crop_padding > 0 or flip).
bool augments(const DatasetSpec& spec);
// Augments the training batch in place as `spec` asks: each C×H×W sample is
// cropped from the image padded with spec.crop_padding zeros (a shift of up
// to that many pixels either way) and flipped left to right half of the time.
// The draw for a sample is a pure function of (seed, batch.epoch, its row),
// whatever batch it lands in. Throws InputError when augmentation is asked for
// samples that are not C×H×W images.
void augment_batch(Batch& batch, const std::vector<std::int64_t>& sample_shape,
                   const DatasetSpec& spec, std::uint64_t seed);

// Copies the samples at `rows` into batch.x / batch.y (resizing them) and sets
// batch.size and batch.samples. Used by the loader; handy for evaluation.
void gather_batch(const Dataset& data, std::span<const std::int64_t> rows, Batch& batch);

}  // namespace mantissa
