// Softmax: probabilities over the last axis, computed and emitted in fp32.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  same_shape_elementwise(c, in, info);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Softmax>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("Softmax", {e.input(spec, 0)}, out, {{"axis", std::int64_t(-1)}});
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = fp32_rule,
                            .build = build,
                            .onnx = onnx,
                            .keeps = Keeps::Output};

}  // namespace

template <>
struct KindDefinition<LayerKind::Softmax> {
  static LayerDescriptor make() {
    return {.name = "Softmax",
            .category = "Activation",
            .help = "probabilities over the last axis, in fp32",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Softmax>();

}  // namespace mantissa::detail
