// peek_dataset() reads only the headers of a dataset's files and agrees with
// what load_dataset() gives; dataset_fit_problems() puts a misfit on the layer
// it concerns, in the words Train would use.
#include <gtest/gtest.h>

#include "mantissa/data.hpp"
#include "mantissa/layer_descriptor.hpp"
#include "mantissa/model.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using test_data::TempDir;

LayerSpec layer(LayerKind kind, std::string id, std::vector<std::string> inputs = {}) {
  LayerSpec l = descriptor(kind).starter;
  l.id = std::move(id);
  l.inputs = std::move(inputs);
  return l;
}

// input(shape) -> fc (out) -> loss
ModelSpec model(std::vector<std::int64_t> shape, std::int64_t out,
                LayerKind loss = LayerKind::SoftmaxCrossEntropy) {
  ModelSpec m;
  LayerSpec in = layer(LayerKind::Input, "input");
  in.shape = std::move(shape);
  LayerSpec fc = layer(LayerKind::Linear, "fc", {"input"});
  fc.out_features = out;
  m.layers = {in, fc, layer(loss, "loss", {"fc"})};
  return m;
}

std::vector<ModelProblem> fit(const DatasetShape& data, const ModelSpec& m) {
  return dataset_fit_problems(data, m, diagnose_model(m));
}

TEST(DatasetFit, CsvPeekCountsFeaturesLikeTheLoader) {
  TempDir dir;
  test_data::write_text(dir / "two.csv", "\xEF\xBB\xBFx,\"y, quoted\",label\n1,2,0\n3,4,2\n");
  DatasetSpec spec;
  spec.kind = "csv";
  spec.path = "two.csv";
  const DatasetShape peeked = peek_dataset(spec, dir.path());
  EXPECT_EQ(peeked.name, "two.csv");
  EXPECT_EQ(peeked.sample_shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(peeked.num_classes, -1);  // not without reading every label
  const DatasetSplit loaded = load_dataset(spec, dir.path());
  EXPECT_EQ(dataset_shape(loaded.train).sample_shape, peeked.sample_shape);
  EXPECT_EQ(dataset_shape(loaded.train).num_classes, 3);

  spec.label_column = "nope";
  test_data::expect_input_error([&] { peek_dataset(spec, dir.path()); },
                                {"two.csv", "no column named 'nope'"});
  spec.label_column = "7";
  test_data::expect_input_error([&] { peek_dataset(spec, dir.path()); }, {"out of range"});
  spec.path = "absent.csv";
  test_data::expect_input_error([&] { peek_dataset(spec, dir.path()); },
                                {"absent.csv", "not found"});
}

TEST(DatasetFit, IdxPeekReadsHeadersAndLabels) {
  TempDir dir;
  std::vector<std::uint8_t> pixels(3 * 4 * 5, 7);
  test_data::write_bytes(dir / "img", test_data::idx_u8({3, 4, 5}, pixels));
  test_data::write_bytes(dir / "lbl", test_data::idx_u8({3}, {0, 4, 1}));
  DatasetSpec spec;
  spec.kind = "idx";
  spec.images = dir / "img";
  spec.labels = dir / "lbl";
  const DatasetShape s = peek_dataset(spec);
  EXPECT_EQ(s.name, "img");
  EXPECT_EQ(s.sample_shape, (std::vector<std::int64_t>{1, 4, 5}));
  EXPECT_EQ(s.num_classes, 5);
  EXPECT_EQ(s, dataset_shape(load_dataset(spec).train));
}

TEST(DatasetFit, SyntheticPeekKnowsItsClasses) {
  DatasetSpec spec;
  spec.kind = "blobs";
  spec.classes = 4;
  EXPECT_EQ(peek_dataset(spec), dataset_shape(load_dataset(spec).train));
}

TEST(DatasetFit, FeaturesThatDoNotFitAreAnErrorOnTheInput) {
  DatasetShape two;
  two.name = "two.csv";
  two.sample_shape = {2};
  const auto problems = fit(two, model({1, 28, 28}, 10));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].layer_id, "input");
  EXPECT_FALSE(problems[0].warning);
  EXPECT_EQ(problems[0].message,
            "the dataset 'two.csv' has 2 features per sample; this Input expects 1×28×28 = 784");
  EXPECT_TRUE(fit(two, model({2}, 10)).empty());

  DatasetShape digits;
  digits.name = "mnist";
  digits.sample_shape = {1, 28, 28};
  digits.num_classes = 10;
  EXPECT_TRUE(fit(digits, model({784}, 10)).empty());  // the same values, flattened
  const auto wrong = fit(digits, model({2}, 10));
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0].message,
            "the dataset 'mnist' has samples of 1×28×28 = 784 values; this Input expects 2");
}

