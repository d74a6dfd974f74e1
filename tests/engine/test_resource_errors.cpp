// Resources a run cannot have are named before anything is allocated: the
// layer, the bytes asked for and the bytes available.
#include <gtest/gtest.h>

#include "engine/train_fixtures.hpp"
#include "mantissa/error.hpp"
#include "mantissa/units.hpp"
#include "train/memory_fit.hpp"

namespace mantissa {
namespace {

using testing::spirals_project;

std::string refusal(const Project& p) {
  auto backend = create_backend("cpu");
  try {
    Trainer t(p, *backend);
  } catch (const OutOfMemoryError& e) {
    return e.what();
  }
  return "(it fit)";
}

TEST(ResourceErrors, AModelThatCannotFitNamesItsHeaviestLayerAndTheBytes) {
  Project p = spirals_project(Policy::MixedFloat16, 3);
  p.model.layers[1].out_features = 2000000000;  // fc1: 2 inputs, 2e9 outputs
  const std::string m = refusal(p);
  EXPECT_NE(m.find("the model does not fit: its weights, gradients and optimizer state need "),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("is available on cpu; layer 'fc1' alone holds 6000000000 parameters"),
            std::string::npos)
      << m;
}

TEST(ResourceErrors, ABatchThatCannotFitNamesTheWidestLayer) {
  Project p = spirals_project(Policy::Float32, 3);
  p.model.layers[1].out_features = 10000000;  // 40 MB of activations per sample, 30M parameters
  p.training.batch_size = 200;
  const std::string m = refusal(p);
  EXPECT_NE(m.find("a batch of 200 does not fit: its activations need "), std::string::npos) << m;
  EXPECT_NE(m.find("layer 'fc1' outputs "), std::string::npos) << m;
  EXPECT_NE(m.find("(lower batch_size, or raise virtual_ranks)"), std::string::npos) << m;
}

TEST(ResourceErrors, BytesAreWrittenForPeople) {
  EXPECT_EQ(bytes_text(512), "512 B");
  EXPECT_EQ(bytes_text(1536), "1.5 KiB");
  EXPECT_EQ(bytes_text(3.0 * 1024 * 1024 * 1024 * 1024), "3.0 TiB");
  EXPECT_EQ(bytes_text(-2048), "-2.0 KiB");
}

// Loss scales read as their plots label them: powers of two as 2^k (never
// 1.67772e+07 for 2^24), small ones and other whole numbers in full.
TEST(ResourceErrors, WaitsAreWrittenInSeconds) {
  using namespace std::chrono_literals;
  EXPECT_EQ(seconds_text(30000ms), "30 s");
  EXPECT_EQ(seconds_text(200ms), "0.2 s");
  EXPECT_EQ(seconds_text(1500ms), "1.5 s");
}

TEST(ResourceErrors, LossScalesAreWrittenAsPowersOfTwo) {
  EXPECT_EQ(loss_scale_text(16777216.0), "2^24");
  EXPECT_EQ(loss_scale_text(8388608.0), "2^23");
  EXPECT_EQ(loss_scale_text(65536.0), "2^16");
  EXPECT_EQ(loss_scale_text(1024.0), "1024");
  EXPECT_EQ(loss_scale_text(1.0), "1");
  EXPECT_EQ(loss_scale_text(0.5), "2^-1");
  EXPECT_EQ(loss_scale_text(0x1p127), "2^127");
  EXPECT_EQ(loss_scale_text(3000.0), "3000");
  EXPECT_EQ(loss_scale_text(0.3), "0.3");
}

}  // namespace
}  // namespace mantissa
