// Sigmoid: 1 / (1 + e^-x), elementwise.
#include "model/kinds/activation.hpp"

namespace mantissa::detail {

namespace {

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("Sigmoid", {e.input(spec, 0)}, out);
}

constexpr LayerRules kRules{.infer = same_shape_elementwise,
                            .output_dtype = input_dtype_rule,
                            .build = build_activation<Activation::Sigmoid>,
                            .onnx = onnx,
                            .keeps = Keeps::Output};

}  // namespace

template <>
struct KindDefinition<LayerKind::Sigmoid> {
  static LayerDescriptor make() {
    return {.name = "Sigmoid",
            .category = "Activation",
            .help = "1 / (1 + e^-x), elementwise",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Sigmoid>();

}  // namespace mantissa::detail
