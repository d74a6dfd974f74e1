// Names a person gives (a project's name, a run's name): shown in one-line
// tables and the studio's lists, so they hold no control characters (a line
// break, a tab, a terminal escape) and stay a line long.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mantissa {

inline constexpr std::size_t kMaxNameBytes = 200;

// Empty when `name` may be shown as it is; else why not, to follow "the
// name ..." ("holds a control character (a line break at byte 5)").
std::string name_problem(std::string_view name);

// `name` cut to kMaxNameBytes at a character's start (UTF-8), for names the
// program builds from a given one ("<project> mixed_bfloat16", a fix's title).
std::string fit_name(std::string_view name);

}  // namespace mantissa
