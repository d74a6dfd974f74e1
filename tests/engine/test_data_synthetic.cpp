// Synthetic sets, splitting, shape checks and the pipeline's random streams.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "data/random.hpp"
#include "mantissa/data.hpp"
#include "mantissa/model.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using test_data::expect_input_error;

DatasetSpec synthetic(const std::string& kind, std::int64_t samples, int classes,
                      std::uint64_t seed, double noise = 0.1) {
  DatasetSpec spec;
  spec.kind = kind;
  spec.samples = samples;
  spec.classes = classes;
  spec.seed = seed;
  spec.noise = noise;
  return spec;
}

std::uint64_t fnv1a(const std::vector<float>& v) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (float f : v) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int i = 0; i < 4; ++i) {
      h ^= (bits >> (8 * i)) & 0xFF;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

TEST(DataRandom, GeneratorsAreTheSpecifiedOnes) {
  std::uint64_t state = 0;
  EXPECT_EQ(data::splitmix64(state), 0xE220A8397B1DCDAFull);  // published SplitMix64 output
  data::Rng a(7), b(7), c(8);
  const auto first = a.next_u64();
  EXPECT_EQ(first, b.next_u64());
  EXPECT_NE(first, c.next_u64());

  // Box–Muller normals: mean 0, variance 1.
  data::Rng rng(1);
  double sum = 0, sq = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double g = rng.normal();
    sum += g;
    sq += g * g;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.03);
  EXPECT_NEAR(sq / n, 1.0, 0.04);

  // below(n) covers [0, n) evenly.
  std::map<std::uint64_t, int> counts;
  for (int i = 0; i < 6000; ++i) ++counts[rng.below(6)];
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [value, count] : counts) EXPECT_NEAR(count, 1000, 150) << value;
}

TEST(DataSynthetic, DeterministicPerSeed) {
  for (const std::string kind : {"spirals", "moons", "blobs"}) {
    const Dataset a = make_synthetic(synthetic(kind, 300, 2, 11));
    const Dataset b = make_synthetic(synthetic(kind, 300, 2, 11));
    const Dataset c = make_synthetic(synthetic(kind, 300, 2, 12));
    EXPECT_EQ(fnv1a(a.features), fnv1a(b.features)) << kind;
    EXPECT_EQ(a.targets, b.targets) << kind;
    EXPECT_NE(fnv1a(a.features), fnv1a(c.features)) << kind;
  }
}

// The exact bits for one seed, so that a change of generator, of Box–Muller or
// of the platform's arithmetic shows up here rather than as drifting runs.
TEST(DataSynthetic, PinnedBits) {
  const Dataset d = make_synthetic(synthetic("blobs", 4, 2, 1, 0.5));
  const std::vector<float> expected = {0x1.577dcep-2f,  0x1.c12934p-2f, 0x1.81c602p+0f,
                                       -0x1.2eef76p-4f, -0x1.2596ep-1f, -0x1.0f03a2p-2f,
                                       -0x1.c63b48p-1f, -0x1.be0d7ap-2f};
  EXPECT_EQ(d.features, expected);
  EXPECT_EQ(d.targets, (std::vector<float>{0, 0, 1, 1}));
}

TEST(DataSynthetic, ShapesAndClassBalance) {
  for (const auto& [kind, classes] :
       std::vector<std::pair<std::string, int>>{{"spirals", 3}, {"moons", 2}, {"blobs", 4}}) {
    const Dataset d = make_synthetic(synthetic(kind, 1001, classes, 5));
    EXPECT_EQ(d.name, kind);
    EXPECT_EQ(d.size(), 1001);
    EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{2}));
    EXPECT_EQ(d.features.size(), 2002u);
    EXPECT_EQ(d.num_classes, classes);
    EXPECT_EQ(d.class_names.size(), std::size_t(classes));
    std::map<float, int> counts;
    for (float t : d.targets) ++counts[t];
    ASSERT_EQ(counts.size(), std::size_t(classes)) << kind;
    for (const auto& [label, count] : counts) EXPECT_NEAR(count, 1001.0 / classes, 1.0) << kind;
    for (float v : d.features) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(DataSynthetic, GeometryWithoutNoise) {
  const Dataset moons = make_synthetic(synthetic("moons", 200, 2, 1, 0.0));
  for (std::int64_t i = 0; i < moons.size(); ++i) {
    const double x = moons.features[std::size_t(2 * i)], y = moons.features[std::size_t(2 * i + 1)];
    if (moons.targets[std::size_t(i)] == 0)
      EXPECT_NEAR(x * x + y * y, 1.0, 1e-5);
    else
      EXPECT_NEAR((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5), 1.0, 1e-5);
  }
  // Blob centres sit on the unit circle and the spread equals the noise.
  const Dataset blobs = make_synthetic(synthetic("blobs", 4000, 4, 2, 0.2));
  for (int c = 0; c < 4; ++c) {
    double sx = 0, sy = 0, sq = 0;
    int n = 0;
    for (std::int64_t i = 0; i < blobs.size(); ++i)
      if (blobs.targets[std::size_t(i)] == float(c)) {
        sx += blobs.features[std::size_t(2 * i)];
        sy += blobs.features[std::size_t(2 * i + 1)];
        ++n;
      }
    sx /= n;
    sy /= n;
    EXPECT_NEAR(std::hypot(sx, sy), 1.0, 0.03);
    for (std::int64_t i = 0; i < blobs.size(); ++i)
      if (blobs.targets[std::size_t(i)] == float(c)) {
        const double dx = blobs.features[std::size_t(2 * i)] - sx;
        sq += dx * dx;
      }
    EXPECT_NEAR(std::sqrt(sq / n), 0.2, 0.02);
  }
}

