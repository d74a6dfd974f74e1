#include "model/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "mantissa/error.hpp"
#include "model/model_internal.hpp"

namespace mantissa::detail {

namespace {

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

constexpr std::size_t kMaxJsonDepth = 256;

// Tracks where the SAX-style callback is in the document, so that a duplicate
// key (or nesting past kMaxJsonDepth) can be reported with its JSON pointer.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::filesystem::path& file) : file_(&file) {}

  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        // Deeper than any project or header nests; past it, writing the
        // value back into a message would recurse past the stack.
        if (frames_.size() >= kMaxJsonDepth)
          throw_project_error(*file_, {}, {},
                              "nested more than " + std::to_string(kMaxJsonDepth) +
                                  " arrays or objects deep");
        frames_.push_back({event == Json::parse_event_t::array_start, 0, {}, {}});
        break;
      case Json::parse_event_t::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second)
          throw_project_error(*file_, current_pointer(), {},
                              "duplicate key '" + top.key + "' (each key may appear once)");
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames_.pop_back();
        element_done();
        break;
      case Json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    std::size_t index;
    std::string key;
    std::set<std::string> keys;
  };

  void element_done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  std::string current_pointer() const {
    std::string p;
    for (const auto& f : frames_)
      p = pointer_append(p, f.is_array ? std::to_string(f.index) : f.key);
    return p;
  }

  const std::filesystem::path* file_;
  std::vector<Frame> frames_;
};

}  // namespace

Json parse_json_text(const std::string& text, const std::filesystem::path& file) {
  try {
    return Json::parse(text, DuplicateKeyCheck(file));
  } catch (const Json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    std::size_t pos = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
    std::size_t line =
        1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
    std::size_t line_start = text.rfind('\n', pos == 0 ? 0 : pos - 1);
    std::size_t column = line_start == std::string::npos || pos == 0 ? pos + 1 : pos - line_start;
    if (text.empty()) line = column = 1;
    // Keep nlohmann's description but drop its "[json.exception...] parse error at ...: " prefix.
    std::string what = e.what();
    if (auto cut = what.find("error while parsing"); cut != std::string::npos) {
      auto start = what.rfind(": ", cut);
      what = what.substr(start == std::string::npos ? cut : start + 2);
    } else if (auto colon = what.find("]"); colon != std::string::npos) {
      what = what.substr(colon + 2);
    }
    throw InputError(file_label(file) + ": line " + std::to_string(line) + ", column " +
                     std::to_string(column) + ": not valid JSON: " + what);
  } catch (const Json::out_of_range& e) {
    // A number too large for a double ("1e400") is refused after the lexer is
    // done with it, with no position; the number's first appearance in the
    // text is where it is.
    std::string what = e.what();
    if (auto colon = what.find("] "); colon != std::string::npos) what = what.substr(colon + 2);
    std::string where;
    if (auto q1 = what.find('\''), q2 = what.rfind('\''); q1 != std::string::npos && q2 > q1 + 1) {
      if (auto pos = text.find(what.substr(q1 + 1, q2 - q1 - 1)); pos != std::string::npos) {
        const auto line = 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(pos), '\n');
        const std::size_t line_start = text.rfind('\n', pos == 0 ? 0 : pos - 1);
        const std::size_t column = line_start == std::string::npos ? pos + 1 : pos - line_start;
        where = ": line " + std::to_string(line) + ", column " + std::to_string(column);
      }
    }
    throw InputError(file_label(file) + where + ": not valid JSON: " + what);
  }
}

std::string describe_json_value(const Json& j) {
  if (j.is_null()) return "null";
  std::string text = j.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(j.type_name()) + " " + text;
}

ObjectReader::ObjectReader(const Json& j, std::string pointer, const std::filesystem::path& file,
                           std::string layer_id)
    : j_(j), pointer_(std::move(pointer)), file_(file), layer_id_(std::move(layer_id)) {
  if (!j_.is_object()) fail_here("expected an object, got " + describe_json_value(j_));
}

std::string ObjectReader::pointer_of(std::string_view key) const {
  return pointer_append(pointer_, key);
}

void ObjectReader::fail(std::string_view key, std::string_view what) const {
  throw_project_error(file_, pointer_of(key), layer_id_, what);
}

void ObjectReader::fail_here(std::string_view what) const {
  throw_project_error(file_, pointer_, layer_id_, what);
}

const Json* ObjectReader::find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

const Json& ObjectReader::require(std::string_view key) {
  const Json* v = find(key);
  if (!v) fail(key, "missing required key '" + std::string(key) + "'");
  return *v;
}

