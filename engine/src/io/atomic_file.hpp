#pragma once
// Writing a file so that it appears whole or not at all.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace mantissa::io {

// Writes the chunks, in order, to a temporary file in the target's folder,
// flushes it to disk and renames it over `file`. Any failure removes the
// temporary file and throws InputError naming `file` and the reason.
void write_file_atomically(const std::filesystem::path& file,
                           std::span<const std::span<const std::uint8_t>> chunks);

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace mantissa::io
