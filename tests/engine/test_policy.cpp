// The policy table of PRECISION.md, names and their errors.
#include <gtest/gtest.h>

#include <string>

#include "mantissa/error.hpp"
#include "mantissa/precision.hpp"

namespace mantissa {
namespace {

struct PolicyRow {
  Policy policy;
  const char* name;
  DType compute;
  DType master;
  bool mixed;
  LossScaleMode default_scaling;
};

// PRECISION.md "Policies", row by row.
constexpr PolicyRow kTable[] = {
    {Policy::Float32, "float32", DType::F32, DType::F32, false, LossScaleMode::None},
    {Policy::MixedFloat16, "mixed_float16", DType::F16, DType::F32, true, LossScaleMode::Dynamic},
    {Policy::MixedBFloat16, "mixed_bfloat16", DType::BF16, DType::F32, true, LossScaleMode::None},
    {Policy::Float16, "float16", DType::F16, DType::F16, false, LossScaleMode::Dynamic},
    {Policy::BFloat16, "bfloat16", DType::BF16, DType::BF16, false, LossScaleMode::None},
};

constexpr LossScaleMode kModes[] = {LossScaleMode::None, LossScaleMode::Fixed,
                                    LossScaleMode::Dynamic};

// The message of the InputError that f throws, or a failure if it throws none.
template <class F>
std::string input_error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError thrown";
  return {};
}

TEST(Policy, TableOfPrecisionMd) {
  for (const PolicyRow& row : kTable) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(policy_name(row.policy), row.name);
    EXPECT_EQ(compute_dtype(row.policy), row.compute);
    EXPECT_EQ(master_dtype(row.policy), row.master);
    EXPECT_EQ(is_mixed(row.policy), row.mixed);
    EXPECT_EQ(effective_mode(row.policy, LossScaleConfig{}), row.default_scaling);
  }
}

TEST(Policy, ExplicitLossScaleModeOverridesTheDefault) {
  for (const PolicyRow& row : kTable) {
    for (const LossScaleMode m : kModes) {
      LossScaleConfig c;
      c.mode = m;
      EXPECT_EQ(effective_mode(row.policy, c), m) << row.name;
    }
  }
}

TEST(Policy, ScalerDefaultsAreGradScalers) {
  const LossScaleConfig c;
  EXPECT_FALSE(c.mode.has_value());
  EXPECT_EQ(c.init_scale, 65536.0);
  EXPECT_EQ(c.growth_factor, 2.0);
  EXPECT_EQ(c.backoff_factor, 0.5);
  EXPECT_EQ(c.growth_interval, 2000);
  EXPECT_FALSE(c.min_scale.has_value());
  EXPECT_FALSE(c.max_scale.has_value());
  EXPECT_FALSE(c.skip_nonfinite);
}

TEST(Policy, NamesRoundTrip) {
  for (const PolicyRow& row : kTable) EXPECT_EQ(parse_policy(policy_name(row.policy)), row.policy);
  for (const LossScaleMode m : kModes) EXPECT_EQ(parse_loss_scale_mode(loss_scale_mode_name(m)), m);
  EXPECT_EQ(loss_scale_mode_name(LossScaleMode::None), "none");
  EXPECT_EQ(loss_scale_mode_name(LossScaleMode::Fixed), "fixed");
  EXPECT_EQ(loss_scale_mode_name(LossScaleMode::Dynamic), "dynamic");
}

TEST(Policy, ShortAliasesNameTheMainPolicies) {
  EXPECT_EQ(parse_policy("fp32"), Policy::Float32);
  EXPECT_EQ(parse_policy("fp16"), Policy::MixedFloat16);
  EXPECT_EQ(parse_policy("bf16"), Policy::MixedBFloat16);
}

TEST(Policy, ParseErrorsNameTheValueAndTheValidNames) {
  for (const char* bad : {"mixed_fp16", "", "Float32", "f16", "float64"}) {
    const std::string msg = input_error_of([&] { parse_policy(bad); });
    EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
    for (const PolicyRow& row : kTable) EXPECT_NE(msg.find(row.name), std::string::npos) << msg;
  }
  for (const char* bad : {"static", "", "Dynamic"}) {
    const std::string msg = input_error_of([&] { parse_loss_scale_mode(bad); });
    EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
    for (const LossScaleMode m : kModes)
      EXPECT_NE(msg.find(loss_scale_mode_name(m)), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace mantissa
