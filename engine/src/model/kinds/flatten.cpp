// Flatten: any per-sample shape to [product of dims].
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext&, const std::vector<Shape>& in, LayerInfo& info) {
  info.output_shape = Shape{in[0].numel()};
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Flatten>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("Flatten", {e.input(spec, 0)}, out, {{"axis", std::int64_t(1)}});
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .keeps = Keeps::View,
                            .passes_gradient = true};

}  // namespace

template <>
struct KindDefinition<LayerKind::Flatten> {
  static LayerDescriptor make() {
    return {.name = "Flatten",
            .category = "Structure",
            .help = "reshapes each sample to one axis, e.g. between a convolution and a Linear",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Flatten>();

}  // namespace mantissa::detail
