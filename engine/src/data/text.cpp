// Text as bytes for next-token prediction: a file cut into windows of
// `context` tokens, each labelled with the window shifted by one byte.
#include <cstdio>

#include "data/io_util.hpp"
#include "mantissa/error.hpp"

namespace mantissa::data {

namespace {

std::string byte_name(int b) {
  if (b >= 33 && b < 127) return std::string(1, char(b));
  if (b == ' ') return "space";
  if (b == '\n') return "\\n";
  if (b == '\t') return "\\t";
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", b);
  return buf;
}

}  // namespace

std::vector<std::string> byte_class_names() {
  std::vector<std::string> names;
  for (int b = 0; b < kTextVocabulary; ++b) names.push_back(byte_name(b));
  return names;
}

Dataset text_windows(const std::string& bytes, std::int64_t context, const std::string& name,
                     const std::string& what) {
  const std::int64_t window = context + 1;  // the inputs and, one byte on, the targets
  const auto n = std::int64_t(bytes.size());
  if (n < window)
    throw InputError(what + ": " + std::to_string(n) + " bytes, shorter than one window of " +
                     std::to_string(window) + " (context " + std::to_string(context) +
                     " + the next byte); use a longer text or a shorter context");
  Dataset d;
  d.name = name;
  d.sample_shape = {context};
  d.target_dim = context;
  d.num_classes = kTextVocabulary;
  d.class_names = byte_class_names();
  // Windows start every `context` bytes, so each byte is predicted once.
  const std::int64_t windows = (n - 1) / context;
  d.features.resize(std::size_t(windows * context));
  d.targets.resize(std::size_t(windows * context));
  for (std::int64_t w = 0; w < windows; ++w)
    for (std::int64_t t = 0; t < context; ++t) {
      const std::size_t at = std::size_t(w * context + t);
      d.features[at] = float(static_cast<unsigned char>(bytes[at]));
      d.targets[at] = float(static_cast<unsigned char>(bytes[at + 1]));
    }
  return d;
}

DatasetSplit load_text(const SourceFile& file, const SourceFile* validation_file,
                       std::int64_t context, double validation_fraction, const std::string& name) {
  const std::string bytes = read_file(file);
  if (bytes.empty()) throw InputError(file.display + ": the text file is empty");
  DatasetSplit split;
  if (validation_file != nullptr) {
    split.train = text_windows(bytes, context, name, file.display);
    split.validation = text_windows(read_file(*validation_file), context, name,
                                    validation_file->display);
    return split;
  }
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
    throw InputError("dataset.validation_fraction: must be in [0, 1), got " +
                     std::to_string(validation_fraction));
  // By position: the text's last part validates, so no window of the
  // validation part overlaps one the model trained on.
  const auto cut = std::size_t(double(bytes.size()) * (1.0 - validation_fraction));
  split.train = text_windows(bytes.substr(0, cut), context, name,
                             file.display + " (its first " + std::to_string(cut) + " bytes)");
  if (validation_fraction > 0.0) {
    split.validation = text_windows(bytes.substr(cut), context, name,
                                    file.display + " (its validation part, the last " +
                                        std::to_string(bytes.size() - cut) + " bytes)");
  } else {  // no validation: an empty split of the same shape
    split.validation = split.train;
    split.validation.features.clear();
    split.validation.targets.clear();
  }
  return split;
}

}  // namespace mantissa::data
