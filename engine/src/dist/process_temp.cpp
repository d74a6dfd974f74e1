// Temporary files named after the process that made them (launch.hpp).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "mantissa/error.hpp"
#include "mantissa/launch.hpp"

namespace mantissa {

namespace {

std::string regex_escaped(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

}  // namespace

std::filesystem::path make_process_temp(const std::string& prefix, TempKind kind,
                                        const std::string& suffix) {
  const std::string what = kind == TempKind::Folder ? "folder" : "file";
  std::error_code ec;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);  // $TMPDIR or /tmp
  if (ec) {
    const char* env = std::getenv("TMPDIR");
    throw Error("cannot create a temporary " + what + ": " +
                (env ? "$TMPDIR (" + std::string(env) + ")" : std::string("/tmp")) +
                " is not a folder this process can use (" + ec.message() + ")");
  }
  // (mkdtemp's and mkstemps' template: they replace the six X's with a unique name.)
  std::string name =
      (tmp / (prefix + std::to_string(::getpid()) + "-XXXXXX" + suffix)).string();
  bool made = false;
  if (kind == TempKind::Folder) {
    made = ::mkdtemp(name.data()) != nullptr;
  } else if (const int fd = ::mkstemps(name.data(), int(suffix.size())); fd >= 0) {
    ::close(fd);
    made = true;
  }
  if (!made)
    throw Error("cannot create a temporary " + what + " in " + tmp.string() + ": " +
                std::strerror(errno));
  return name;
}

void remove_orphaned_temps(const std::string& prefix, const std::string& suffix) {
  // (1 to 6 characters: earlier versions numbered them.)
  const std::regex name(regex_escaped(prefix) + R"((\d{1,9})-[A-Za-z0-9]{1,6})" +
                        regex_escaped(suffix));
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) return;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::smatch m;
    const std::string file = it->path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    const long pid = std::strtol(m[1].str().c_str(), nullptr, 10);
    // Alive, or another user's (EPERM): not ours to judge.
    if (pid <= 0 || ::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    std::filesystem::remove_all(it->path(), ignored);
  }
}

}  // namespace mantissa
