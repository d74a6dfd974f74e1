// LeakyReLU: x for x > 0, negative_slope · x otherwise.
#include <cstdio>

#include "model/kinds/activation.hpp"

namespace mantissa::detail {

namespace {

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("LeakyRelu", {e.input(spec, 0)}, out, {{"alpha", spec.negative_slope}});
}

std::string summary(const LayerSpec& l) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", double(l.negative_slope));
  return buf;
}

constexpr LayerRules kRules{.infer = same_shape_elementwise,
                            .output_dtype = input_dtype_rule,
                            .build = build_activation<Activation::LeakyRelu>,
                            .onnx = onnx,
                            .summary = summary,
                            .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::LeakyReLU> {
  static LayerDescriptor make() {
    return {.name = "LeakyReLU",
            .category = "Activation",
            .help = "x for x > 0, negative_slope · x otherwise, elementwise",
            .params = {{.key = "negative_slope",
                        .field = &LayerSpec::negative_slope,
                        .default_value = 0.01,
                        .range = ValueRange::fp32(),
                        .help = "the slope for negative inputs"}},
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::LeakyReLU>();

}  // namespace mantissa::detail
