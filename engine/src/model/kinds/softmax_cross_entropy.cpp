// SoftmaxCrossEntropy: the classification loss over one score per class,
// against integer labels; over [T, V] logits, one label per position.
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const Shape& x = in[0];
  // [classes], or [T, vocabulary] for a sequence: one label per position.
  if (x.rank() != 1 && x.rank() != 2)
    c.fail("expects [classes] or [positions, classes] scores, got " + x.str() + c.from(0) +
           "; insert Flatten and a Linear layer before it");
  if (x[x.rank() - 1] < 2) c.fail("needs at least 2 classes, got " + x.str() + c.from(0));
  info.output_shape = Shape{};
  info.forward_flops = x.numel();
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::SoftmaxCrossEntropy>(spec);
}

// The step's labels, one fp32 class id per position, held while it runs.
std::int64_t kept_extra(const LayerSpec&, const LayerInfo& info, DType) {
  const Shape& scores = info.input_shapes.at(0);
  return scores.numel() / scores[scores.rank() - 1] * std::int64_t(sizeof(float));
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = fp32_rule, .build = build, .kept_extra = kept_extra};

}  // namespace

template <>
struct KindDefinition<LayerKind::SoftmaxCrossEntropy> {
  static LayerDescriptor make() {
    return {.name = "SoftmaxCrossEntropy",
            .category = "Loss",
            .help = "classification loss: softmax over [classes] scores against the label, or "
                    "over [T, vocabulary] against one token per position (mean over tokens)",
            .is_loss = true,
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::SoftmaxCrossEntropy>();

}  // namespace mantissa::detail
