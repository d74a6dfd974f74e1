// CSV datasets: load_csv() on any file. An input holding a NUL byte is split
// there: the part before it (at most 16 bytes) is dataset.label_column, the
// rest is the file; without one the label column is the default (last).
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.hpp"
#include "mantissa/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mantissa;
  static const fuzz::ScratchFile file("csv", ".csv");
  std::string label_column;
  const void* nul = std::memchr(data, 0, size);
  if (nul) {
    const auto cut = std::size_t(static_cast<const std::uint8_t*>(nul) - data);
    if (cut <= 16) {
      label_column.assign(reinterpret_cast<const char*>(data), cut);
      data += cut + 1;
      size -= cut + 1;
    }
  }
  file.write(data, size);
  Dataset d;
  if (!fuzz::accepts([&] { d = load_csv(file.path(), label_column); }, file.path().string()))
    return 0;

  // What a reader accepts must be a consistent table.
  if (d.sample_shape.size() != 1 || d.sample_shape[0] < 1)
    fuzz::die("CSV dataset with sample shape of rank != 1");
  if (d.features.size() != std::size_t(d.size() * d.sample_numel()) ||
      d.targets.size() != std::size_t(d.size() * d.target_dim) || d.size() < 1)
    fuzz::die("CSV dataset with inconsistent sizes");
  if (std::size_t(d.num_classes) != d.class_names.size())
    fuzz::die("CSV dataset: num_classes and class_names disagree");
  for (float t : d.targets)
    if (d.num_classes > 0 && (t < 0 || t >= float(d.num_classes)))
      fuzz::die("CSV dataset: class id outside [0, num_classes)");
  return 0;
}
