// IDX files, the built-in MNIST and the data folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>

#include "mantissa/data.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using test_data::expect_input_error;
using test_data::idx_f32;
using test_data::idx_u8;
using test_data::ScopedEnv;
using test_data::TempDir;
using test_data::write_bytes;

// Five 3×4 images whose pixels encode (item, position); labels 0 2 1 2 0.
void write_small_pair(const TempDir& dir) {
  std::vector<std::uint8_t> pixels;
  for (int i = 0; i < 5; ++i)
    for (int p = 0; p < 12; ++p) pixels.push_back(std::uint8_t(i * 50 + p));
  write_bytes(dir / "images.idx", idx_u8({5, 3, 4}, pixels));
  write_bytes(dir / "labels.idx", idx_u8({5}, {0, 2, 1, 2, 0}));
}

TEST(DataIdx, Uint8RoundTrip) {
  TempDir dir;
  write_small_pair(dir);
  const Dataset d = load_idx(dir / "images.idx", dir / "labels.idx", true);
  EXPECT_EQ(d.size(), 5);
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{1, 3, 4}));
  EXPECT_EQ(d.sample_numel(), 12);
  ASSERT_EQ(d.features.size(), 60u);
  for (int i = 0; i < 5; ++i)
    for (int p = 0; p < 12; ++p)
      EXPECT_FLOAT_EQ(d.features[std::size_t(i * 12 + p)], float(i * 50 + p) / 255.0f);
  EXPECT_EQ(d.targets, (std::vector<float>{0, 2, 1, 2, 0}));
  EXPECT_EQ(d.target_dim, 1);
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"0", "1", "2"}));

  const Dataset raw = load_idx(dir / "images.idx", dir / "labels.idx", false);
  EXPECT_EQ(raw.features[13], 51.0f);
}

TEST(DataIdx, Float32FeaturesAndRegressionTargets) {
  TempDir dir;
  write_bytes(dir / "x.idx", idx_f32({3, 2}, {1.5f, -2.0f, 0.25f, 1e-3f, -7.0f, 3.0f}));
  write_bytes(dir / "y.idx", idx_f32({3}, {0.5f, -1.5f, 2.0f}));
  const Dataset d = load_idx(dir / "x.idx", dir / "y.idx", true);
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(d.features, (std::vector<float>{1.5f, -2.0f, 0.25f, 1e-3f, -7.0f, 3.0f}));
  EXPECT_EQ(d.targets, (std::vector<float>{0.5f, -1.5f, 2.0f}));
  EXPECT_EQ(d.num_classes, 0);
}

TEST(DataIdx, WrongMagic) {
  TempDir dir;
  write_bytes(dir / "images.idx", {'P', 'K', 3, 4, 0, 0, 0, 0});
  write_bytes(dir / "labels.idx", idx_u8({1}, {0}));
  expect_input_error([&] { load_idx(dir / "images.idx", dir / "labels.idx", true); },
                     {"images.idx", "not an IDX file (magic 0x504B0304)"});
}

TEST(DataIdx, GzipIsNamed) {
  TempDir dir;
  write_bytes(dir / "images.idx.gz", {0x1F, 0x8B, 8, 0, 0, 0});
  write_bytes(dir / "labels.idx", idx_u8({1}, {0}));
  expect_input_error([&] { load_idx(dir / "images.idx.gz", dir / "labels.idx", true); },
                     {"images.idx.gz", "gzip"});
}

TEST(DataIdx, TruncatedData) {
  TempDir dir;
  auto bytes = idx_u8({5, 3, 4}, std::vector<std::uint8_t>(30, 7));  // 60 promised
  write_bytes(dir / "images.idx", bytes);
  write_bytes(dir / "labels.idx", idx_u8({5}, {0, 1, 2, 3, 4}));
  expect_input_error(
      [&] { load_idx(dir / "images.idx", dir / "labels.idx", true); },
      {"images.idx: truncated: header says 5 items of 3×4 uint8", "file has 46 bytes"});
}

TEST(DataIdx, TruncatedHeader) {
  TempDir dir;
  write_bytes(dir / "labels.idx", {0, 0, 8, 3, 0, 0});
  write_bytes(dir / "images.idx", idx_u8({1}, {0}));
  expect_input_error([&] { load_idx(dir / "images.idx", dir / "labels.idx", true); },
                     {"labels.idx: truncated", "file has 6 bytes"});
}

TEST(DataIdx, UnsupportedElementType) {
  TempDir dir;
  auto bytes = test_data::idx_header(0x0B, {2});
  bytes.insert(bytes.end(), {0, 1, 0, 2});
  write_bytes(dir / "images.idx", bytes);
  write_bytes(dir / "labels.idx", idx_u8({2}, {0, 1}));
  expect_input_error([&] { load_idx(dir / "images.idx", dir / "labels.idx", true); },
                     {"images.idx", "0x0B", "int16"});
}

TEST(DataIdx, LabelCountMismatch) {
  TempDir dir;
  write_small_pair(dir);
  write_bytes(dir / "labels.idx", idx_u8({4}, {0, 1, 2, 3}));
  expect_input_error([&] { load_idx(dir / "images.idx", dir / "labels.idx", true); },
                     {"labels.idx: has 4 labels", "images.idx has 5 images"});
}

