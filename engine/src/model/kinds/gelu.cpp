// GELU: x · Φ(x), the exact (erf) form.
#include <cmath>

#include "model/kinds/activation.hpp"

namespace mantissa::detail {

namespace {

// Opset 17 has no Gelu (it arrives in 20): 0.5 · x · (1 + erf(x / √2)).
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const std::string& id = spec.id;
  const DType d = e.dtype(spec);
  const std::string x = e.input(spec, 0);
  e.node("Div", {x, e.scalar(id + ".sqrt2", float(std::sqrt(2.0)), d)}, id + ".scaled");
  e.node("Erf", {id + ".scaled"}, id + ".erf");
  e.node("Add", {id + ".erf", e.scalar(id + ".one", 1.0f, d)}, id + ".erf_plus_1");
  e.node("Mul", {x, id + ".erf_plus_1"}, id + ".x_erf_plus_1");
  e.node("Mul", {id + ".x_erf_plus_1", e.scalar(id + ".half", 0.5f, d)}, out);
}

constexpr LayerRules kRules{.infer = same_shape_elementwise,
                            .output_dtype = input_dtype_rule,
                            .build = build_activation<Activation::Gelu>,
                            .onnx = onnx,
                            .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::GELU> {
  static LayerDescriptor make() {
    return {.name = "GELU",
            .category = "Activation",
            .help = "x · Φ(x) with Φ the standard normal CDF, elementwise",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::GELU>();

}  // namespace mantissa::detail
