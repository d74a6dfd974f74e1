// load_dataset(): from a DatasetSpec to a train / validation pair.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "data/io_util.hpp"
#include "data/random.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

std::int64_t Dataset::sample_numel() const {
  std::int64_t n = 1;
  for (auto d : sample_shape) n *= d;
  return n;
}

std::int64_t Dataset::size() const {
  return target_dim > 0 ? std::int64_t(targets.size()) / target_dim : 0;
}

std::filesystem::path data_dir() {
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  if (auto dir = env("MANTISSA_DATA_DIR"); !dir.empty()) return dir;
  if (auto xdg = env("XDG_DATA_HOME"); !xdg.empty())
    return std::filesystem::path(xdg) / "mantissa" / "data";
  if (auto home = env("HOME"); !home.empty())
    return std::filesystem::path(home) / ".local" / "share" / "mantissa" / "data";
  throw InputError("cannot locate the data folder: set MANTISSA_DATA_DIR");
}

namespace {

// The rows `rows` of `all`, in that order.
Dataset take_rows(const Dataset& all, const std::vector<std::int64_t>& rows) {
  Dataset d;
  d.name = all.name;
  d.sample_shape = all.sample_shape;
  d.target_dim = all.target_dim;
  d.num_classes = all.num_classes;
  d.class_names = all.class_names;
  const std::size_t f = std::size_t(all.sample_numel());
  const std::size_t t = std::size_t(all.target_dim);
  d.features.resize(rows.size() * f);
  d.targets.resize(rows.size() * t);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::size_t r = std::size_t(rows[i]);
    std::copy_n(all.features.begin() + std::ptrdiff_t(r * f), f,
                d.features.begin() + std::ptrdiff_t(i * f));
    std::copy_n(all.targets.begin() + std::ptrdiff_t(r * t), t,
                d.targets.begin() + std::ptrdiff_t(i * t));
  }
  return d;
}

std::vector<std::int64_t> iota_rows(std::int64_t begin, std::int64_t end) {
  std::vector<std::int64_t> rows(std::size_t(end - begin));
  std::iota(rows.begin(), rows.end(), begin);
  return rows;
}

data::SourceFile resolve(const std::filesystem::path& p, const std::filesystem::path& base_dir,
                         const char* field) {
  if (p.empty()) throw InputError(std::string(field) + ": no file given");
  const auto full = p.is_relative() && !base_dir.empty() ? base_dir / p : p;
  return {full, p.string()};
}

// MNIST keeps a fixed split so that every run, whatever its seed, is
// validated on the same digits and runs compare.
DatasetSplit load_mnist(bool scale) {
  const auto dir = data_dir() / "mnist";
  const auto images = dir / "mnist-images.idx3-ubyte";
  const auto labels = dir / "mnist-labels.idx1-ubyte";
  if (!std::filesystem::exists(images) || !std::filesystem::exists(labels))
    throw InputError("built-in MNIST data not found at " + dir.string() +
                     ": run scripts/fetch-mnist.sh");
  Dataset all = data::load_idx(data::source_file(images), data::source_file(labels), scale);
  all.name = "mnist";
  const std::int64_t n = all.size();
  const std::int64_t n_train = n - n / 5;
  DatasetSplit split;
  split.train = take_rows(all, iota_rows(0, n_train));
  split.validation = take_rows(all, iota_rows(n_train, n));
  return split;
}

// Fashion-MNIST keeps the original split: its 60,000 training images train,
// its 10,000 test images validate, whatever the seed.
DatasetSplit load_fashion_mnist(bool scale) {
  static const std::vector<std::string> kClassNames = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  const data::FashionMnistFiles files = data::fashion_mnist_files();
  DatasetSplit split;
  split.train = data::load_idx(data::source_file(files.train_images),
                               data::source_file(files.train_labels), scale);
  split.validation = data::load_idx(data::source_file(files.test_images),
                                    data::source_file(files.test_labels), scale);
  for (Dataset* d : {&split.train, &split.validation}) {
    if (d->num_classes > int(kClassNames.size()))
      throw InputError("built-in Fashion-MNIST: a label in " + d->name +
                       " is past the 10 classes: run scripts/fetch-fashion-mnist.sh again");
    d->name = "fashion-mnist";
    // Both splits name all ten classes, even if one lacks the last of them.
    d->num_classes = int(kClassNames.size());
    d->class_names = kClassNames;
  }
  return split;
}

}  // namespace

namespace data {

FashionMnistFiles fashion_mnist_files() {
  const auto dir = data_dir() / "fashion-mnist";
  FashionMnistFiles f{dir / "train-images-idx3-ubyte", dir / "train-labels-idx1-ubyte",
                      dir / "t10k-images-idx3-ubyte", dir / "t10k-labels-idx1-ubyte"};
  for (const auto* p : {&f.train_images, &f.train_labels, &f.test_images, &f.test_labels}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*p, ec))
      throw InputError("built-in Fashion-MNIST data not found: " + p->string() +
                       " is missing: run scripts/fetch-fashion-mnist.sh");
  }
  return f;
}

std::filesystem::path fortunes_file() {
  const auto f = data_dir() / "text" / "fortunes.txt";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(f, ec))
    throw InputError("built-in text not found: " + f.string() +
                     " is missing: run scripts/fetch-fortunes.sh");
  return f;
}

}  // namespace data

