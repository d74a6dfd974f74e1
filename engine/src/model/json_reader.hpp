#pragma once
// Strict, typed reading of one JSON object of a project file. Each getter
// records the key as known; finish() rejects every key nobody asked for, so a
// typo ("lerning_rate") is an error instead of a silently ignored setting.
// Every error names the file, the JSON pointer of the offending value and the
// layer being read, if any.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mantissa/value_range.hpp"

namespace mantissa::detail {

using Json = nlohmann::json;

// Allowed interval of a real-valued setting (public, since the layer
// descriptors show it).
using Range = ValueRange;

// Parses text, rejecting duplicate keys in any object (the later one would
// otherwise win without a word). Errors carry line and column.
Json parse_json_text(const std::string& text, const std::filesystem::path& file);

std::string describe_json_value(const Json& j);  // "string \"abc\"", "number 2.5", "null"

class ObjectReader {
 public:
  // Throws unless j is an object.
  ObjectReader(const Json& j, std::string pointer, const std::filesystem::path& file,
               std::string layer_id = {});

  const std::string& pointer() const { return pointer_; }
  // Later errors name this layer (its id is read from the same object).
  void set_layer(std::string layer_id) { layer_id_ = std::move(layer_id); }
  std::string pointer_of(std::string_view key) const;

  // nullptr when absent. Marks the key as known either way.
  const Json* find(std::string_view key);
  const Json& require(std::string_view key);  // throws "missing required key" when absent

  std::string string(std::string_view key, std::string def);
  std::string required_string(std::string_view key);
  bool boolean(std::string_view key, bool def);
  std::int64_t integer(std::string_view key, std::int64_t def, std::int64_t min,
                       std::int64_t max = std::numeric_limits<std::int64_t>::max());
  std::int64_t required_integer(std::string_view key, std::int64_t min,
                                std::int64_t max = std::numeric_limits<std::int64_t>::max());
  // Absent or null: nullopt.
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min);
  double number(std::string_view key, double def, const Range& range);
  std::optional<double> optional_number(std::string_view key, const Range& range);
  std::uint64_t unsigned_integer(std::string_view key, std::uint64_t def);

  // Rejects keys no getter asked for; `context` completes "unknown key 'x' <context>".
  void finish(std::string_view context = {}) const;

  [[noreturn]] void fail(std::string_view key, std::string_view what) const;  // at pointer_of(key)
  [[noreturn]] void fail_here(std::string_view what) const;                   // at pointer()

 private:
  std::int64_t to_integer(std::string_view key, const Json& v, std::int64_t min,
                          std::int64_t max) const;
  double to_number(std::string_view key, const Json& v, const Range& range) const;

  const Json& j_;
  std::string pointer_;
  const std::filesystem::path& file_;
  std::string layer_id_;
  std::vector<std::string> known_;
};

// Reads an integer from any JSON value (used for array elements). `pointer`
// is the value's own pointer.
std::int64_t json_to_integer(const Json& v, std::string_view pointer,
                             const std::filesystem::path& file, std::string_view layer_id,
                             std::int64_t min, std::int64_t max);

}  // namespace mantissa::detail
