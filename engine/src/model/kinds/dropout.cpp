// Dropout: zeroes each element with probability p while training (scaling the
// rest by 1 / (1 - p)); the identity in inference.
#include <cstdio>

#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  if (!(c.layer.p >= 0.0f && c.layer.p < 1.0f)) c.fail("p must be in [0, 1)");
  same_shape_elementwise(c, in, info);
}

// Its mask while training, in its dtype (none at p = 0: the input passes).
std::int64_t kept_extra(const LayerSpec& l, const LayerInfo& info, DType d) {
  return l.p > 0.0f ? info.output_shape.numel() * std::int64_t(dtype_size(d)) : 0;
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Dropout>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("Identity", {e.input(spec, 0)}, out);
}

std::string summary(const LayerSpec& l) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "p=%g", double(l.p));
  return buf;
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .summary = summary,
                            .kept_extra = kept_extra};

}  // namespace

template <>
struct KindDefinition<LayerKind::Dropout> {
  static LayerDescriptor make() {
    return {.name = "Dropout",
            .category = "Structure",
            .help = "zeroes random elements while training; passes everything in inference",
            .params = {{.key = "p",
                        .field = &LayerSpec::p,
                        .default_value = 0.5,
                        .range = ValueRange::unit_half_open(),
                        .help = "the probability of zeroing an element"}},
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Dropout>();

}  // namespace mantissa::detail