TEST(DatasetFit, ClassesAndTargetsAreCheckedOnTheHead) {
  DatasetShape ten;
  ten.name = "digits.csv";
  ten.sample_shape = {2};
  ten.num_classes = 10;
  auto problems = fit(ten, model({2}, 2));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].layer_id, "fc");
  EXPECT_NE(problems[0].message.find("10 classes"), std::string::npos) << problems[0].message;
  EXPECT_NE(problems[0].message.find("2 outputs"), std::string::npos) << problems[0].message;
  EXPECT_TRUE(fit(ten, model({2}, 10)).empty());

  ten.num_classes = -1;  // unknown: nothing to say yet
  EXPECT_TRUE(fit(ten, model({2}, 2)).empty());

  DatasetShape regression = ten;
  regression.num_classes = 0;
  regression.target_dim = 3;
  problems = fit(regression, model({2}, 2));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].layer_id, "loss");
  EXPECT_NE(problems[0].message.find("class labels"), std::string::npos);
  problems = fit(regression, model({2}, 2, LayerKind::MSE));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].layer_id, "fc");
  EXPECT_NE(problems[0].message.find("3 targets"), std::string::npos);
  EXPECT_TRUE(fit(regression, model({2}, 3, LayerKind::MSE)).empty());
}

// A label per position (text windows) needs [T, V] scores: a head that gives
// one row of scores per sample is named, in the studio and by the trainer,
// which runs the same rule on the loaded splits (check_dataset_fits).
TEST(DatasetFit, LabelsPerPositionNeedAScoreRowPerPosition) {
  DatasetShape text;
  text.name = "story.txt";
  text.sample_shape = {4};
  text.target_dim = 4;
  text.num_classes = 256;
  auto problems = fit(text, model({4}, 256));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].layer_id, "fc");
  EXPECT_EQ(problems[0].message,
            "the dataset 'story.txt' has 4 labels per sample; this layer scores 1 position per "
            "sample");
  text.target_dim = 1;
  EXPECT_TRUE(fit(text, model({4}, 256)).empty());

  // The trainer's check: the first error, naming the layer; a class only the
  // validation split holds widens what the head must give.
  DatasetSplit split;
  split.train.name = "labels.csv";
  split.train.sample_shape = {4};
  split.train.target_dim = 1;
  split.train.num_classes = 3;
  split.validation = split.train;
  EXPECT_NO_THROW(check_dataset_fits(split, model({4}, 3)));
  split.validation.num_classes = 5;
  EXPECT_EQ(dataset_shape(split).num_classes, 5);
  test_data::expect_input_error([&] { check_dataset_fits(split, model({4}, 3)); },
                                {"layer 'fc'", "'labels.csv' has 5 classes", "3 outputs"});
  split.validation.num_classes = 3;
  split.train.target_dim = 4;
  test_data::expect_input_error([&] { check_dataset_fits(split, model({4}, 3)); },
                                {"layer 'fc'", "4 labels per sample"});
  // Regression targets stay regression whatever the validation split holds.
  split.train.num_classes = 0;
  EXPECT_EQ(dataset_shape(split).num_classes, 0);
}

}  // namespace
}  // namespace mantissa