std::string ObjectReader::string(std::string_view key, std::string def) {
  const Json* v = find(key);
  if (!v) return def;
  if (!v->is_string()) fail(key, "expected a string, got " + describe_json_value(*v));
  return v->get<std::string>();
}

std::string ObjectReader::required_string(std::string_view key) {
  const Json& v = require(key);
  if (!v.is_string()) fail(key, "expected a string, got " + describe_json_value(v));
  return v.get<std::string>();
}

bool ObjectReader::boolean(std::string_view key, bool def) {
  const Json* v = find(key);
  if (!v) return def;
  if (!v->is_boolean()) fail(key, "expected true or false, got " + describe_json_value(*v));
  return v->get<bool>();
}

std::int64_t json_to_integer(const Json& v, std::string_view pointer,
                             const std::filesystem::path& file, std::string_view layer_id,
                             std::int64_t min, std::int64_t max) {
  auto too_large = [&](const std::string& got) {
    throw_project_error(file, pointer, layer_id,
                        "must be an integer <= " + std::to_string(max) + ", got " + got);
  };
  std::int64_t n = 0;
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) too_large(v.dump());
    n = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    n = v.get<std::int64_t>();
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    // 128.0 is an integer written by a tool that only knows doubles; 2.5 is not.
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9.007199254740992e15)
      throw_project_error(file, pointer, layer_id, "expected an integer, got " + v.dump());
    n = static_cast<std::int64_t>(d);
  } else {
    throw_project_error(file, pointer, layer_id,
                        "expected an integer, got " + describe_json_value(v));
  }
  if (n < min)
    throw_project_error(
        file, pointer, layer_id,
        "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(n));
  if (n > max) too_large(std::to_string(n));
  return n;
}

std::int64_t ObjectReader::to_integer(std::string_view key, const Json& v, std::int64_t min,
                                      std::int64_t max) const {
  return json_to_integer(v, pointer_of(key), file_, layer_id_, min, max);
}

double ObjectReader::to_number(std::string_view key, const Json& v, const Range& range) const {
  if (!v.is_number()) fail(key, "expected a number, got " + describe_json_value(v));
  double d = v.get<double>();
  if (!range.contains(d))
    fail(key, std::string(key) + " must be " + range.describe() + ", got " + v.dump());
  return d;
}

std::int64_t ObjectReader::integer(std::string_view key, std::int64_t def, std::int64_t min,
                                   std::int64_t max) {
  const Json* v = find(key);
  return v ? to_integer(key, *v, min, max) : def;
}

std::int64_t ObjectReader::required_integer(std::string_view key, std::int64_t min,
                                            std::int64_t max) {
  return to_integer(key, require(key), min, max);
}

std::optional<std::int64_t> ObjectReader::optional_integer(std::string_view key, std::int64_t min) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  return to_integer(key, *v, min, std::numeric_limits<std::int64_t>::max());
}

double ObjectReader::number(std::string_view key, double def, const Range& range) {
  const Json* v = find(key);
  return v ? to_number(key, *v, range) : def;
}

std::optional<double> ObjectReader::optional_number(std::string_view key, const Range& range) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  return to_number(key, *v, range);
}

std::uint64_t ObjectReader::unsigned_integer(std::string_view key, std::uint64_t def) {
  const Json* v = find(key);
  if (!v) return def;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  return static_cast<std::uint64_t>(
      to_integer(key, *v, 0, std::numeric_limits<std::int64_t>::max()));
}

void ObjectReader::finish(std::string_view context) const {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (std::find(known_.begin(), known_.end(), it.key()) != known_.end()) continue;
    std::vector<std::string_view> valid(known_.begin(), known_.end());
    std::string what = "unknown key '" + it.key() + "'";
    if (!context.empty()) what += " " + std::string(context);
    what += valid.empty() ? std::string(" (this object takes no keys)")
                          : " (" + suggest(it.key(), valid) + ")";
    fail(it.key(), what);
  }
}

}  // namespace mantissa::detail

namespace mantissa {

bool ValueRange::contains(double v) const {
  if (!std::isfinite(v)) return false;
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

std::string ValueRange::describe() const {
  bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return std::string("in ") + (lo_open ? "(" : "[") + detail::format_number(lo) + ", " +
           detail::format_number(hi) + (hi_open ? ")" : "]");
  if (has_lo) return std::string(lo_open ? "> " : ">= ") + detail::format_number(lo);
  if (has_hi) return std::string(hi_open ? "< " : "<= ") + detail::format_number(hi);
  return "finite";
}

}  // namespace mantissa
