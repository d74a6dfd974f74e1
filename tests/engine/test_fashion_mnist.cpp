// The built-in Fashion-MNIST set: the project kind, the message when its files
// are missing, and, where scripts/fetch-fashion-mnist.sh has run, its split.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using test_data::expect_input_error;
using test_data::idx_u8;
using test_data::ScopedEnv;
using test_data::TempDir;
using test_data::write_bytes;

std::string project_with(const std::string& dataset) {
  return R"({"format": "mantissa-project", "version": 1, "name": "t", "dataset": )" + dataset +
         R"(, "model": {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}},
    {"id": "flat", "type": "Flatten", "inputs": ["input"]},
    {"id": "fc", "type": "Linear", "inputs": ["flat"], "params": {"out_features": 10}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}
  ]}, "training": {}})";
}

TEST(FashionMnistProject, KindParsesAndRoundTrips) {
  const Project p =
      parse_project(project_with(R"({"kind": "fashion-mnist", "normalize": false})"), "t.json");
  EXPECT_EQ(p.dataset.kind, "fashion-mnist");
  EXPECT_FALSE(p.dataset.normalize);
  const std::string json = project_to_json(p);
  EXPECT_THAT(json, HasSubstr(R"("kind": "fashion-mnist")"));
  // The split is the set's own, so the file does not carry one.
  EXPECT_THAT(json, Not(HasSubstr("validation_fraction")));
  const DatasetSpec again = parse_project(json, "t.json").dataset;
  EXPECT_EQ(again.kind, "fashion-mnist");
  EXPECT_FALSE(again.normalize);
}

TEST(FashionMnistProject, FixedSplitRejectsValidationFraction) {
  try {
    parse_project(project_with(R"({"kind": "fashion-mnist", "validation_fraction": 0.1})"),
                  "t.json");
    FAIL() << "accepted a validation_fraction for fashion-mnist";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("/dataset/validation_fraction"),
                                HasSubstr("for dataset kind 'fashion-mnist'")));
  }
}

TEST(FashionMnistData, MissingFileNamesItAndTheScript) {
  TempDir dir;
  ScopedEnv env("MANTISSA_DATA_DIR", dir.path().string());
  DatasetSpec spec;
  spec.kind = "fashion-mnist";
  const auto first = dir / "fashion-mnist/train-images-idx3-ubyte";
  expect_input_error([&] { load_dataset(spec); },
                     {"built-in Fashion-MNIST data not found", first.string(),
                      "run scripts/fetch-fashion-mnist.sh"});
  expect_input_error([&] { peek_dataset(spec); },
                     {first.string(), "run scripts/fetch-fashion-mnist.sh"});

  // With some files in place, the message names the first one still missing.
  std::filesystem::create_directories(dir / "fashion-mnist");
  write_bytes(first, idx_u8({1, 28, 28}, std::vector<std::uint8_t>(784, 7)));
  write_bytes(dir / "fashion-mnist/train-labels-idx1-ubyte", idx_u8({1}, {3}));
  expect_input_error([&] { load_dataset(spec); },
                     {(dir / "fashion-mnist/t10k-images-idx3-ubyte").string(),
                      "run scripts/fetch-fashion-mnist.sh"});
}

TEST(FashionMnistData, BuiltInSplit) {
  const auto dir = data_dir() / "fashion-mnist";
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    if (!std::filesystem::exists(dir / name))
      GTEST_SKIP() << "built-in Fashion-MNIST not found: " << (dir / name).string()
                   << " is missing; run scripts/fetch-fashion-mnist.sh";

  DatasetSpec spec;
  spec.kind = "fashion-mnist";
  const DatasetShape peeked = peek_dataset(spec);
  EXPECT_EQ(peeked.sample_shape, (std::vector<std::int64_t>{1, 28, 28}));
  EXPECT_EQ(peeked.num_classes, 10);

  const DatasetSplit split = load_dataset(spec);
  // The original split: 60,000 training images, the 10,000 test images validate.
  EXPECT_EQ(split.train.size(), 60000);
  EXPECT_EQ(split.validation.size(), 10000);
  const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                          "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                          "Bag",         "Ankle boot"};
  for (const Dataset* d : {&split.train, &split.validation}) {
    EXPECT_EQ(d->name, "fashion-mnist");
    EXPECT_EQ(d->sample_shape, (std::vector<std::int64_t>{1, 28, 28}));
    EXPECT_EQ(d->features.size(), std::size_t(d->size()) * 784);
    EXPECT_EQ(d->target_dim, 1);
    EXPECT_EQ(d->num_classes, 10);
    EXPECT_EQ(d->class_names, names);
    const auto [lo, hi] = std::minmax_element(d->features.begin(), d->features.end());
    EXPECT_EQ(*lo, 0.0f);
    EXPECT_EQ(*hi, 1.0f);
    // Balanced as the original: a tenth of each set per class.
    std::array<std::int64_t, 10> per_class{};
    for (float t : d->targets) {
      ASSERT_TRUE(t >= 0.0f && t <= 9.0f && t == float(int(t))) << "label " << t;
      ++per_class[std::size_t(t)];
    }
    for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[std::size_t(c)], d->size() / 10) << c;
  }
  // The first hundred training images already hold every class: the files
  // interleave the classes, so a short run does not see one class only.
  std::array<bool, 10> seen{};
  for (int i = 0; i < 100; ++i) seen[std::size_t(split.train.targets[std::size_t(i)])] = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 10);
}

}  // namespace
}  // namespace mantissa
