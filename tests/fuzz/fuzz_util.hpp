#pragma once
// Shared by the libFuzzer harnesses. Every reader of outside data must either
// accept its input or throw mantissa::Error; any other exception escaping a
// harness reaches std::terminate, which libFuzzer reports as a crash.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "mantissa/error.hpp"

namespace mantissa::fuzz {

[[noreturn]] inline void die(const std::string& why) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", why.c_str());
  std::fflush(stderr);
  std::abort();
}

// A file in $TMPDIR (else /tmp) named for this process, rewritten by every
// iteration and removed when the process exits normally.
class ScratchFile {
 public:
  ScratchFile(std::string_view stem, std::string_view extension) {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
           ("mantissa-fuzz-" + std::string(stem) + "-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = dir_ / (std::string(stem) + std::string(extension));
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& dir() const { return dir_; }

  void write(const std::uint8_t* data, std::size_t size) const { write(path_, data, size); }
  static void write(const std::filesystem::path& p, const std::uint8_t* data, std::size_t size) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    if (!out) die("cannot write the scratch file " + p.string());
  }

 private:
  std::filesystem::path dir_, path_;
};

// A message that does not name its file is a finding (DESIGN.md "Errors").
// Strict harnesses stop on it; lenient ones (readers whose code is owned
// elsewhere) print each kind of message once and go on fuzzing.
enum class Names { Strict, Lenient };

inline void unnamed_message(std::string_view file, std::string_view what, Names mode) {
  if (mode == Names::Strict)
    die("error message does not name " + std::string(file) + ": " + std::string(what));
  static std::set<std::string> seen;
  // Messages differ in the values they quote; the first words say which check.
  std::string kind(what.substr(0, std::min(what.find('\''), std::size_t(24))));
  if (seen.size() < 32 && seen.insert(kind).second)
    std::fprintf(stderr, "FUZZ NOTE: error message does not name %.*s: %.*s\n", int(file.size()),
                 file.data(), int(std::min<std::size_t>(what.size(), 300)), what.data());
}

// Runs `read`; a mantissa::Error is the expected answer to bad input, and its
// message must name the file it is about (`names`, when not empty). Returns
// whether `read` succeeded.
template <class F>
bool accepts(F&& read, std::string_view names = {}, Names mode = Names::Strict) {
  try {
    read();
    return true;
  } catch (const mantissa::Error& e) {
    const std::string_view what = e.what();
    if (!names.empty() && what.find(names) == std::string_view::npos)
      unnamed_message(names, what, mode);
    return false;
  }
}

}  // namespace mantissa::fuzz
