// Tanh: hyperbolic tangent, elementwise.
#include "model/kinds/activation.hpp"

namespace mantissa::detail {

namespace {

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("Tanh", {e.input(spec, 0)}, out);
}

constexpr LayerRules kRules{.infer = same_shape_elementwise,
                            .output_dtype = input_dtype_rule,
                            .build = build_activation<Activation::Tanh>,
                            .onnx = onnx,
                            .keeps = Keeps::Output};

}  // namespace

template <>
struct KindDefinition<LayerKind::Tanh> {
  static LayerDescriptor make() {
    return {.name = "Tanh",
            .category = "Activation",
            .help = "hyperbolic tangent, elementwise",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Tanh>();

}  // namespace mantissa::detail
