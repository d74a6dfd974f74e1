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

}  // namespace mantissa::data
