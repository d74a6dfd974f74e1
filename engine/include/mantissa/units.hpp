#pragma once
// How Mantissa writes sizes for people, everywhere: the command line, the
// studio, error messages. One function, so "1.5 KiB" reads the same in each.
#include <string>

namespace mantissa {

// Binary units with one decimal: "512 B", "1.5 KiB", "41.2 MiB", "3.0 GiB",
// up to PiB; negative sizes keep their sign.
std::string bytes_text(double bytes);

}  // namespace mantissa