DatasetSplit split_dataset(const Dataset& all, double validation_fraction, std::uint64_t seed) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
    throw InputError("dataset.validation_fraction: must be in [0, 1), got " +
                     std::to_string(validation_fraction));
  const std::int64_t n = all.size();
  if (n == 0) throw InputError("dataset '" + all.name + "' has no samples");
  // At least one training sample, whatever the fraction.
  const std::int64_t n_val =
      std::min<std::int64_t>(std::llround(validation_fraction * double(n)), n - 1);

  std::vector<std::int64_t> order = iota_rows(0, n);
  data::Rng rng(data::stream_key(seed, data::kPurposeSplit, 0));
  data::shuffle(order, rng);
  std::vector<std::int64_t> train(order.begin(), order.end() - n_val);
  std::vector<std::int64_t> val(order.end() - n_val, order.end());
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());

  DatasetSplit split;
  split.train = take_rows(all, train);
  split.validation = take_rows(all, val);
  return split;
}

void standardize(DatasetSplit& split) {
  const std::int64_t f = split.train.sample_numel();
  const std::int64_t n = split.train.size();
  std::vector<double> sum(std::size_t(f), 0.0), sq(std::size_t(f), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j)
      sum[std::size_t(j)] += split.train.features[std::size_t(i * f + j)];
  split.feature_mean.assign(std::size_t(f), 0.0f);
  split.feature_std.assign(std::size_t(f), 1.0f);
  if (n == 0) return;
  for (std::int64_t j = 0; j < f; ++j) sum[std::size_t(j)] /= double(n);
  // Two passes: the textbook one-pass formula loses everything to cancellation
  // on features with a large offset (timestamps, prices).
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) {
      const double d = split.train.features[std::size_t(i * f + j)] - sum[std::size_t(j)];
      sq[std::size_t(j)] += d * d;
    }
  for (std::int64_t j = 0; j < f; ++j) {
    const double sd = std::sqrt(sq[std::size_t(j)] / double(n));
    split.feature_mean[std::size_t(j)] = float(sum[std::size_t(j)]);
    // A constant feature is only centred; dividing by ~0 would blow it up.
    split.feature_std[std::size_t(j)] = sd > 1e-12 ? float(sd) : 1.0f;
  }
  for (Dataset* d : {&split.train, &split.validation}) {
    const std::int64_t rows = d->size();
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < f; ++j) {
        float& v = d->features[std::size_t(i * f + j)];
        v = (v - split.feature_mean[std::size_t(j)]) / split.feature_std[std::size_t(j)];
      }
  }
}

DatasetSplit load_dataset(const DatasetSpec& spec, const std::filesystem::path& base_dir) {
  const std::string& kind = spec.kind;
  if (kind == "mnist") return load_mnist(spec.normalize);
  if (kind == "fashion-mnist") return load_fashion_mnist(spec.normalize);
  if (kind == "idx") {
    Dataset all = data::load_idx(resolve(spec.images, base_dir, "dataset.images"),
                                 resolve(spec.labels, base_dir, "dataset.labels"), spec.normalize);
    return split_dataset(all, spec.validation_fraction, spec.seed);
  }
  if (kind == "csv") {
    const data::SourceFile file = resolve(spec.path, base_dir, "dataset.path");
    DatasetSplit split;
    if (spec.validation_path.empty()) {
      split = split_dataset(data::load_csv(file, spec.label_column), spec.validation_fraction,
                            spec.seed);
    } else {
      const data::SourceFile vfile = resolve(spec.validation_path, base_dir, "dataset.validation_path");
      split.train = data::load_csv(file, spec.label_column);
      split.validation = data::load_csv(vfile, spec.label_column);
      data::match_validation_file(split, vfile.display);
    }
    if (spec.normalize) standardize(split);
    return split;
  }
  if (kind == "images") {
    const data::SourceFile folder = resolve(spec.path, base_dir, "dataset.path");
    if (spec.validation_path.empty()) return data::load_image_folders(spec, folder, nullptr);
    const data::SourceFile vfolder = resolve(spec.validation_path, base_dir, "dataset.validation_path");
    return data::load_image_folders(spec, folder, &vfolder);
  }
  if (kind == "text" || kind == "fortunes") {
    const data::SourceFile file = kind == "fortunes"
                                      ? data::source_file(data::fortunes_file())
                                      : resolve(spec.path, base_dir, "dataset.path");
    const std::string name = kind == "fortunes" ? "fortunes" : file.path.filename().string();
    if (spec.validation_path.empty())
      return data::load_text(file, nullptr, spec.context, spec.validation_fraction, name);
    const data::SourceFile vfile = resolve(spec.validation_path, base_dir, "dataset.validation_path");
    return data::load_text(file, &vfile, spec.context, 0.0, name);
  }
  if (kind == "spirals" || kind == "moons" || kind == "blobs")
    return split_dataset(make_synthetic(spec), spec.validation_fraction, spec.seed);
  throw InputError("dataset.kind: unknown kind '" + kind +
                   "' (expected mnist, fashion-mnist, idx, csv, images, text, fortunes, spirals, "
                   "moons or blobs)");
}

bool shape_fits(const Dataset& data, const std::vector<std::int64_t>& model_input_shape) {
  std::int64_t n = 1;
  for (auto d : model_input_shape) n *= d;
  return n == data.sample_numel();
}

void check_input_shape(const Dataset& data, const std::vector<std::int64_t>& model_input_shape,
                       const std::string& input_id) {
  if (shape_fits(data, model_input_shape)) return;
  std::int64_t n = 1;
  for (auto d : model_input_shape) n *= d;
  throw InputError(
      "dataset '" + data.name + "' gives samples of " + data::shape_text(data.sample_shape) + " (" +
      std::to_string(data.sample_numel()) + " values) but the model's input '" + input_id +
      "' expects " + data::shape_text(model_input_shape) + " (" + std::to_string(n) + " values)");
}

}  // namespace mantissa
