// Add: the elementwise sum of two or more inputs of one shape (residual
// connections).
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  for (std::size_t k = 1; k < in.size(); ++k)
    if (in[k] != in[0])
      c.fail("input shapes " + in[0].str() + " and " + in[k].str() + " differ ('" + c.input_ids[0] +
             "' and '" + c.input_ids[k] + "'); Add needs identical shapes");
  same_shape_elementwise(c, in, info);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Add>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  std::string sum = e.input(spec, 0);
  for (std::size_t k = 1; k < spec.inputs.size(); ++k) {
    const std::string next =
        k + 1 == spec.inputs.size() ? out : spec.id + ".sum" + std::to_string(k);
    e.node("Add", {sum, e.input(spec, k)}, next);
    sum = next;
  }
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .passes_gradient = true};

}  // namespace

template <>
struct KindDefinition<LayerKind::Add> {
  static LayerDescriptor make() {
    return {.name = "Add",
            .category = "Structure",
            .help = "the elementwise sum of two or more inputs of identical shape",
            .inputs = Arity::Many,
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Add>();

}  // namespace mantissa::detail
