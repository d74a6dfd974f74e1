#include "mantissa/names.hpp"

namespace mantissa {

std::string name_problem(std::string_view name) {
  if (name.size() > kMaxNameBytes)
    return "is " + std::to_string(name.size()) + " bytes long (at most " +
           std::to_string(kMaxNameBytes) + ")";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c != 0x7f) continue;
    const char* what = c == '\n' || c == '\r' ? "a line break"
                       : c == '\t'            ? "a tab"
                       : c == 0x1b            ? "a terminal escape"
                                              : "a control character";
    return std::string("holds ") + what + " at byte " + std::to_string(i + 1);
  }
  return "";
}

}  // namespace mantissa