TEST(DataSynthetic, InvalidSettingsNameTheField) {
  expect_input_error([] { make_synthetic(synthetic("moons", 100, 3, 1)); },
                     {"dataset.classes", "moons", "3"});
  expect_input_error([] { make_synthetic(synthetic("spirals", 1, 2, 1)); }, {"dataset.samples"});
  expect_input_error([] { make_synthetic(synthetic("blobs", 100, 1, 1)); }, {"dataset.classes"});
  expect_input_error([] { make_synthetic(synthetic("blobs", 100, 2, 1, -0.5)); },
                     {"dataset.noise"});
}

// A project file and the generator hold a synthetic set to the same limits:
// what the file takes, the generator makes (1,000 classes), and one past it
// is refused by the file, naming the field.
TEST(DataSynthetic, TheProjectFileAndTheGeneratorShareTheirLimits) {
  const auto project = [](int classes, std::int64_t samples) {
    return std::string(R"({"format": "mantissa-project", "version": 1, "name": "s",
      "dataset": {"kind": "blobs", "classes": )") +
           std::to_string(classes) + R"(, "samples": )" + std::to_string(samples) + R"(},
      "model": {"nodes": [{"id": "input", "type": "Input", "params": {"shape": [2]}},
        {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
        {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]}})";
  };
  const Project most = parse_project(project(kMaxSyntheticClasses, 2000), "s.json");
  EXPECT_EQ(make_synthetic(most.dataset).num_classes, kMaxSyntheticClasses);
  test_data::expect_input_error(
      [&] { parse_project(project(kMaxSyntheticClasses + 1, 2000), "s.json"); },
      {"s.json: /dataset/classes", "<= 1000"});
  test_data::expect_input_error(
      [&] { parse_project(project(2, kMaxSyntheticSamples + 1), "s.json"); },
      {"s.json: /dataset/samples", "<= 10000000"});
}

TEST(DataSplit, FractionSeedAndCoverage) {
  DatasetSpec spec = synthetic("spirals", 1000, 2, 4);
  spec.validation_fraction = 0.2;
  const DatasetSplit a = load_dataset(spec);
  EXPECT_EQ(a.train.size(), 800);
  EXPECT_EQ(a.validation.size(), 200);
  EXPECT_TRUE(a.feature_mean.empty());

  // Every sample lands in exactly one part.
  const Dataset all = make_synthetic(spec);
  std::multiset<std::pair<float, float>> whole, parts;
  for (std::int64_t i = 0; i < all.size(); ++i)
    whole.insert({all.features[std::size_t(2 * i)], all.features[std::size_t(2 * i + 1)]});
  for (const Dataset* d : {&a.train, &a.validation})
    for (std::int64_t i = 0; i < d->size(); ++i)
      parts.insert({d->features[std::size_t(2 * i)], d->features[std::size_t(2 * i + 1)]});
  EXPECT_EQ(whole, parts);

  const DatasetSplit b = load_dataset(spec);
  EXPECT_EQ(a.validation.features, b.validation.features);
  const DatasetSplit other = split_dataset(all, 0.2, 5);
  EXPECT_NE(a.validation.features, other.validation.features);

  EXPECT_EQ(split_dataset(all, 0.0, 1).validation.size(), 0);
  expect_input_error([&] { split_dataset(all, 1.0, 1); }, {"dataset.validation_fraction"});
  expect_input_error([&] { split_dataset(all, -0.1, 1); }, {"dataset.validation_fraction"});
}

TEST(DataShape, FitsByElementCount) {
  Dataset mnist;
  mnist.name = "mnist";
  mnist.sample_shape = {1, 28, 28};
  EXPECT_TRUE(shape_fits(mnist, {784}));
  EXPECT_TRUE(shape_fits(mnist, {1, 28, 28}));
  EXPECT_FALSE(shape_fits(mnist, {3, 32, 32}));
  Dataset flat;
  flat.sample_shape = {784};
  EXPECT_TRUE(shape_fits(flat, {1, 28, 28}));

  EXPECT_NO_THROW(check_input_shape(mnist, {784}, "input"));
  try {
    check_input_shape(mnist, {3, 32, 32}, "input");
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "dataset 'mnist' gives samples of 1×28×28 (784 values) but the model's input "
                 "'input' expects 3×32×32 (3072 values)");
  }
}

}  // namespace
}  // namespace mantissa
