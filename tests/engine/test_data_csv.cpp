// CSV datasets: header detection, labels, standardisation and every error.
#include <gtest/gtest.h>

#include <cmath>

#include "mantissa/data.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using test_data::expect_input_error;
using test_data::TempDir;
using test_data::write_text;

Dataset load_text(const TempDir& dir, const std::string& name, const std::string& text,
                  const std::string& label = "") {
  write_text(dir / name, text);
  return load_csv(dir / name, label);
}

TEST(DataCsv, HeaderAndStringLabelsSorted) {
  TempDir dir;
  const Dataset d = load_text(dir, "iris.csv",
                              "sepal_length,sepal_width,species\n"
                              "5.1,3.5,setosa\n"
                              "7.0,3.2,versicolor\r\n"
                              "\n"
                              "6.3,3.3,virginica\n"
                              "4.9,3.0,setosa\n"
                              "6.4,3.2,versicolor\n");
  EXPECT_EQ(d.name, "iris.csv");
  EXPECT_EQ(d.size(), 5);
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(d.features,
            (std::vector<float>{5.1f, 3.5f, 7.0f, 3.2f, 6.3f, 3.3f, 4.9f, 3.0f, 6.4f, 3.2f}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(d.targets, (std::vector<float>{0, 1, 2, 0, 1}));
}

TEST(DataCsv, ClassIdsDoNotDependOnRowOrder) {
  TempDir dir;
  const Dataset a = load_text(dir, "a.csv", "1,dog\n2,cat\n3,dog\n");
  const Dataset b = load_text(dir, "b.csv", "1,cat\n2,dog\n");
  EXPECT_EQ(a.class_names, b.class_names);
  EXPECT_EQ(a.targets, (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(b.targets, (std::vector<float>{0, 1}));
}

TEST(DataCsv, NoHeaderNumericLabelsAreClassIds) {
  TempDir dir;
  const Dataset d = load_text(dir, "n.csv", "0.5,1,2\n-1e-3,+4,0\n7,8,2\n");
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.features, (std::vector<float>{0.5f, 1, -1e-3f, 4, 7, 8}));
  EXPECT_EQ(d.targets, (std::vector<float>{2, 0, 2}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"0", "1", "2"}));
}

TEST(DataCsv, HeaderWithNumericFeatureNames) {
  TempDir dir;
  const Dataset d = load_text(dir, "h.csv", "1,2,label\n0.1,0.2,1\n0.3,0.4,0\n");
  EXPECT_EQ(d.size(), 2);
  EXPECT_EQ(d.num_classes, 2);
}

TEST(DataCsv, FractionalLabelsAreRegression) {
  TempDir dir;
  const Dataset d = load_text(dir, "r.csv", "x,y\n1,0.5\n2,1.5\n3,-2\n");
  EXPECT_EQ(d.num_classes, 0);
  EXPECT_TRUE(d.class_names.empty());
  EXPECT_EQ(d.targets, (std::vector<float>{0.5f, 1.5f, -2.0f}));
}

TEST(DataCsv, LabelByNameAndByIndex) {
  TempDir dir;
  const std::string text = "species,a,b\ncat,1,2\ndog,3,4\n";
  const Dataset by_name = load_text(dir, "l.csv", text, "species");
  EXPECT_EQ(by_name.features, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(by_name.targets, (std::vector<float>{0, 1}));
  const Dataset by_index = load_text(dir, "l.csv", text, "0");
  EXPECT_EQ(by_index.features, by_name.features);
  EXPECT_EQ(by_index.targets, by_name.targets);

  const Dataset middle = load_text(dir, "m.csv", "1,7,2\n3,8,4\n", "1");
  EXPECT_EQ(middle.features, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(middle.targets, (std::vector<float>{7, 8}));
}

TEST(DataCsv, QuotedFields) {
  TempDir dir;
  const Dataset d = load_text(dir, "q.csv",
                              "\"width, cm\",\"height\",kind\n"
                              "1,\"2\",\"big, \"\"red\"\"\"\n"
                              "3,4,\"two\nlines\"\n"
                              "5,6,plain\n");
  EXPECT_EQ(d.features, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"big, \"red\"", "plain", "two\nlines"}));
  // The quoted line break counts: the record after it starts on line 5.
  expect_input_error([&] { load_text(dir, "q2.csv", "a,b,c\n1,2,\"x\ny\"\n1,2,w\nz,2,w\n"); },
                     {"q2.csv: row 5, column 'a': 'z' is not a number"});
  expect_input_error([&] { load_text(dir, "q3.csv", "a,b\n1,\"open\n"); },
                     {"q3.csv: row 2", "not closed"});
}

TEST(DataCsv, NormalisationUsesTrainStatistics) {
  TempDir dir;
  std::string text = "x,y,label\n";
  for (int i = 0; i < 20; ++i)
    text +=
        std::to_string(i) + "," + std::to_string(1000 + 3 * i) + "," + std::to_string(i % 2) + "\n";
  write_text(dir / "s.csv", text);
  DatasetSpec spec;
  spec.kind = "csv";
  spec.path = dir / "s.csv";
  spec.validation_fraction = 0.25;
  spec.seed = 3;
  const DatasetSplit split = load_dataset(spec);
  ASSERT_EQ(split.train.size(), 15);
  ASSERT_EQ(split.validation.size(), 5);
  ASSERT_EQ(split.feature_mean.size(), 2u);

  // The train split is standardised exactly...
  for (int j = 0; j < 2; ++j) {
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < 15; ++i) sum += split.train.features[std::size_t(2 * i + j)];
    for (std::int64_t i = 0; i < 15; ++i) {
      const double d = split.train.features[std::size_t(2 * i + j)] - sum / 15;
      sq += d * d;
    }
    EXPECT_NEAR(sum / 15, 0.0, 1e-5);
    EXPECT_NEAR(std::sqrt(sq / 15), 1.0, 1e-5);
  }
  // ...and validation with the train statistics: undoing them gives the raw
  // rows, for which y = 1000 + 3x.
  for (std::int64_t i = 0; i < 5; ++i) {
    const double x = split.validation.features[std::size_t(2 * i)] * split.feature_std[0] +
                     split.feature_mean[0];
    const double y = split.validation.features[std::size_t(2 * i + 1)] * split.feature_std[1] +
                     split.feature_mean[1];
    EXPECT_NEAR(y, 1000 + 3 * x, 1e-3);
    EXPECT_NEAR(x, std::round(x), 1e-4);
  }
  // The mean is the train rows' mean, not the whole file's (9.5).
  double train_mean = 0;
  const DatasetSplit raw = split_dataset(load_csv(dir / "s.csv", ""), 0.25, 3);
  for (std::int64_t i = 0; i < 15; ++i) train_mean += raw.train.features[std::size_t(2 * i)] / 15;
  EXPECT_NEAR(split.feature_mean[0], train_mean, 1e-4);
  EXPECT_NE(train_mean, 9.5);

  spec.normalize = false;
  EXPECT_TRUE(load_dataset(spec).feature_mean.empty());
}

TEST(DataCsv, RaggedRow) {
  TempDir dir;
  std::string text = "a,b,c,d,label\n";
  for (int r = 2; r <= 16; ++r) text += "1,2,3,4,x\n";
  text += "1,2,3,x\n";  // line 17
  expect_input_error([&] { load_text(dir, "iris.csv", text); },
                     {"iris.csv: row 17 has 4 fields, expected 5"});
}

TEST(DataCsv, NonNumericFeature) {
  TempDir dir;
  std::string text = "sepal_length,sepal_width,species\n";
  for (int r = 2; r <= 8; ++r) text += "1,2,setosa\n";
  text += "5.0,abc,setosa\n";  // line 9
  expect_input_error([&] { load_text(dir, "iris.csv", text); },
                     {"iris.csv: row 9, column 'sepal_width': 'abc' is not a number"});
  expect_input_error([&] { load_text(dir, "e.csv", "a,b\n1,0\n,1\n"); },
                     {"e.csv: row 3, column 'a': empty cell"});
  expect_input_error([&] { load_text(dir, "nh.csv", "1,2,0\n1,zz,1\n"); },
                     {"nh.csv: row 2, column 1: 'zz' is not a number"});
}

TEST(DataCsv, NonFiniteFeature) {
  TempDir dir;
  expect_input_error([&] { load_text(dir, "f.csv", "x,y\n1,0\nnan,1\n"); },
                     {"f.csv: row 3, column 'x': value is not finite (nan)"});
  expect_input_error([&] { load_text(dir, "g.csv", "x,y\n-inf,0\n"); },
                     {"g.csv: row 2, column 'x': value is not finite (-inf)"});
  expect_input_error([&] { load_text(dir, "h.csv", "x,y\n1e39,0\n"); },
                     {"h.csv: row 2, column 'x'", "too large for fp32"});
}

TEST(DataCsv, MissingLabelColumnListsColumns) {
  TempDir dir;
  expect_input_error([&] { load_text(dir, "iris.csv", "a,b,species\n1,2,x\n", "specis"); },
                     {"iris.csv: no column named 'specis' (columns: a, b, species)"});
  expect_input_error([&] { load_text(dir, "nh.csv", "1,2,3\n", "species"); },
                     {"nh.csv", "no header row"});
  expect_input_error([&] { load_text(dir, "ix.csv", "1,2,3\n", "3"); },
                     {"ix.csv", "label_column 3 is out of range", "3 columns"});
}

TEST(DataCsv, EmptyFileAndNoDataRows) {
  TempDir dir;
  expect_input_error([&] { load_text(dir, "empty.csv", ""); }, {"empty.csv: empty file"});
  expect_input_error([&] { load_text(dir, "blank.csv", "\n\r\n  \n"); }, {"blank.csv: empty file"});
  expect_input_error([&] { load_text(dir, "head.csv", "a,b,label\n"); },
                     {"head.csv: no data rows"});
  expect_input_error([&] { load_text(dir, "one.csv", "1\n2\n"); },
                     {"one.csv: row 1", "at least 2 columns"});
}

TEST(DataCsv, EmptyLabel) {
  TempDir dir;
  expect_input_error([&] { load_text(dir, "l.csv", "a,label\n1,x\n2, \n"); },
                     {"l.csv: row 3, column 'label': label is empty"});
}

}  // namespace
}  // namespace mantissa
