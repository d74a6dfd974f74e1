// Checking a dataset against a model from the headers of its files: the studio
// shows a misfit on the layer it concerns while the model is being drawn,
// instead of when Train loads every sample and fails.
#include <algorithm>
#include <array>
#include <fstream>
#include <cstdio>

#include "data/io_util.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "model/kinds/layer_rules.hpp"

namespace mantissa {
namespace {

// Labels of an IDX file past this count are not read to count classes: the
// peek stays cheap whatever the file.
constexpr std::int64_t kMaxPeekLabels = std::int64_t(1) << 24;

std::filesystem::path resolved(const std::filesystem::path& p,
                               const std::filesystem::path& base_dir, const char* field) {
  if (p.empty()) throw InputError(std::string(field) + ": no file given");
  return p.is_relative() && !base_dir.empty() ? base_dir / p : p;
}

std::ifstream open_file(const std::filesystem::path& path, const std::string& display) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(display + ": file not found");
  if (std::filesystem::is_directory(path, ec))
    throw InputError(display + ": is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(display + ": cannot open");
  return in;
}

struct IdxHeader {
  std::uint8_t type = 0;
  std::vector<std::int64_t> dims;  // dims[0] = items
};

// The header only; load_idx() checks the rest when it loads.
IdxHeader read_idx_header(std::ifstream& in, const std::string& display) {
  std::array<unsigned char, 4> magic{};
  if (!in.read(reinterpret_cast<char*>(magic.data()), 4))
    throw InputError(display + ": not an IDX file (shorter than its header)");
  if (magic[0] == 0x1F && magic[1] == 0x8B)
    throw InputError(display + ": is gzip-compressed: decompress it first (gunzip)");
  if (magic[0] != 0 || magic[1] != 0 || (magic[2] != 0x08 && magic[2] != 0x0D) || magic[3] == 0)
    throw InputError(display + ": not an IDX file of uint8 or float32 values");
  IdxHeader h;
  h.type = magic[2];
  for (unsigned d = 0; d < magic[3]; ++d) {
    std::array<unsigned char, 4> b{};
    if (!in.read(reinterpret_cast<char*>(b.data()), 4))
      throw InputError(display + ": truncated IDX header");
    h.dims.push_back(std::int64_t(b[0]) << 24 | std::int64_t(b[1]) << 16 | std::int64_t(b[2]) << 8 |
                     std::int64_t(b[3]));
  }
  return h;
}

DatasetShape peek_idx(const std::filesystem::path& images, const std::string& images_display,
                      const std::filesystem::path& labels, const std::string& labels_display) {
  DatasetShape s;
  s.name = images.filename().string();
  std::ifstream in = open_file(images, images_display);
  const IdxHeader ih = read_idx_header(in, images_display);
  // As load_idx() lays samples out.
  if (ih.dims.size() == 1)
    s.sample_shape = {1};
  else if (ih.dims.size() == 3)
    s.sample_shape = {1, ih.dims[1], ih.dims[2]};
  else
    s.sample_shape.assign(ih.dims.begin() + 1, ih.dims.end());

  std::ifstream lin = open_file(labels, labels_display);
  const IdxHeader lh = read_idx_header(lin, labels_display);
  if (lh.type == 0x0D) {
    s.num_classes = 0;
    s.target_dim = 1;
    for (std::size_t d = 1; d < lh.dims.size(); ++d) s.target_dim *= lh.dims[d];
  } else if (lh.dims.size() == 1 && lh.dims[0] <= kMaxPeekLabels) {
    std::vector<char> bytes(std::size_t(lh.dims[0]));
    if (lin.read(bytes.data(), std::streamsize(bytes.size()))) {
      int max_label = 0;
      for (char c : bytes) max_label = std::max(max_label, int(static_cast<unsigned char>(c)));
      s.num_classes = max_label + 1;
    }
  }
  return s;
}

// The cells of the file's first non-blank record (RFC 4180 quoting).
std::vector<std::string> first_record(std::ifstream& in) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false, any = false;
  char c;
  if (in.peek() == 0xEF) {  // UTF-8 byte order mark
    char bom[3];
    in.read(bom, 3);
  }
  while (in.get(c)) {
    if (quoted) {
      if (c == '"' && in.peek() == '"') {
        in.get(c);
        cell += '"';
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = any = true;
    } else if (c == ',') {
      cells.push_back(cell);
      cell.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      const bool blank = !any && cell.find_first_not_of(" \t") == std::string::npos;
      if (!blank) break;
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(cell);
  return cells;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

DatasetShape peek_csv(const std::filesystem::path& path, const std::string& display,
                      const std::string& label_column) {
  std::ifstream in = open_file(path, display);
  const std::vector<std::string> cells = first_record(in);
  if (cells.size() == 1 && trimmed(cells[0]).empty())
    throw InputError(display + ": empty file: no rows");
  if (cells.size() < 2)
    throw InputError(display + ": has 1 column; a dataset needs at least 2 (features and a label)");
  const std::string wanted = trimmed(label_column);
  if (!wanted.empty() &&
      std::all_of(wanted.begin(), wanted.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (wanted.size() > 9 || std::stoul(wanted) >= cells.size())
      throw InputError(display + ": dataset.label_column " + wanted +
                       " is out of range: the file has " + std::to_string(cells.size()) +
                       " columns");
  } else if (!wanted.empty() && std::none_of(cells.begin(), cells.end(), [&](const std::string& c) {
               return trimmed(c) == wanted;
             })) {
    throw InputError(display + ": no column named '" + wanted + "'");
  }
  DatasetShape s;
  s.name = path.filename().string();
  s.sample_shape = {std::int64_t(cells.size()) - 1};  // every column but the label
  return s;
}

std::int64_t numel(const std::vector<std::int64_t>& dims) {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

// "2" for a vector, "1×28×28 = 784" otherwise.
std::string size_text(const std::vector<std::int64_t>& dims) {
  if (dims.size() == 1) return std::to_string(dims[0]);
  return data::shape_text(dims) + " = " + std::to_string(numel(dims));
}

std::string plural(std::int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

DatasetShape dataset_shape(const Dataset& data) {
  DatasetShape s;
  s.name = data.name;
  s.sample_shape = data.sample_shape;
  s.target_dim = data.target_dim;
  s.num_classes = data.num_classes;
  return s;
}

DatasetShape peek_dataset(const DatasetSpec& spec, const std::filesystem::path& base_dir) {
  const std::string& kind = spec.kind;
  if (kind == "spirals" || kind == "moons" || kind == "blobs") {
    DatasetShape s;
    s.name = kind;
    s.sample_shape = {2};
    s.num_classes = spec.classes;
    return s;
  }
  if (kind == "mnist") {
    const auto dir = data_dir() / "mnist";
    const auto images = dir / "mnist-images.idx3-ubyte";
    const auto labels = dir / "mnist-labels.idx1-ubyte";
    DatasetShape s = peek_idx(images, images.string(), labels, labels.string());
    s.name = "mnist";
    return s;
  }
  if (kind == "fashion-mnist") {
    const data::FashionMnistFiles files = data::fashion_mnist_files();
    DatasetShape s = peek_idx(files.train_images, files.train_images.string(), files.train_labels,
                              files.train_labels.string());
    s.name = "fashion-mnist";
    return s;
  }
  if (kind == "idx")
    return peek_idx(resolved(spec.images, base_dir, "dataset.images"), spec.images.string(),
                    resolved(spec.labels, base_dir, "dataset.labels"), spec.labels.string());
  if (kind == "csv")
    return peek_csv(resolved(spec.path, base_dir, "dataset.path"), spec.path.string(),
                    spec.label_column);
  if (kind == "images") {
    const auto folder = resolved(spec.path, base_dir, "dataset.path");
    return data::peek_image_folder(spec, {folder, spec.path.string()});
  }
  if (kind == "text" || kind == "fortunes") {
    DatasetShape s;
    const std::filesystem::path file =
        kind == "fortunes" ? data::fortunes_file() : resolved(spec.path, base_dir, "dataset.path");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      throw InputError(spec.path.string() + ": cannot read the text file (" +
                       (ec ? ec.message() : std::string("no such file")) + ")");
    s.name = kind == "fortunes" ? "fortunes" : file.filename().string();
    s.sample_shape = {spec.context};
    s.target_dim = spec.context;
    s.num_classes = data::kTextVocabulary;
    s.vocabulary = data::kTextVocabulary;
    return s;
  }
  throw InputError("dataset.kind: unknown kind '" + kind +
                   "' (expected mnist, fashion-mnist, idx, csv, images, text, fortunes, spirals, "
                   "moons or blobs)");
}

std::vector<ModelProblem> dataset_fit_problems(const DatasetShape& data, const ModelSpec& model,
                                               const ModelDiagnosis& diagnosis) {
  std::vector<ModelProblem> problems;
  const std::string dataset = "the dataset '" + data.name + "'";

  // Samples against the Input layer.
  for (const LayerInfo& info : diagnosis.layers) {
    if (info.kind != LayerKind::Input) continue;
    const std::vector<std::int64_t>& want = info.output_shape.dims();
    if (numel(want) == numel(data.sample_shape)) continue;
    const std::string has =
        data.sample_shape.size() == 1
            ? " has " + plural(data.sample_shape[0], "feature", "features") + " per sample"
            : " has samples of " + size_text(data.sample_shape) + " values";
    problems.push_back({info.id, dataset + has + "; this Input expects " + size_text(want), false});
  }

  // Targets against the layer feeding the loss.
  for (const LayerSpec& loss : model.layers) {
    if (!is_loss(loss.kind) || loss.inputs.empty()) continue;
    const LayerInfo* head = diagnosis.find(loss.inputs[0]);
    if (!head) continue;
    const bool classify = loss.kind == LayerKind::SoftmaxCrossEntropy;
    // [T, V] scores: T labelled positions of V classes.
    const bool sequence = classify && head->output_shape.rank() == 2;
    const std::int64_t outputs =
        sequence ? head->output_shape[1] : head->output_shape.numel();
    const std::int64_t positions = sequence ? head->output_shape[0] : 1;
    if (classify && data.num_classes > 0 && data.target_dim != positions) {
      problems.push_back({head->id,
                          dataset + " has " + plural(data.target_dim, "label", "labels") +
                              " per sample; this layer scores " +
                              plural(positions, "position", "positions") + " per sample",
                          false});
      continue;
    }
    if (classify && data.num_classes == 0)
      problems.push_back({loss.id,
                          dataset + " has regression targets; " +
                              std::string(layer_kind_name(loss.kind)) + " needs class labels",
                          false});
    else if (data.num_classes > outputs)
      problems.push_back({head->id,
                          dataset + " has " + plural(data.num_classes, "class", "classes") +
                              "; this layer gives " + plural(outputs, "output", "outputs") +
                              (sequence ? " per position" : " per sample") +
                              " (one per class is needed)",
                          false});
    else if (!classify && data.num_classes == 0 && data.target_dim != outputs)
      problems.push_back({head->id,
                          dataset + " has " + plural(data.target_dim, "target", "targets") +
                              " per sample; this layer gives " +
                              plural(outputs, "output", "outputs"),
                          false});
  }
  // Token ids against the vocabulary of the Embedding they feed.
  if (data.vocabulary > 0)
    for (const LayerSpec& l : model.layers)
      if (detail::rules(l.kind).token_input && l.vocab < data.vocabulary)
        problems.push_back({l.id,
                            dataset + " has token ids up to " +
                                std::to_string(data.vocabulary - 1) + "; this Embedding's vocab " +
                                std::to_string(l.vocab) + " must be at least " +
                                std::to_string(data.vocabulary),
                            false});
  return problems;
}

DatasetShape dataset_shape(const DatasetSplit& split) {
  DatasetShape shape = dataset_shape(split.train);
  // Regression targets (0 classes) stay regression.
  if (shape.num_classes > 0)
    shape.num_classes = std::max(shape.num_classes, split.validation.num_classes);
  return shape;
}

void check_dataset_fits(const DatasetSplit& split, const ModelSpec& model) {
  const DatasetShape shape = dataset_shape(split);
  for (const ModelProblem& p : dataset_fit_problems(shape, model, diagnose_model(model)))
    if (!p.warning)
      throw InputError((p.layer_id.empty() ? std::string() : "layer '" + p.layer_id + "': ") +
                       p.message);
}

void check_token_ids(const Dataset& data, const ModelSpec& model) {
  for (const LayerSpec& l : model.layers) {
    if (!detail::rules(l.kind).token_input) continue;
    const std::int64_t f = data.sample_numel();
    for (std::size_t i = 0; i < data.features.size(); ++i) {
      const float v = data.features[i];
      if (v >= 0.0f && v < float(l.vocab) && v == float(std::int64_t(v))) continue;
      char value[32];
      std::snprintf(value, sizeof value, "%g", double(v));
      throw InputError("dataset '" + data.name + "': sample " + std::to_string(std::int64_t(i) / f) +
                       " holds " + value + " at position " + std::to_string(std::int64_t(i) % f) +
                       ", which is no token id of layer '" + l.id + "' (vocab " +
                       std::to_string(l.vocab) + ": integers 0 to " +
                       std::to_string(l.vocab - 1) + ")");
    }
  }
}

}  // namespace mantissa
