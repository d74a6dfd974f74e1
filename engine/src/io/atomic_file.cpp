#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "mantissa/error.hpp"

namespace mantissa::io {

namespace {

std::atomic<unsigned> temp_counter{0};

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what, int err) {
  const char* room = err == ENOSPC  ? "the disk is full; "
                     : err == EFBIG  ? "the file-size limit is reached; "
                     : err == EDQUOT ? "the disk quota is used up; "
                                     : "";
  throw InputError(file.string() + ": cannot write: " + room + what + std::strerror(err) +
                   (*room ? " (the file that was there is untouched)" : ""));
}

// Closes and removes the temporary file unless release() was called.
class TempFile {
 public:
  TempFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void release() { released_ = true; }

 private:
  std::filesystem::path path_;
  int fd_;
  bool released_ = false;
};

// What stands at `file` when it is something a rename must not replace.
std::string not_a_file(std::filesystem::file_type type) {
  using std::filesystem::file_type;
  switch (type) {
    case file_type::directory: return "a folder";
    case file_type::fifo: return "a named pipe";
    case file_type::character:
    case file_type::block: return "a device";
    case file_type::socket: return "a socket";
    default: return "";
  }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& given,
                           std::span<const std::span<const std::uint8_t>> chunks) {
  // A link is written through, as any editor does: its target gets the new
  // contents and the link stays. A pipe, a device or a folder is refused, not
  // renamed over (export -o /dev/full would have replaced the device).
  std::error_code ec;
  std::filesystem::path file = given;
  for (int hops = 0; std::filesystem::is_symlink(std::filesystem::symlink_status(file, ec));
       ++hops) {
    if (hops == 40) fail(given, "", ELOOP);
    const std::filesystem::path target = std::filesystem::read_symlink(file, ec);
    if (ec) fail(given, "cannot follow the link: ", ec.value());
    file = target.is_absolute() ? target : file.parent_path() / target;
  }
  const std::string other = not_a_file(std::filesystem::status(file, ec).type());
  if (!other.empty())
    throw InputError(given.string() + ": cannot write: it is " + other +
                     ", not a file (name a file to write)");
  const std::filesystem::path dir =
      file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  // Hidden, unique per process and call, and in the same folder so that the
  // rename stays on one file system and is atomic.
  std::string temp_name = ".";
  temp_name += file.filename().string();
  temp_name += ".tmp-";
  temp_name += std::to_string(::getpid());
  temp_name += '-';
  temp_name += std::to_string(temp_counter.fetch_add(1));
  const std::filesystem::path temp = dir / temp_name;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(file, "cannot create a file in '" + dir.string() + "': ", errno);
  TempFile out(temp, fd);

  for (const auto& chunk : chunks) {
    std::size_t done = 0;
    while (done < chunk.size()) {
      const ssize_t n = ::write(out.fd(), chunk.data() + done, chunk.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(file, "", errno);
      done += std::size_t(n);
    }
  }
  if (::fsync(out.fd()) != 0) fail(file, "", errno);
  if (out.close() != 0) fail(file, "", errno);
  if (::rename(temp.c_str(), file.c_str()) != 0) fail(file, "", errno);
  out.release();
  // Make the rename itself durable; a failure here loses nothing already written.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace mantissa::io
