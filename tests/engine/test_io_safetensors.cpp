// safetensors: the exact byte layout written, round trips, and one clear
// message for every kind of broken file.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/test_store_util.hpp"
#include "mantissa/error.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {
namespace {

using store_test::read_bytes;
using store_test::TempDir;
namespace fs = std::filesystem;

HostTensor f32_tensor(std::string name, std::vector<std::int64_t> shape, std::vector<float> v) {
  HostTensor t{std::move(name), DType::F32, std::move(shape),
               std::vector<std::uint8_t>(v.size() * 4)};
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

HostTensor u16_tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                      std::vector<std::uint16_t> v) {
  HostTensor t{std::move(name), dtype, std::move(shape), std::vector<std::uint8_t>(v.size() * 2)};
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

std::uint64_t header_length(const std::string& file) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(file[std::size_t(i)]);
  return n;
}

// A file with the given header text (unpadded) and data bytes.
void write_raw(const fs::path& path, const std::string& header, const std::string& data,
               std::int64_t length_override = -1) {
  std::string out(8, '\0');
  std::uint64_t n = length_override >= 0 ? std::uint64_t(length_override) : header.size();
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((n >> (8 * i)) & 0xFF);
  out += header + data;
  std::ofstream(path, std::ios::binary).write(out.data(), std::streamsize(out.size()));
}

std::string read_error(const fs::path& path) {
  try {
    read_safetensors(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos)
      names.push_back(e.path().filename().string());
  return names;
}

TEST(IoSafetensors, WritesTheSpecifiedByteLayout) {
  TempDir dir;
  const fs::path file = dir / "m.safetensors";
  // Given out of order: the file sorts them.
  std::vector<HostTensor> tensors{f32_tensor("fc2.weight", {1, 3}, {7, 8, 9}),
                                  u16_tensor("fc1.bias", DType::BF16, {2}, {0x3F80, 0xC000}),
                                  u16_tensor("fc1.weight", DType::F16, {2, 1}, {0x3C00, 0x7BFF})};
  write_safetensors(file, tensors, {{"policy", "float32"}, {"run_id", "7"}});

  const std::string bytes = read_bytes(file);
  const std::uint64_t n = header_length(bytes);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 12 + 4 + 4);
  std::string header = bytes.substr(8, n);
  const std::size_t end = header.find_last_not_of(' ');
  EXPECT_EQ(header[end], '}');
  EXPECT_LT(n - (end + 1), 8u) << "padding is at most 7 spaces";

  const auto j = nlohmann::ordered_json::parse(header);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"__metadata__", "fc1.bias", "fc1.weight", "fc2.weight"}));
  EXPECT_EQ(j["__metadata__"], (nlohmann::ordered_json{{"policy", "float32"}, {"run_id", "7"}}));
  EXPECT_EQ(j["fc1.bias"]["dtype"], "BF16");
  EXPECT_EQ(j["fc1.bias"]["shape"], nlohmann::ordered_json({2}));
  EXPECT_EQ(j["fc1.bias"]["data_offsets"], nlohmann::ordered_json({0, 4}));
  EXPECT_EQ(j["fc1.weight"]["dtype"], "F16");
  EXPECT_EQ(j["fc1.weight"]["data_offsets"], nlohmann::ordered_json({4, 8}));
  EXPECT_EQ(j["fc2.weight"]["dtype"], "F32");
  EXPECT_EQ(j["fc2.weight"]["shape"], nlohmann::ordered_json({1, 3}));
  EXPECT_EQ(j["fc2.weight"]["data_offsets"], nlohmann::ordered_json({8, 20}));

  const std::string data = bytes.substr(8 + n);
  EXPECT_EQ(data.substr(0, 4), std::string("\x80\x3F\x00\xC0", 4));  // bf16, little-endian
  EXPECT_EQ(data.substr(4, 4), std::string("\x00\x3C\xFF\x7B", 4));  // f16
  float f[3];
  std::memcpy(f, data.data() + 8, 12);
  EXPECT_EQ(f[0], 7.0f);
  EXPECT_EQ(f[2], 9.0f);
}

TEST(IoSafetensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir dir;
  const fs::path file = dir / "m.safetensors";
  std::vector<HostTensor> tensors{f32_tensor("a", {2, 2}, {1.5f, -0.0f, 3e-39f, 1e30f}),
                                  u16_tensor("b", DType::F16, {3}, {0x0001, 0x7C00, 0x8000}),
                                  u16_tensor("c", DType::BF16, {1, 1, 1}, {0x7FC0}),
                                  f32_tensor("scalar", {}, {2.0f}),
                                  f32_tensor("empty", {0, 4}, {})};
  const std::map<std::string, std::string> meta{{"project", "{\"name\": \"x → y\"}"}};
  write_safetensors(file, tensors, meta);
  const WeightsFile back = read_safetensors(file);
  EXPECT_EQ(back.metadata, meta);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& t : tensors) {
    const HostTensor* r = back.find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_EQ(r->dtype, t.dtype) << t.name;
    EXPECT_EQ(r->shape, t.shape) << t.name;
    EXPECT_EQ(r->bytes, t.bytes) << t.name;
  }
  EXPECT_EQ(back.find("missing"), nullptr);
}

