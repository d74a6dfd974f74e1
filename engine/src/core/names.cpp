#include "mantissa/names.hpp"

namespace mantissa {

std::string name_problem(std::string_view name) {
  if (name.size() > kMaxNameBytes)
    return "is " + std::to_string(name.size()) + " bytes long (at most " +
           std::to_string(kMaxNameBytes) + ")";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    // U+0080..U+009F (C2 80..C2 9F in UTF-8) are controls too; some terminals
    // take U+009B as an escape.
    const bool c1 = c == 0xc2 && i + 1 < name.size() &&
                    static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(name[i + 1]) <= 0x9f;
    if (c >= 0x20 && c != 0x7f && !c1) continue;
    const char* what = c == '\n' || c == '\r'     ? "a line break"
                       : c == '\t'                ? "a tab"
                       : c == 0x1b || (c1 && static_cast<unsigned char>(name[i + 1]) == 0x9b)
                           ? "a terminal escape"
                           : "a control character";
    return std::string("holds ") + what + " at byte " + std::to_string(i + 1);
  }
  return "";
}

std::string fit_name(std::string_view name) {
  if (name.size() <= kMaxNameBytes) return std::string(name);
  std::size_t end = kMaxNameBytes;
  // Back to a character's first byte (not a continuation byte, top bits 10),
  // so none is split.
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xc0) == 0x80) --end;
  return std::string(name.substr(0, end));
}

}  // namespace mantissa
