// ReLU: max(x, 0), elementwise.
#include "model/kinds/activation.hpp"

namespace mantissa::detail {

namespace {

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("Relu", {e.input(spec, 0)}, out);
}

constexpr LayerRules kRules{.infer = same_shape_elementwise,
                            .output_dtype = input_dtype_rule,
                            .build = build_activation<Activation::Relu>,
                            .onnx = onnx,
                            .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::ReLU> {
  static LayerDescriptor make() {
    return {.name = "ReLU",
            .category = "Activation",
            .help = "max(x, 0), elementwise",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::ReLU>();

}  // namespace mantissa::detail
