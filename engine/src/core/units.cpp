#include "mantissa/units.hpp"

#include <charconv>

#include <cmath>
#include <cstdio>

namespace mantissa {

std::string bytes_text(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (std::abs(bytes) >= 1024.0 && u < 5) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[u]);
  return buf;
}

std::string seconds_text(std::chrono::milliseconds t) {
  const double s = double(t.count()) / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, s == std::floor(s) ? "%.0f s" : "%.1f s", s);
  return buf;
}

std::string loss_scale_text(double scale) {
  char buf[48];
  int exp = 0;
  if (scale > 0 && std::isfinite(scale) && std::frexp(scale, &exp) == 0.5) {
    const int power = exp - 1;
    if (power >= 0 && power <= 10)
      std::snprintf(buf, sizeof buf, "%d", 1 << power);
    else
      std::snprintf(buf, sizeof buf, "2^%d", power);
  } else if (std::isfinite(scale) && scale == std::floor(scale) && std::abs(scale) < 0x1p53) {
    std::snprintf(buf, sizeof buf, "%.0f", scale);
  } else {
    std::snprintf(buf, sizeof buf, "%g", scale);
  }
  return buf;
}

std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

}  // namespace mantissa
