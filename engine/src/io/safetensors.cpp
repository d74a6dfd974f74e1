// The safetensors format: an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON ({"__metadata__": {str: str}, name: {"dtype", "shape",
// "data_offsets": [begin, end]}}), then the tensor data. Offsets are relative
// to the first byte after the header. Writing puts the keys in sorted order
// (metadata first), pads the header with spaces to a multiple of 8 so the data
// starts aligned, and lays the data out in the same order without gaps.
// Reading accepts any order but, like the reference implementation, insists
// that the tensors cover the data region exactly: no gap, no overlap, no
// trailing bytes.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "data/io_util.hpp"
#include "io/atomic_file.hpp"
#include "mantissa/error.hpp"
#include "mantissa/weights_io.hpp"
#include "model/json_reader.hpp"

namespace mantissa {

namespace {

using OrderedJson = nlohmann::ordered_json;

// The reference implementation refuses larger headers; so do we, before
// parsing a length that is really garbage.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

std::string_view safetensors_dtype(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
  }
  return "F32";
}

std::optional<DType> parse_safetensors_dtype(std::string_view s) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  return std::nullopt;
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
  return Shape(dims).str();
}

// Element count, or nullopt when it does not fit in 62 bits.
std::optional<std::uint64_t> checked_numel(const std::vector<std::int64_t>& dims) {
  std::uint64_t n = 1;
  for (auto d : dims) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > (std::uint64_t(1) << 62) / std::uint64_t(d)) return std::nullopt;
    n *= std::uint64_t(d);
  }
  return n;
}

class HeaderReader {
 public:
  HeaderReader(const std::string& file, std::uint64_t data_bytes)
      : file_(file), data_bytes_(data_bytes) {}

  [[noreturn]] void fail(const std::string& what) const { throw InputError(file_ + ": " + what); }
  [[noreturn]] void fail(const std::string& tensor, const std::string& what) const {
    fail("tensor '" + tensor + "': " + what);
  }

  std::map<std::string, std::string> metadata(const detail::Json& j) const {
    if (!j.is_object())
      fail("__metadata__ must be an object of strings, got " + detail::describe_json_value(j));
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : j.items()) {
      if (!value.is_string())
        fail("__metadata__ value '" + key +
             "' must be a string (the format allows no other), got " +
             detail::describe_json_value(value));
      out[key] = value.get<std::string>();
    }
    return out;
  }

  struct Entry {
    HostTensor tensor;  // without bytes yet
    std::uint64_t begin = 0, end = 0;
  };

  Entry entry(const std::string& name, const detail::Json& j) const {
    if (!j.is_object())
      fail(name, "must be an object with dtype, shape and data_offsets, got " +
                     detail::describe_json_value(j));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!j.contains(key)) fail(name, std::string("has no \"") + key + "\"");
    Entry e;
    e.tensor.name = name;

    const auto& dtype = j.at("dtype");
    if (!dtype.is_string())
      fail(name, "dtype must be a string, got " + detail::describe_json_value(dtype));
    const auto parsed = parse_safetensors_dtype(dtype.get<std::string>());
    if (!parsed)
      fail(name, "dtype '" + dtype.get<std::string>() + "' is not supported (F32, F16 or BF16)");
    e.tensor.dtype = *parsed;

    const auto& shape = j.at("shape");
    if (!shape.is_array())
      fail(name, "shape must be an array, got " + detail::describe_json_value(shape));
    for (const auto& d : shape) {
      if (!d.is_number_unsigned())
        fail(name, "shape must hold non-negative integers, got " + detail::describe_json_value(d));
      if (d.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        fail(name, "shape dimension " + d.dump() + " is too large");
      e.tensor.shape.push_back(d.get<std::int64_t>());
    }
    const auto numel = checked_numel(e.tensor.shape);
    if (!numel) fail(name, "shape " + shape.dump() + " is too large");

    const auto& offsets = j.at("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(name, "data_offsets must be [begin, end] with non-negative integers, got " +
                     detail::describe_json_value(offsets));
    e.begin = offsets[0].get<std::uint64_t>();
    e.end = offsets[1].get<std::uint64_t>();
    const std::string range =
        "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.end < e.begin) fail(name, range + " end before they begin");
    if (e.end > data_bytes_)
      fail(name, range + " lie outside the data region (" + std::to_string(data_bytes_) +
                     " bytes; the file may be truncated)");
    const std::uint64_t need = *numel * dtype_size(e.tensor.dtype);
    if (e.end - e.begin != need)
      fail(name, range + " hold " + std::to_string(e.end - e.begin) + " bytes, but " +
                     std::string(safetensors_dtype(e.tensor.dtype)) + " " +
                     shape_text(e.tensor.shape) + " needs " + std::to_string(need));
    return e;
  }

  // The tensors must tile the data region: sorted by offset, each starts where
  // the previous one ended and the last ends at the end of the file.
  void check_layout(std::vector<const Entry*> entries) const {
    std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    std::uint64_t pos = 0;
    const Entry* prev = nullptr;
    for (const Entry* e : entries) {
      if (e->begin < pos)
        fail("tensors '" + prev->tensor.name + "' and '" + e->tensor.name + "' overlap (bytes " +
             std::to_string(prev->begin) + "–" + std::to_string(prev->end) + " and " +
             std::to_string(e->begin) + "–" + std::to_string(e->end) + ")");
      if (e->begin > pos)
        fail(std::to_string(e->begin - pos) + " unused bytes before tensor '" + e->tensor.name +
             "' (data must be contiguous)");
      pos = e->end;
      prev = e;
    }
    if (pos != data_bytes_)
      fail(std::to_string(data_bytes_ - pos) +
           " bytes after the last tensor (data must end with it)");
  }

 private:
  std::string file_;
  std::uint64_t data_bytes_;
};