TEST(DataIdx, NonFiniteFloatNamesItem) {
  TempDir dir;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  write_bytes(dir / "x.idx", idx_f32({3, 2}, {1, 2, 3, 4, 5, nan}));
  write_bytes(dir / "y.idx", idx_u8({3}, {0, 1, 0}));
  expect_input_error([&] { load_idx(dir / "x.idx", dir / "y.idx", true); },
                     {"x.idx: item 2", "not finite (nan)"});
  write_bytes(dir / "x.idx", idx_f32({3, 2}, {1, 2, 3, 4, 5, 6}));
  write_bytes(dir / "y.f.idx", idx_f32({3}, {0, std::numeric_limits<float>::infinity(), 1}));
  expect_input_error([&] { load_idx(dir / "x.idx", dir / "y.f.idx", true); },
                     {"y.f.idx: item 1", "not finite (inf)"});
}

TEST(DataIdx, MissingFile) {
  TempDir dir;
  expect_input_error([&] { load_idx(dir / "nope.idx", dir / "labels.idx", true); },
                     {"nope.idx", "not found"});
}

TEST(DataIdx, SpecResolvesRelativePathsAndSplits) {
  TempDir dir;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;
  for (int i = 0; i < 10; ++i) {
    pixels.push_back(std::uint8_t(i));
    pixels.push_back(std::uint8_t(100 + i));
    labels.push_back(std::uint8_t(i % 2));
  }
  write_bytes(dir / "x.idx", idx_u8({10, 2}, pixels));
  write_bytes(dir / "y.idx", idx_u8({10}, labels));

  DatasetSpec spec;
  spec.kind = "idx";
  spec.images = "x.idx";
  spec.labels = "y.idx";
  spec.normalize = false;
  spec.validation_fraction = 0.2;
  spec.seed = 5;
  const DatasetSplit split = load_dataset(spec, dir.path());
  EXPECT_EQ(split.train.size(), 8);
  EXPECT_EQ(split.validation.size(), 2);
  std::set<float> seen;
  for (const Dataset* d : {&split.train, &split.validation})
    for (std::int64_t i = 0; i < d->size(); ++i) {
      const float first = d->features[std::size_t(2 * i)];
      EXPECT_EQ(d->features[std::size_t(2 * i + 1)], first + 100);
      EXPECT_EQ(d->targets[std::size_t(i)], float(int(first) % 2));
      seen.insert(first);
    }
  EXPECT_EQ(seen.size(), 10u);

  spec.labels = "missing.idx";
  expect_input_error([&] { load_dataset(spec, dir.path()); }, {"missing.idx", "not found"});
  spec.images.clear();
  expect_input_error([&] { load_dataset(spec, dir.path()); }, {"dataset.images"});
}

TEST(DataIdx, UnknownKindNamesField) {
  DatasetSpec spec;
  spec.kind = "parquet";
  expect_input_error([&] { load_dataset(spec); }, {"dataset.kind", "'parquet'"});
}

TEST(DataDir, EnvironmentOrder) {
  {
    ScopedEnv a("MANTISSA_DATA_DIR", "/srv/data");
    ScopedEnv b("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(data_dir(), std::filesystem::path("/srv/data"));
  }
  {
    ScopedEnv a("MANTISSA_DATA_DIR", std::nullopt);
    ScopedEnv b("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(data_dir(), std::filesystem::path("/xdg/mantissa/data"));
  }
  {
    ScopedEnv a("MANTISSA_DATA_DIR", std::nullopt);
    ScopedEnv b("XDG_DATA_HOME", std::nullopt);
    ScopedEnv c("HOME", "/home/ada");
    EXPECT_EQ(data_dir(), std::filesystem::path("/home/ada/.local/share/mantissa/data"));
  }
}

TEST(DataMnist, MissingDataGivesFetchHint) {
  TempDir dir;
  ScopedEnv env("MANTISSA_DATA_DIR", dir.path().string());
  DatasetSpec spec;
  spec.kind = "mnist";
  expect_input_error(
      [&] { load_dataset(spec); },
      {"built-in MNIST data not found at", dir.path().string(), "run scripts/fetch-mnist.sh"});
}

TEST(DataMnist, BuiltInSplit) {
  const auto dir = data_dir() / "mnist";
  if (!std::filesystem::exists(dir / "mnist-images.idx3-ubyte") ||
      !std::filesystem::exists(dir / "mnist-labels.idx1-ubyte"))
    GTEST_SKIP() << "built-in MNIST not found at " << dir.string()
                 << ": run scripts/fetch-mnist.sh";

  DatasetSpec spec;
  spec.kind = "mnist";
  const DatasetSplit split = load_dataset(spec);
  EXPECT_EQ(split.train.size(), 8000);
  EXPECT_EQ(split.validation.size(), 2000);
  for (const Dataset* d : {&split.train, &split.validation}) {
    EXPECT_EQ(d->name, "mnist");
    EXPECT_EQ(d->sample_shape, (std::vector<std::int64_t>{1, 28, 28}));
    EXPECT_EQ(d->features.size(), std::size_t(d->size()) * 784);
    EXPECT_EQ(d->num_classes, 10);
    const auto [lo, hi] = std::minmax_element(d->features.begin(), d->features.end());
    EXPECT_EQ(*lo, 0.0f);
    EXPECT_EQ(*hi, 1.0f);
    std::set<float> classes(d->targets.begin(), d->targets.end());
    EXPECT_EQ(classes.size(), 10u);
    EXPECT_EQ(*classes.begin(), 0.0f);
    EXPECT_EQ(*classes.rbegin(), 9.0f);
  }
  // The split is fixed: the seed does not move digits between the sets.
  spec.seed = 99;
  const DatasetSplit again = load_dataset(spec);
  EXPECT_EQ(again.validation.targets, split.validation.targets);
}

}  // namespace
}  // namespace mantissa
