// Checks on option values that CLI11's own validators word poorly.
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

}  // namespace mantissa::cli