std::uint64_t read_u64_le(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::uint8_t(p[i]);
  return v;
}

std::array<std::uint8_t, 8> u64_le(std::uint64_t v) {
  std::array<std::uint8_t, 8> out{};
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = std::uint8_t(v >> (8 * i));
  return out;
}

}  // namespace

const HostTensor* WeightsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const HostTensor& t, const std::string& n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

void write_safetensors(const std::filesystem::path& file, const std::vector<HostTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const HostTensor*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const HostTensor* a, const HostTensor* b) { return a->name < b->name; });

  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson meta = OrderedJson::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header[kMetadataKey] = std::move(meta);
  }
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const HostTensor& t = *sorted[i];
    MANTISSA_ASSERT(!t.name.empty() && t.name != kMetadataKey, "bad tensor name '" + t.name + "'");
    MANTISSA_ASSERT(i == 0 || sorted[i - 1]->name != t.name, "duplicate tensor '" + t.name + "'");
    const auto numel = checked_numel(t.shape);
    MANTISSA_ASSERT(numel && *numel * dtype_size(t.dtype) == t.bytes.size(),
                    "tensor '" + t.name + "' holds " + std::to_string(t.bytes.size()) +
                        " bytes for shape " + shape_text(t.shape));
    header[t.name] = {{"dtype", safetensors_dtype(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // a name or value that is not UTF-8
    throw InputError(file.string() + ": cannot write the header: " + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const auto length = u64_le(text.size());

  std::vector<std::span<const std::uint8_t>> chunks{length, io::as_bytes(text)};
  for (const HostTensor* t : sorted) chunks.emplace_back(t->bytes);
  io::write_file_atomically(file, chunks);
}

WeightsFile read_safetensors(const std::filesystem::path& file) {
  const std::string name = file.string();
  const std::string bytes = data::read_file(data::source_file(file));
  if (bytes.size() < 8)
    throw InputError(name + ": truncated: " + std::to_string(bytes.size()) +
                     " bytes, but a safetensors file starts with an 8-byte header length");
  const std::uint64_t n = read_u64_le(bytes.data());
  if (n > bytes.size() - 8)
    throw InputError(name + ": header length " + std::to_string(n) + " exceeds the " +
                     std::to_string(bytes.size() - 8) +
                     " bytes after it (truncated, or not a safetensors file)");
  if (n > kMaxHeaderBytes)
    throw InputError(name + ": header length " + std::to_string(n) + " is over the 100 MB limit");
  const std::string text = bytes.substr(8, n);
  if (text.empty() || text.front() != '{')
    throw InputError(name + ": header does not start with '{' (not a safetensors file)");
  const detail::Json header = detail::parse_json_text(text, name + " (header)");
  if (!header.is_object())
    throw InputError(name + ": header must be a JSON object, got " +
                     detail::describe_json_value(header));

  const std::uint64_t data_start = 8 + n;
  HeaderReader reader(name, bytes.size() - data_start);
  WeightsFile out;
  std::vector<HeaderReader::Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey)
      out.metadata = reader.metadata(value);
    else
      entries.push_back(reader.entry(key, value));
  }
  std::vector<const HeaderReader::Entry*> pointers;
  for (const auto& e : entries) pointers.push_back(&e);
  reader.check_layout(pointers);

  for (auto& e : entries) {
    const char* p = bytes.data() + data_start + e.begin;
    e.tensor.bytes.assign(p, p + (e.end - e.begin));
    out.tensors.push_back(std::move(e.tensor));
  }
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const HostTensor& a, const HostTensor& b) { return a.name < b.name; });
  return out;
}

}  // namespace mantissa
