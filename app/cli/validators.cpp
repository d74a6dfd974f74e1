// Checks on option values that CLI11's own validators word poorly.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <string>

#include "cli/commands.hpp"

namespace mantissa::cli {

CLI::Validator whole_number_at_least_zero() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return "";
        return "must be a whole number >= 0, got " + text;
      },
      "INT>=0");
}

namespace {

// A bound as a person writes it: 1e+06, 0.5, 1e-06.
std::string bound_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

CLI::Validator number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size() && v >= lo && v <= hi) return "";
        return "must be a number from " + bound_text(lo) + " to " + bound_text(hi) + ", got " + text;
      },
      "NUMBER");
}

CLI::Validator number_above_zero() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size() && v > 0 && std::isfinite(v))
          return "";
        return "must be a number greater than 0, got " + text;
      },
      "NUMBER>0");
}

CLI::Validator run_id_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::int64_t id = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (ec == std::errc() && end == text.data() + text.size() && id >= 1) return "";
        return "'" + text + "' is not a run id (a whole number from 1; `mantissa runs list` shows them)";
      },
      "RUN");
}

}  // namespace mantissa::cli
