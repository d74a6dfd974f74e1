// GroupNorm: normalises each sample over groups of channels, in fp32.
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  if (x.rank() < 2)
    c.fail("GroupNorm needs channels first, [C, H, W] or [C, L], got " + x.str() + c.from(0));
  if (l.groups <= 0) c.fail("groups must be >= 1");
  if (x[0] % l.groups != 0)
    c.fail(std::to_string(l.groups) + " groups do not divide the " + std::to_string(x[0]) +
           " channels" + c.from(0));
  info.params = 2 * x[0];
  same_shape_elementwise(c, in, info);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::GroupNorm>(spec);
}

std::string summary(const LayerSpec& l) {
  return std::to_string(l.groups) + " groups";
}

// No ONNX form: opset 17 has no group normalisation (GroupNormalization came
// in opset 18), and the exporter says so.
constexpr LayerRules kRules{
    .infer = infer, .output_dtype = fp32_rule, .build = build, .summary = summary};

}  // namespace

template <>
struct KindDefinition<LayerKind::GroupNorm> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "GroupNorm",
                      .category = "Normalise",
                      .help = "normalises each sample over groups of channels, in fp32; [C, ...]",
                      .params = {{.key = "groups",
                                  .field = &LayerSpec::groups,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "channel groups; must divide the channels"},
                                 eps_param()},
                      .rules = &kRules};
    d.starter.groups = 8;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::GroupNorm>();

}  // namespace mantissa::detail