TEST(IoSafetensors, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  TempDir dir;
  const fs::path file = dir / "m.safetensors";
  std::ofstream(file) << "old contents";
  write_safetensors(file, {f32_tensor("w", {1}, {4.0f})});
  EXPECT_EQ(read_safetensors(file).tensors.at(0).bytes.size(), 4u);
  EXPECT_TRUE(leftovers(dir.path()).empty());
}

TEST(IoSafetensors, UnwritablePathGivesOneLineAndLeavesNothing) {
  // Under a regular file: no folder can be created there, even as root.
  const fs::path file = "/etc/passwd/x.safetensors";
  try {
    write_safetensors(file, {f32_tensor("w", {1}, {1.0f})});
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("/etc/passwd/x.safetensors: cannot write", 0), 0u) << msg;
    EXPECT_NE(msg.find("Not a directory"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }

  // The temporary file is created and written, then the rename fails (the
  // target is a folder): the temporary file must be gone.
  TempDir dir;
  fs::create_directory(dir / "taken.safetensors");
  std::ofstream(dir / "taken.safetensors" / "keep") << "x";
  try {
    write_safetensors(dir / "taken.safetensors", {f32_tensor("w", {1}, {1.0f})});
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("taken.safetensors: cannot write"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(leftovers(dir.path()).empty());
  EXPECT_TRUE(fs::exists(dir / "taken.safetensors" / "keep"));
}

struct BadFile {
  const char* name;
  std::string header;
  std::string data;
  std::int64_t length;  // -1: the header's real length
  const char* message;
};

TEST(IoSafetensors, RejectsEveryKindOfBrokenFileWithOneClearMessage) {
  const std::string f32x2 = std::string(8, '\0');
  const std::vector<BadFile> cases{
      {"unknown dtype", R"({"fc1.weight":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})",
       "ab", -1, "tensor 'fc1.weight': dtype 'F8_E4M3' is not supported"},
      {"offsets past the data", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "abcd",
       -1, "tensor 'w': data_offsets [0, 8] lie outside the data region (4 bytes"},
      {"size does not match dtype and shape",
       R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}})", f32x2, -1,
       "tensor 'w': data_offsets [0, 8] hold 8 bytes, but F32 2×2 needs 16"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       f32x2, -1, "tensors 'a' and 'b' overlap"},
      {"gap",
       R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[1],"data_offsets":[4,6]}})",
       "abcdef", -1, "2 unused bytes before tensor 'b'"},
      {"trailing bytes", R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", "abcd", -1,
       "2 bytes after the last tensor"},
      {"end before begin", R"({"a":{"dtype":"F16","shape":[0],"data_offsets":[2,0]}})", "ab", -1,
       "tensor 'a': data_offsets [2, 0] end before they begin"},
      {"malformed JSON", R"({"a":{"dtype":"F16",)", "", -1, "(header): line 1, column"},
      {"duplicate tensor",
       R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})",
       "ab", -1, "duplicate key 'a'"},
      {"not an object", R"({"a":[1,2]})", "", -1, "tensor 'a': must be an object"},
      {"no shape", R"({"a":{"dtype":"F16","data_offsets":[0,2]}})", "ab", -1,
       "tensor 'a': has no \"shape\""},
      {"negative dimension", R"({"a":{"dtype":"F16","shape":[-1],"data_offsets":[0,2]}})", "ab", -1,
       "tensor 'a': shape must hold non-negative integers"},
      {"metadata not strings", R"({"__metadata__":{"step":12}})", "", -1,
       "__metadata__ value 'step' must be a string"},
      {"header is not an object", "[1, 2, 3]", "", -1, "header does not start with '{'"},
      {"header length beyond the file", "{}", "", 4096,
       "header length 4096 exceeds the 2 bytes after it"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    const fs::path file = dir / "bad.safetensors";
    write_raw(file, c.header, c.data, c.length);
    const std::string msg = read_error(file);
    EXPECT_EQ(msg.rfind(file.string(), 0), 0u) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.message), std::string::npos) << c.name << ": " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(IoSafetensors, RejectsTruncatedAndMissingFiles) {
  TempDir dir;
  const fs::path file = dir / "short.safetensors";
  std::ofstream(file, std::ios::binary) << "abc";
  EXPECT_NE(read_error(file).find("short.safetensors: truncated: 3 bytes"), std::string::npos)
      << read_error(file);

  // A valid file cut short inside its data.
  const fs::path whole = dir / "whole.safetensors";
  write_safetensors(whole, {f32_tensor("w", {4}, {1, 2, 3, 4})});
  std::string bytes = read_bytes(whole);
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size() - 5));
  EXPECT_NE(read_error(file).find("tensor 'w': data_offsets [0, 16] lie outside the data region"),
            std::string::npos)
      << read_error(file);
  // ... and inside its header.
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), 20);
  EXPECT_NE(read_error(file).find("exceeds the 12 bytes after it"), std::string::npos)
      << read_error(file);

  EXPECT_NE(read_error(dir / "nope.safetensors").find("nope.safetensors: file not found"),
            std::string::npos);
}

}  // namespace
}  // namespace mantissa
