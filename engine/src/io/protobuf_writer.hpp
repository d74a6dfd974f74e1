#pragma once
// The protocol-buffer wire format, write side only, for the few ONNX messages
// the exporter emits. Fields are written in the order they are added; repeated
// scalars are written unpacked, which every parser accepts for proto2 fields.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace mantissa::io {

class ProtoWriter {
 public:
  // Wire type 0 (int32, int64, enum, bool). Negative values take ten bytes, as
  // the format prescribes for int64.
  void varint_field(std::uint32_t field, std::int64_t value) {
    tag(field, 0);
    varint(std::uint64_t(value));
  }
  // Wire type 5.
  void float_field(std::uint32_t field, float value) {
    tag(field, 5);
    char b[4];
    std::memcpy(b, &value, 4);  // little-endian on every platform we build for
    out_.append(b, 4);
  }
  // Wire type 2: strings, bytes and embedded messages.
  void bytes_field(std::uint32_t field, std::string_view bytes) {
    tag(field, 2);
    varint(bytes.size());
    out_.append(bytes);
  }
  void bytes_field(std::uint32_t field, std::span<const std::uint8_t> bytes) {
    bytes_field(field, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  void message_field(std::uint32_t field, const ProtoWriter& message) {
    bytes_field(field, message.out_);
  }
  // Appends the fields of another writer (a message is a sequence of fields).
  void append(const ProtoWriter& fields) { out_ += fields.out_; }

  const std::string& bytes() const { return out_; }

 private:
  void tag(std::uint32_t field, std::uint32_t wire_type) { varint((field << 3) | wire_type); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(char((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(char(v));
  }

  std::string out_;
};

}  // namespace mantissa::io
