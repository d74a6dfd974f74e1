// The autocast rule of PRECISION.md ("Policies", op classes): which dtype each
// layer emits under a policy. Trainer, memory estimates and the studio's shape
// labels all ask here, so they cannot disagree.
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"

namespace mantissa {

DType layer_output_dtype(const LayerSpec& layer, Policy policy, const std::vector<DType>& inputs) {
  if (layer.pin_fp32) return DType::F32;
  switch (layer.kind) {
    case LayerKind::Input:
      // Data arrives as fp32; only the pure 16-bit policies store it narrower.
      if (policy == Policy::Float16) return DType::F16;
      if (policy == Policy::BFloat16) return DType::BF16;
      return DType::F32;
    case LayerKind::Linear:
    case LayerKind::Conv2d:
      return compute_dtype(policy);
    case LayerKind::LayerNorm:
    case LayerKind::SoftmaxCrossEntropy:
    case LayerKind::MSE:
      return DType::F32;
    default:
      break;
  }
  // Everything else (batch norm included) runs in its input dtype; inputs of
  // different dtypes promote to fp32.
  MANTISSA_ASSERT(!inputs.empty(), "layer '" + layer.id + "' has no input dtypes");
  for (DType d : inputs)
    if (d != inputs.front()) return DType::F32;
  return inputs.front();
}

}  // namespace mantissa
