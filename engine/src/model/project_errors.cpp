// The message helpers every project error goes through.
#include <algorithm>
#include <cctype>
#include <vector>

#include "mantissa/error.hpp"
#include "model/model_internal.hpp"

namespace mantissa {

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Case-insensitive edit distance that counts a swap of neighbours as one edit
// (optimal string alignment): "conv2D" is Conv2d, "nmae" is one slip from name.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(n, m);
}

}  // namespace

namespace detail {

std::string file_label(const std::filesystem::path& file) {
  return file.empty() ? std::string("<project>") : file.string();
}

std::string node_pointer(std::size_t index) {
  return "/model/nodes/" + std::to_string(index);
}

std::string pointer_append(std::string_view pointer, std::string_view key) {
  std::string out(pointer);
  out += '/';
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

void throw_project_error(const std::filesystem::path& file, std::string_view pointer,
                         std::string_view layer_id, std::string_view what) {
  std::string msg = file_label(file) + ": " + std::string(pointer.empty() ? "/" : pointer) + ": ";
  if (!layer_id.empty()) msg += "layer '" + std::string(layer_id) + "': ";
  msg += what;
  throw ProjectError(msg, std::string(pointer), std::string(layer_id), std::string(what));
}

std::string suggest(std::string_view given, std::span<const std::string_view> valid) {
  std::string_view best;
  std::size_t best_distance = std::string_view::npos;
  for (auto name : valid) {
    std::size_t d = edit_distance(given, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  // A third of the name may be wrong before a guess stops being helpful.
  std::size_t tolerance = std::max<std::size_t>(1, best.size() / 3);
  if (!best.empty() && best_distance <= tolerance)
    return "did you mean '" + std::string(best) + "'?";
  std::string list = "valid: ";
  for (std::size_t i = 0; i < valid.size(); ++i) {
    if (i) list += ", ";
    list += valid[i];
  }
  return list;
}

}  // namespace detail
}  // namespace mantissa
