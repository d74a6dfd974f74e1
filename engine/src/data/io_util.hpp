#pragma once
// Helpers shared by the dataset readers.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mantissa/data.hpp"

namespace mantissa::data {

// A file to read and how messages name it: the path as the user wrote it,
// which may be relative to a project folder that `path` already includes.
struct SourceFile {
  std::filesystem::path path;
  std::string display;
};

inline SourceFile source_file(const std::filesystem::path& p) {
  return {p, p.string()};
}

// The whole file; a missing or unreadable file throws InputError.
std::string read_file(const SourceFile& file);

// "1×28×28"
std::string shape_text(const std::vector<std::int64_t>& dims);

Dataset load_idx(const SourceFile& images, const SourceFile& labels, bool scale_uint8);

// The built-in Fashion-MNIST files under data_dir(), as
// scripts/fetch-fashion-mnist.sh writes them. A missing one throws InputError
// naming it and the script.
struct FashionMnistFiles {
  std::filesystem::path train_images, train_labels, test_images, test_labels;
};
FashionMnistFiles fashion_mnist_files();
Dataset load_csv(const SourceFile& file, const std::string& label_column);
// A separate validation file (test.csv) made to agree with the training file
// (train.csv): the same feature count and label type, class names numbered
// as the training file numbers them. Throws InputError naming the file.
void match_validation_file(DatasetSplit& split, const std::string& validation_display);

// Text read as bytes: the vocabulary is the 256 byte values.
inline constexpr int kTextVocabulary = 256;
std::vector<std::string> byte_class_names();  // "A", "space", "\\n", "\\xC3"
// Windows of `context` bytes every `context` bytes, each labelled with the
// window one byte on; `what` names the text in messages. Throws InputError
// when the text is shorter than one window plus one byte.
Dataset text_windows(const std::string& bytes, std::int64_t context, const std::string& name,
                     const std::string& what);
// A text file split by position (its last validation_fraction validates), or
// a file and a separate validation file.
DatasetSplit load_text(const SourceFile& file, const SourceFile* validation_file,
                       std::int64_t context, double validation_fraction, const std::string& name);
// Images: decoded to 8-bit grey (channels 1) or RGB (3), rows top to bottom,
// channels interleaved. PNG or JPEG, told apart by their first bytes; `what`
// names the image in messages. Anything else, or a damaged file, throws
// InputError naming it.
struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;  // height × width × channels
};
DecodedImage decode_image(const std::string& bytes, const std::string& what, int channels);
// An image file decoded and resized to height × width (interleaved bytes).
using ImageSample = std::vector<unsigned char>;
ImageSample decode_image_file(const SourceFile& file, int channels, int height, int width);
// A folder of class folders (spec.channels, height, width, normalize), split
// by spec.validation_fraction or validated by a second folder whose classes
// are among the first's. Throws InputError naming the folder, class or file.
DatasetSplit load_image_folders(const DatasetSpec& spec, const SourceFile& folder,
                                const SourceFile* validation_folder);
// Its shape and classes from the folder names alone.
DatasetShape peek_image_folder(const DatasetSpec& spec, const SourceFile& folder);

// The built-in text, as scripts/fetch-fortunes.sh writes it under data_dir();
// a missing file throws InputError naming it and the script.
std::filesystem::path fortunes_file();

}  // namespace mantissa::data
