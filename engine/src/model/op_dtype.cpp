// The autocast rule of PRECISION.md ("Policies", op classes): which dtype each
// layer emits under a policy. Trainer, memory estimates and the studio's shape
// labels all ask here, so they cannot disagree; each kind's own rule is in its
// descriptor (kinds/).
#include "mantissa/model.hpp"
#include "model/kinds/layer_rules.hpp"

namespace mantissa {

DType layer_output_dtype(const LayerSpec& layer, Policy policy, const std::vector<DType>& inputs) {
  if (layer.pin_fp32) return DType::F32;
  return detail::rules(layer.kind).output_dtype(layer, policy, inputs);
}

}  // namespace mantissa
