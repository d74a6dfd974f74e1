// Text as bytes (windows for next-token prediction, split by position or by
// a second file), the built-in corpus, and CSV with a separate validation file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mantissa/data.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using test_data::TempDir;
using test_data::write_text;

std::string message_of(const std::function<void()>& f) {
  return test_data::input_error_message(f);
}

DatasetSpec text_spec(const std::filesystem::path& path, std::int64_t context, double fraction) {
  DatasetSpec s;
  s.kind = "text";
  s.path = path;
  s.context = context;
  s.validation_fraction = fraction;
  return s;
}

TEST(TextData, WindowsPredictTheNextByte) {
  TempDir dir;
  write_text(dir / "t.txt", "abcdefghij");  // 10 bytes
  const DatasetSplit s = load_dataset(text_spec(dir / "t.txt", 4, 0.0));
  const Dataset& d = s.train;
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(d.target_dim, 4);
  EXPECT_EQ(d.num_classes, 256);
  EXPECT_EQ(d.class_names[size_t('a')], "a");
  EXPECT_EQ(d.class_names[size_t(' ')], "space");
  EXPECT_EQ(d.class_names[size_t('\n')], "\\n");
  // Windows every 4 bytes while a next byte exists: "abcd"->"bcde", "efgh"->"fghi".
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.features, (std::vector<float>{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}));
  EXPECT_EQ(d.targets, (std::vector<float>{'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'}));
  EXPECT_EQ(s.validation.size(), 0);
}

TEST(TextData, ValidationIsTheTextsLastPart) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 100; ++i) text.push_back(char('A' + i % 26));
  write_text(dir / "t.txt", text);
  const DatasetSplit s = load_dataset(text_spec(dir / "t.txt", 9, 0.2));
  // 80 bytes train (8 windows of 9 need 73), the last 20 validate (2 windows).
  EXPECT_EQ(s.train.size(), (80 - 1) / 9);
  EXPECT_EQ(s.validation.size(), (20 - 1) / 9);
  EXPECT_EQ(s.validation.features[0], float(text[80]));
}

TEST(TextData, ShortTextsAndMissingFilesAreNamed) {
  TempDir dir;
  write_text(dir / "short.txt", "hello");
  EXPECT_THAT(message_of([&] { load_dataset(text_spec(dir / "short.txt", 64, 0.0)); }),
              AllOf(HasSubstr("short.txt"), HasSubstr("5 bytes"),
                    HasSubstr("shorter than one window of 65")));
  // Enough to train on, but its validation part is too short.
  write_text(dir / "mid.txt", std::string(100, 'x'));
  EXPECT_THAT(message_of([&] { load_dataset(text_spec(dir / "mid.txt", 16, 0.1)); }),
              AllOf(HasSubstr("mid.txt (its validation part, the last 10 bytes)"),
                    HasSubstr("shorter than one window")));
  EXPECT_THAT(message_of([&] { load_dataset(text_spec(dir / "none.txt", 16, 0.1)); }),
              HasSubstr("none.txt"));
  write_text(dir / "empty.txt", "");
  EXPECT_THAT(message_of([&] { load_dataset(text_spec(dir / "empty.txt", 16, 0.1)); }),
              HasSubstr("empty.txt: the text file is empty"));
}

TEST(TextData, SeparateValidationFile) {
  TempDir dir;
  write_text(dir / "train.txt", std::string(50, 'a'));
  write_text(dir / "valid.txt", std::string(20, 'b'));
  DatasetSpec spec = text_spec(dir / "train.txt", 8, 0.2);
  spec.validation_path = dir / "valid.txt";
  const DatasetSplit s = load_dataset(spec);
  EXPECT_EQ(s.train.size(), 49 / 8);
  EXPECT_EQ(s.validation.size(), 19 / 8);
  EXPECT_EQ(s.validation.features[0], float('b'));
  const DatasetShape shape = peek_dataset(spec);
  EXPECT_EQ(shape.sample_shape, (std::vector<std::int64_t>{8}));
  EXPECT_EQ(shape.vocabulary, 256);
}

