#pragma once
// How Mantissa writes sizes for people, everywhere: the command line, the
// studio, error messages. One function, so "1.5 KiB" reads the same in each.
// And how it reads a whole number a person typed (a flag, a variable).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mantissa {

// Binary units with one decimal: "512 B", "1.5 KiB", "41.2 MiB", "3.0 GiB",
// up to PiB; negative sizes keep their sign.
std::string bytes_text(double bytes);

// A loss scale as its plots label it: a power of two as "2^24" (as an
// integer up to 2^10: "1", "512"), another whole number in full ("3000"),
// anything else "%g". Never "1.67772e+07" for 2^24.
std::string loss_scale_text(double scale);

// A timeout or wait as messages give it: "30 s", "0.2 s".
std::string seconds_text(std::chrono::milliseconds t);

// The whole number `text` is, all of it ("12", "-3"), or nothing ("", "1x",
// "1.5", " 2", out of range).
std::optional<std::int64_t> whole_number(std::string_view text);

}  // namespace mantissa
