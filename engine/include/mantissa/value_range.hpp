#pragma once
// The allowed interval of a numeric setting: what the project reader enforces
// and what the studio's editors and `mantissa model kinds` show.
#include <limits>
#include <string>

namespace mantissa {

struct ValueRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;

  bool contains(double v) const;
  std::string describe() const;  // "> 0", "in (0, 1)", ">= 0"

  static ValueRange positive() {
    return {0.0, std::numeric_limits<double>::infinity(), true, false};
  }
  static ValueRange non_negative() {
    return {0.0, std::numeric_limits<double>::infinity(), false, false};
  }
  static ValueRange above(double lo) {
    return {lo, std::numeric_limits<double>::infinity(), true, false};
  }
  static ValueRange closed(double lo, double hi) { return {lo, hi, false, false}; }
  static ValueRange unit_open() { return {0.0, 1.0, true, true}; }        // (0, 1)
  static ValueRange unit_half_open() { return {0.0, 1.0, false, true}; }  // [0, 1)
  static ValueRange unit_closed() { return {0.0, 1.0, false, false}; }    // [0, 1]
  static ValueRange any() { return {}; }
  // Values stored as float: finite in fp32, and for positive ones at least the
  // smallest normal fp32 value, so that the conversion neither overflows nor
  // turns them into 0.
  static ValueRange fp32() {
    return {-double(std::numeric_limits<float>::max()), double(std::numeric_limits<float>::max()),
            false, false};
  }
  static ValueRange fp32_positive() {
    return {double(std::numeric_limits<float>::min()), double(std::numeric_limits<float>::max()),
            false, false};
  }
};

}  // namespace mantissa