TEST(TextData, ProjectFilesRoundTripTextAndValidationFiles) {
  const std::string text = R"({
    "format": "mantissa-project", "version": 1, "name": "t",
    "dataset": {"kind": "text", "path": "corpus.txt", "validation_path": "held-out.txt", "context": 32},
    "model": {"nodes": [
      {"id": "in", "type": "Input", "params": {"shape": [32], "tokens": true}},
      {"id": "embed", "type": "Embedding", "inputs": ["in"], "params": {"vocab": 256, "width": 8}},
      {"id": "head", "type": "Linear", "inputs": ["embed"], "params": {"out_features": 256}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]},
    "training": {"steps": 1}})";
  const Project p = parse_project(text, "/tmp/x/t.json");
  EXPECT_EQ(p.dataset.context, 32);
  EXPECT_EQ(p.dataset.validation_path, std::filesystem::path("/tmp/x/held-out.txt"));
  const Project back = parse_project(project_to_json(p), "/tmp/x/t.json");
  EXPECT_EQ(back.dataset.validation_path, p.dataset.validation_path);
  EXPECT_EQ(back.dataset.context, 32);
  EXPECT_TRUE(back.model.layers[0].tokens);
  EXPECT_THAT(project_to_json(p), HasSubstr("\"tokens\": true"));

  std::string both = text;
  both.replace(both.find("\"context\": 32"), 13, "\"context\": 32, \"validation_fraction\": 0.1");
  EXPECT_THAT(message_of([&] { parse_project(both, "t.json"); }),
              AllOf(HasSubstr("/dataset/validation_fraction"), HasSubstr("not both")));
}

TEST(TextData, TokenIdsOutsideTheVocabularyAreNamed) {
  Dataset d;
  d.name = "ids.csv";
  d.sample_shape = {3};
  d.features = {1, 2, 3, 4, 300, 5};
  d.targets = {0, 0};
  ModelSpec m;
  LayerSpec e;
  e.id = "embed";
  e.kind = LayerKind::Embedding;
  e.vocab = 256;
  m.layers.push_back(e);
  EXPECT_THAT(message_of([&] { check_token_ids(d, m); }),
              AllOf(HasSubstr("ids.csv"), HasSubstr("sample 1"), HasSubstr("holds 300"),
                    HasSubstr("position 1"), HasSubstr("layer 'embed'"), HasSubstr("0 to 255")));
  d.features[4] = 2.5f;
  EXPECT_THAT(message_of([&] { check_token_ids(d, m); }), HasSubstr("holds 2.5"));
  d.features[4] = 7;
  EXPECT_NO_THROW(check_token_ids(d, m));
}

// The built-in corpus, as scripts/fetch-fortunes.sh writes it (test.sh runs it first).
TEST(FortunesData, BuiltInCorpusSplitsByPosition) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(data_dir() / "text" / "fortunes.txt", ec))
    GTEST_SKIP() << "no built-in text at " << (data_dir() / "text").string()
                 << ": run scripts/fetch-fortunes.sh";
  DatasetSpec s;
  s.kind = "fortunes";
  s.context = 64;
  s.validation_fraction = 0.05;
  const DatasetSplit split = load_dataset(s);
  EXPECT_EQ(split.train.name, "fortunes");
  EXPECT_GT(split.train.size(), 30000);  // about 2.5 MB of text
  EXPECT_GT(split.validation.size(), 1500);
  EXPECT_EQ(split.train.sample_shape, (std::vector<std::int64_t>{64}));
  EXPECT_EQ(peek_dataset(s).vocabulary, 256);
}

TEST(CsvValidationFile, ClassNamesAreNumberedAsInTheTrainingFile) {
  TempDir dir;
  write_text(dir / "train.csv", "x,y,label\n1,2,cat\n3,4,dog\n5,6,eel\n");
  write_text(dir / "test.csv", "x,y,label\n7,8,eel\n9,10,cat\n");
  DatasetSpec s;
  s.kind = "csv";
  s.path = dir / "train.csv";
  s.validation_path = dir / "test.csv";
  s.normalize = false;
  const DatasetSplit split = load_dataset(s);
  EXPECT_EQ(split.train.size(), 3);
  ASSERT_EQ(split.validation.size(), 2);
  // In test.csv alone "cat" would be 0 and "eel" 1; here they are train.csv's 2 and 0.
  EXPECT_EQ(split.validation.targets, (std::vector<float>{2, 0}));
  EXPECT_EQ(split.validation.class_names, split.train.class_names);

  write_text(dir / "bad.csv", "x,y,label\n7,8,fox\n");
  s.validation_path = dir / "bad.csv";
  EXPECT_THAT(message_of([&] { load_dataset(s); }),
              AllOf(HasSubstr("bad.csv"), HasSubstr("class 'fox'"), HasSubstr("train.csv")));
  write_text(dir / "wide.csv", "x,y,z,label\n7,8,9,cat\n");
  s.validation_path = dir / "wide.csv";
  EXPECT_THAT(message_of([&] { load_dataset(s); }),
              AllOf(HasSubstr("wide.csv"), HasSubstr("3 feature columns"), HasSubstr("has 2")));
}

}  // namespace
}  // namespace mantissa
