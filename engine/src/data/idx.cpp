// IDX files: the container MNIST ships in. Layout: two zero bytes, an element
// type code, the number of dimensions, each dimension as a big-endian uint32,
// then the elements, big-endian, row-major.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>

#include "data/io_util.hpp"
#include "mantissa/error.hpp"

namespace mantissa::data {
namespace {

constexpr std::uint8_t kUint8 = 0x08;
constexpr std::uint8_t kFloat32 = 0x0D;

struct IdxFile {
  std::string bytes;
  std::uint8_t type = 0;
  std::vector<std::int64_t> dims;  // dims[0] = items
  std::size_t data_offset = 0;
  std::int64_t item_numel = 1;  // prod(dims[1:])

  std::int64_t items() const { return dims[0]; }
  std::uint8_t u8(std::int64_t i) const {
    return std::uint8_t(bytes[data_offset + std::size_t(i)]);
  }
  float f32(std::int64_t i) const {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + data_offset + 4 * i;
    const std::uint32_t bits = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 |
                               std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
    return std::bit_cast<float>(bits);
  }
};

std::string type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "uint8";
    case 0x09:
      return "int8";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

std::string hex_byte(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02X", v & 0xFFu);
  return buf;
}

IdxFile read_idx(const SourceFile& file) {
  IdxFile idx;
  idx.bytes = read_file(file);
  const auto& b = idx.bytes;
  const auto byte = [&](std::size_t i) { return unsigned(static_cast<unsigned char>(b[i])); };
  const std::string& name = file.display;

  if (b.size() >= 2 && byte(0) == 0x1F && byte(1) == 0x8B)
    throw InputError(name + ": is gzip-compressed: decompress it first (gunzip)");
  if (b.size() < 4)
    throw InputError(name + ": not an IDX file (only " + std::to_string(b.size()) + " bytes)");
  if (byte(0) != 0 || byte(1) != 0)
    throw InputError(name + ": not an IDX file (magic 0x" + hex_byte(byte(0)) + hex_byte(byte(1)) +
                     hex_byte(byte(2)) + hex_byte(byte(3)) + ")");
  idx.type = std::uint8_t(byte(2));
  if (idx.type != kUint8 && idx.type != kFloat32)
    throw InputError(name + ": IDX element type 0x" + hex_byte(idx.type) + " (" +
                     type_name(idx.type) + ") is not supported; use 0x08 uint8 or 0x0D float32");
  const unsigned rank = byte(3);
  if (rank == 0) throw InputError(name + ": IDX header has no dimensions");

  idx.data_offset = 4 + 4 * std::size_t(rank);
  if (b.size() < idx.data_offset)
    throw InputError(name + ": truncated: the header of " + std::to_string(rank) +
                     " dimensions needs " + std::to_string(idx.data_offset) + " bytes, file has " +
                     std::to_string(b.size()) + " bytes");
  // Cap sizes well below overflow; no dataset this engine holds in memory is larger.
  constexpr std::int64_t kMaxElements = std::int64_t(1) << 40;
  std::int64_t total = 1;
  for (unsigned d = 0; d < rank; ++d) {
    const std::size_t o = 4 + 4 * std::size_t(d);
    const std::int64_t dim = std::int64_t(byte(o)) << 24 | std::int64_t(byte(o + 1)) << 16 |
                             std::int64_t(byte(o + 2)) << 8 | std::int64_t(byte(o + 3));
    if (dim == 0)
      throw InputError(name + ": IDX dimension " + std::to_string(d) +
                       " is 0: the file holds no data");
    if (total > kMaxElements / dim)
      throw InputError(name + ": IDX header describes more than 2^40 values");
    total *= dim;
    idx.dims.push_back(dim);
    if (d > 0) idx.item_numel *= dim;
  }

  const std::size_t elem = idx.type == kUint8 ? 1 : 4;
  const std::size_t expected = idx.data_offset + std::size_t(total) * elem;
  if (b.size() != expected) {
    const std::vector<std::int64_t> item(idx.dims.begin() + 1, idx.dims.end());
    const std::string items = std::to_string(idx.items()) + " items of " +
                              (item.empty() ? "" : shape_text(item) + " ") + type_name(idx.type) +
                              " (" + std::to_string(expected) + " bytes with the header)";
    if (b.size() < expected)
      throw InputError(name + ": truncated: header says " + items + ", file has " +
                       std::to_string(b.size()) + " bytes");
    throw InputError(name + ": header says " + items + ", but the file has " +
                     std::to_string(b.size() - expected) + " bytes more");
  }
  return idx;
}

std::string not_finite_text(float v) {
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

}  // namespace

Dataset load_idx(const SourceFile& images_file, const SourceFile& labels_file, bool scale_uint8) {
  const IdxFile images = read_idx(images_file);
  const IdxFile labels = read_idx(labels_file);
  if (labels.items() != images.items())
    throw InputError(labels_file.display + ": has " + std::to_string(labels.items()) +
                     " labels but " + images_file.display + " has " +
                     std::to_string(images.items()) + " images");

  Dataset d;
  d.name = images_file.path.filename().string();
  const auto& dims = images.dims;
  if (dims.size() == 1)
    d.sample_shape = {1};
  else if (dims.size() == 3)
    d.sample_shape = {1, dims[1], dims[2]};  // one grey channel
  else
    d.sample_shape.assign(dims.begin() + 1, dims.end());

  const std::int64_t n = images.items();
  const std::int64_t total = n * images.item_numel;
  d.features.resize(std::size_t(total));
  if (images.type == kUint8) {
    const float scale = scale_uint8 ? 1.0f / 255.0f : 1.0f;
    for (std::int64_t i = 0; i < total; ++i)
      d.features[std::size_t(i)] = float(images.u8(i)) * scale;
  } else {
    for (std::int64_t i = 0; i < total; ++i) {
      const float v = images.f32(i);
      if (!std::isfinite(v))
        throw InputError(images_file.display + ": item " + std::to_string(i / images.item_numel) +
                         ", value " + std::to_string(i % images.item_numel) + ": not finite (" +
                         not_finite_text(v) + ")");
      d.features[std::size_t(i)] = v;
    }
  }

  if (labels.type == kUint8) {
    if (labels.dims.size() != 1)
      throw InputError(labels_file.display +
                       ": uint8 labels need one class id per item (rank 1), " +
                       "the file has rank " + std::to_string(labels.dims.size()));
    d.targets.resize(std::size_t(n));
    int max_label = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const int label = labels.u8(i);
      max_label = std::max(max_label, label);
      d.targets[std::size_t(i)] = float(label);
    }
    d.target_dim = 1;
    d.num_classes = max_label + 1;
    for (int c = 0; c < d.num_classes; ++c) d.class_names.push_back(std::to_string(c));
  } else {
    d.target_dim = labels.item_numel;
    d.targets.resize(std::size_t(n * labels.item_numel));
    for (std::size_t i = 0; i < d.targets.size(); ++i) {
      const float v = labels.f32(std::int64_t(i));
      if (!std::isfinite(v))
        throw InputError(labels_file.display + ": item " +
                         std::to_string(std::int64_t(i) / labels.item_numel) +
                         ": target not finite (" + not_finite_text(v) + ")");
      d.targets[i] = v;
    }
  }
  return d;
}

}  // namespace mantissa::data

namespace mantissa {

Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 bool scale_uint8) {
  return data::load_idx(data::source_file(images), data::source_file(labels), scale_uint8);
}

}  // namespace mantissa
