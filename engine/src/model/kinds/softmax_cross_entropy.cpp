// SoftmaxCrossEntropy: the classification loss over one score per class,
// against integer labels.
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const Shape& x = in[0];
  need_rank(c, x, 1, "a rank-1 input (one score per class)",
            x.rank() > 1 ? "; insert Flatten and a Linear layer before it" : "");
  if (x[0] < 2) c.fail("needs at least 2 classes, got " + x.str() + c.from(0));
  info.output_shape = Shape{};
  info.forward_flops = x.numel();
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::SoftmaxCrossEntropy>(spec);
}

constexpr LayerRules kRules{.infer = infer, .output_dtype = fp32_rule, .build = build};

}  // namespace

template <>
struct KindDefinition<LayerKind::SoftmaxCrossEntropy> {
  static LayerDescriptor make() {
    return {.name = "SoftmaxCrossEntropy",
            .category = "Loss",
            .help = "classification loss: softmax over [classes] scores against the label",
            .is_loss = true,
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::SoftmaxCrossEntropy>();

}  // namespace mantissa::detail
