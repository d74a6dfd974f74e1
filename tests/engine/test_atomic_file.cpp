// write_file_atomically (io/atomic_file.hpp), which every export and weights
// file goes through: it writes through a link, and refuses a pipe or a folder
// instead of renaming a file over it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "io/atomic_file.hpp"
#include "mantissa/error.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

namespace fs = std::filesystem;
using test_data::TempDir;

void write(const fs::path& file, const std::string& text) {
  const std::span<const std::uint8_t> chunk = io::as_bytes(text);
  io::write_file_atomically(file, std::span(&chunk, 1));
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFile, WritesAndReplacesAFile) {
  TempDir dir;
  write(dir / "w.bin", "first");
  write(dir / "w.bin", "second");
  EXPECT_EQ(read(dir / "w.bin"), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1)
      << "no temporary file is left";
}

// The link stays a link; its target gets the new contents.
TEST(AtomicFile, WritesThroughALink) {
  TempDir dir;
  fs::create_directory(dir / "real");
  write(dir / "real" / "w.bin", "old");
  fs::create_symlink(dir / "real" / "w.bin", dir / "link.bin");
  write(dir / "link.bin", "new");
  EXPECT_TRUE(fs::is_symlink(dir / "link.bin"));
  EXPECT_EQ(read(dir / "real" / "w.bin"), "new");
  // A link to a file not yet there makes it.
  fs::create_symlink(dir / "real" / "later.bin", dir / "dangling.bin");
  write(dir / "dangling.bin", "made");
  EXPECT_TRUE(fs::is_symlink(dir / "dangling.bin"));
  EXPECT_EQ(read(dir / "real" / "later.bin"), "made");
}

// A named pipe (or a device, which a test must not risk) and a folder are
// refused, named, and left as they were.
TEST(AtomicFile, RefusesWhatIsNotAFile) {
  TempDir dir;
  const fs::path pipe = dir / "pipe.safetensors";
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  test_data::expect_input_error([&] { write(pipe, "x"); },
                                {"pipe.safetensors: cannot write: it is a named pipe, not a file"});
  EXPECT_EQ(fs::status(pipe).type(), fs::file_type::fifo);
  fs::create_symlink(pipe, dir / "to-pipe.bin");
  test_data::expect_input_error([&] { write(dir / "to-pipe.bin", "x"); }, {"a named pipe"});
  EXPECT_EQ(fs::status(pipe).type(), fs::file_type::fifo);
  fs::create_directory(dir / "folder.onnx");
  test_data::expect_input_error([&] { write(dir / "folder.onnx", "x"); },
                                {"folder.onnx: cannot write: it is a folder"});
  EXPECT_TRUE(fs::is_directory(dir / "folder.onnx"));
}

}  // namespace
}  // namespace mantissa
