#include "data/io_util.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "mantissa/error.hpp"

namespace mantissa::data {

std::string read_file(const SourceFile& file) {
  const auto& path = file.path;
  const auto& display = file.display;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const std::string where = path.string() == display ? "" : " (" + path.string() + ")";
  if (!std::filesystem::exists(status)) throw InputError(display + ": file not found" + where);
  if (std::filesystem::is_directory(status))
    throw InputError(display + ": is a folder, not a file" + where);

  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(display + ": cannot open: " + std::strerror(errno) + where);
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  if (end < 0) throw InputError(display + ": cannot read" + where);
  std::string bytes(std::size_t(end), '\0');
  in.seekg(0, std::ios::beg);
  in.read(bytes.data(), std::streamsize(bytes.size()));
  if (!in) throw InputError(display + ": read failed" + where);
  return bytes;
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += "×";
    s += std::to_string(dims[i]);
  }
  return s;
}

}  // namespace mantissa::data
