// Precision policies and loss-scale modes: the tables of PRECISION.md.
#include <string>

#include "mantissa/error.hpp"
#include "mantissa/precision.hpp"

namespace mantissa {

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::Float32:
      return "float32";
    case Policy::MixedFloat16:
      return "mixed_float16";
    case Policy::MixedBFloat16:
      return "mixed_bfloat16";
    case Policy::Float16:
      return "float16";
    case Policy::BFloat16:
      return "bfloat16";
  }
  MANTISSA_ASSERT(false, "unknown Policy value " + std::to_string(static_cast<int>(p)));
}

Policy parse_policy(std::string_view s) {
  if (s == "float32" || s == "fp32") return Policy::Float32;
  // The short 16-bit aliases name the mixed policies: they are what "train in
  // fp16 / bf16" means in PyTorch AMP and Keras; the pure ones must be spelled out.
  if (s == "mixed_float16" || s == "fp16") return Policy::MixedFloat16;
  if (s == "mixed_bfloat16" || s == "bf16") return Policy::MixedBFloat16;
  if (s == "float16") return Policy::Float16;
  if (s == "bfloat16") return Policy::BFloat16;
  throw InputError("unknown precision policy '" + std::string(s) +
                   "' (valid: float32, mixed_float16, mixed_bfloat16, float16, bfloat16; "
                   "aliases fp32, fp16, bf16)");
}

DType compute_dtype(Policy p) {
  switch (p) {
    case Policy::Float32:
      return DType::F32;
    case Policy::MixedFloat16:
    case Policy::Float16:
      return DType::F16;
    case Policy::MixedBFloat16:
    case Policy::BFloat16:
      return DType::BF16;
  }
  MANTISSA_ASSERT(false, "unknown Policy value " + std::to_string(static_cast<int>(p)));
}

DType master_dtype(Policy p) {
  // Only the pure policies keep weights in the 16-bit type.
  switch (p) {
    case Policy::Float16:
      return DType::F16;
    case Policy::BFloat16:
      return DType::BF16;
    case Policy::Float32:
    case Policy::MixedFloat16:
    case Policy::MixedBFloat16:
      return DType::F32;
  }
  MANTISSA_ASSERT(false, "unknown Policy value " + std::to_string(static_cast<int>(p)));
}

bool is_mixed(Policy p) {
  return p == Policy::MixedFloat16 || p == Policy::MixedBFloat16;
}

std::string_view loss_scale_mode_name(LossScaleMode m) {
  switch (m) {
    case LossScaleMode::None:
      return "none";
    case LossScaleMode::Fixed:
      return "fixed";
    case LossScaleMode::Dynamic:
      return "dynamic";
  }
  MANTISSA_ASSERT(false, "unknown LossScaleMode value " + std::to_string(static_cast<int>(m)));
}

LossScaleMode parse_loss_scale_mode(std::string_view s) {
  if (s == "none") return LossScaleMode::None;
  if (s == "fixed") return LossScaleMode::Fixed;
  if (s == "dynamic") return LossScaleMode::Dynamic;
  throw InputError("unknown loss scale mode '" + std::string(s) +
                   "' (valid: none, fixed, dynamic)");
}

LossScaleMode effective_mode(Policy p, const LossScaleConfig& c) {
  if (c.mode) return *c.mode;
  // fp16's narrow exponent range loses small gradients without scaling; bf16
  // and fp32 share fp32's range and need none.
  return compute_dtype(p) == DType::F16 ? LossScaleMode::Dynamic : LossScaleMode::None;
}

}  // namespace mantissa
