#pragma once
// Shared by the Store* suites: a scratch directory per test and small builders.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mantissa/store.hpp"

namespace mantissa::store_test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "mantissa-store-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    // Tests make files and folders read-only; give the tree back before removing it.
    for (const auto& entry : fs::recursive_directory_iterator(path_, ec)) {
      fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline NewRun sample_run(std::string name = "baseline", std::string project = "mnist-mlp",
                         std::string policy = "mixed_float16") {
  NewRun r;
  r.name = std::move(name);
  r.project_name = std::move(project);
  r.project_json = R"({"name":"mnist-mlp","layers":[]})";
  r.policy = std::move(policy);
  r.loss_scale_json = R"({"mode":"dynamic","init_scale":65536})";
  r.backend = "cpu";
  r.device = "AMD EPYC (2 threads)";
  r.library_versions = "oneDNN 3.0.0, SQLite 3.40.1";
  r.seed = 1234;
  return r;
}

inline StepMetrics sample_step(std::int64_t step) {
  StepMetrics m;
  m.step = step;
  m.epoch = step / 100;
  m.loss = 2.5 / static_cast<double>(step);
  m.loss_scale = 65536.0;
  m.skipped = step % 7 == 0;
  m.skipped_total = step / 7;
  m.growth_tracker = step % 2000;
  m.grad_norm = 0.125 * static_cast<double>(step);
  m.lr = 0.05;
  m.step_time_s = 0.003;
  m.samples_per_s = 42666.5;
  m.memory_in_use = 1 << 20;
  m.memory_peak = 3 << 20;
  m.driver_memory_in_use = 0;
  m.wall_time_s = 0.003 * static_cast<double>(step);
  return m;
}

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Reads exactly one value of T from a pipe; false at end of file.
template <typename T>
bool read_value(int fd, T& value) {
  auto* p = reinterpret_cast<char*>(&value);
  std::size_t got = 0;
  while (got < sizeof(T)) {
    const ssize_t n = ::read(fd, p + got, sizeof(T) - got);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

template <typename T>
void write_value(int fd, const T& value) {
  const auto* p = reinterpret_cast<const char*>(&value);
  std::size_t sent = 0;
  while (sent < sizeof(T)) {
    const ssize_t n = ::write(fd, p + sent, sizeof(T) - sent);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace mantissa::store_test
