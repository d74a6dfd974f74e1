// MSE: the mean squared error against targets of the prediction's shape.
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext&, const std::vector<Shape>& in, LayerInfo& info) {
  info.output_shape = Shape{};
  info.forward_flops = in[0].numel();
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::MeanSquaredError>(spec);
}

// The step's fp32 targets, one per prediction, held while it runs.
std::int64_t kept_extra(const LayerSpec&, const LayerInfo& info, DType) {
  return info.input_shapes.at(0).numel() * std::int64_t(sizeof(float));
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = fp32_rule, .build = build, .kept_extra = kept_extra};

}  // namespace

template <>
struct KindDefinition<LayerKind::MSE> {
  static LayerDescriptor make() {
    return {.name = "MSE",
            .category = "Loss",
            .help = "regression loss: mean squared error against targets of the same shape",
            .is_loss = true,
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::MSE>();

}  // namespace mantissa::detail
