// Inputs the fuzz harnesses (tests/fuzz/) found, each refused now with one
// InputError that names the file and the field instead of crashing, wrapping
// around or throwing a foreign exception.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "mantissa/error.hpp"
#include "mantissa/model.hpp"

namespace mantissa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr const char* kFile = "fuzz.json";

std::string project_with_nodes(const std::string& nodes) {
  return R"({"format": "mantissa-project", "version": 1, "dataset": {"kind": "mnist"},)"
         R"( "model": {"nodes": )" +
         nodes + "}}";
}

// The message parse_project throws for `text`, or a test failure if it accepts it.
std::string project_error(const std::string& text) {
  try {
    parse_project(text, kFile);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

// A number beyond double's range made nlohmann::json throw out_of_range (406),
// which is not a parse_error and escaped the reader.
TEST(ProjectReaderRegressions, NumberOverflowIsInputError) {
  EXPECT_THAT(project_error(R"({"format": "mantissa-project", "version": 1e400})"),
              AllOf(HasSubstr(kFile), HasSubstr("line 1, column 43"), HasSubstr("not valid JSON"),
                    HasSubstr("1e400")));
}

// A float parameter given as a double outside fp32 was converted with float(),
// which is undefined behaviour (UBSan float-cast-overflow).
TEST(ProjectReaderRegressions, FloatParametersMustFitFp32) {
  const std::string slope = project_with_nodes(R"([
    {"id": "in", "type": "Input", "params": {"shape": [4]}},
    {"id": "act", "type": "LeakyReLU", "inputs": ["in"], "params": {"negative_slope": 1e300}},
    {"id": "loss", "type": "MSE", "inputs": ["act"]}])");
  EXPECT_THAT(project_error(slope),
              AllOf(HasSubstr(kFile), HasSubstr("/model/nodes/1"), HasSubstr("negative_slope")));
  const std::string eps = project_with_nodes(R"([
    {"id": "in", "type": "Input", "params": {"shape": [4]}},
    {"id": "ln", "type": "LayerNorm", "inputs": ["in"], "params": {"eps": 1e-300}},
    {"id": "loss", "type": "MSE", "inputs": ["ln"]}])");
  EXPECT_THAT(project_error(eps),
              AllOf(HasSubstr(kFile), HasSubstr("layer 'ln'"), HasSubstr("eps")));
}

// Parameter counts of a wide Linear over a huge input overflowed int64.
TEST(ProjectReaderRegressions, ParameterCountOverflowIsRefused) {
  const std::string wide = project_with_nodes(R"([
    {"id": "in", "type": "Input", "params": {"shape": [1024, 1024, 1024]}},
    {"id": "flat", "type": "Flatten", "inputs": ["in"]},
    {"id": "fc", "type": "Linear", "inputs": ["flat"], "params": {"out_features": 2147483647}},
    {"id": "fc2", "type": "Linear", "inputs": ["fc"], "params": {"out_features": 2147483647}},
    {"id": "loss", "type": "MSE", "inputs": ["fc2"]}])");
  EXPECT_THAT(project_error(wide), AllOf(HasSubstr(kFile), HasSubstr("too large")));
}

// Pool padding of more than 2^30 overflowed int in the "at most half the
// kernel" check.
TEST(ProjectReaderRegressions, HugePoolPaddingIsRefused) {
  const std::string pad = project_with_nodes(R"([
    {"id": "in", "type": "Input", "params": {"shape": [1, 8, 8]}},
    {"id": "pool", "type": "MaxPool2d", "inputs": ["in"],
     "params": {"kernel": 2, "padding": 2000000000}},
    {"id": "flat", "type": "Flatten", "inputs": ["pool"]},
    {"id": "loss", "type": "MSE", "inputs": ["flat"]}])");
  EXPECT_THAT(project_error(pad), AllOf(HasSubstr(kFile), HasSubstr("padding")));
}

}  // namespace
}  // namespace mantissa
