// Reshape: the same values under a new per-sample shape.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  if (l.shape.empty()) c.fail("shape must have at least one dimension");
  std::int64_t numel = 1;
  for (auto d : l.shape) {
    if (d <= 0) c.fail("shape dimensions must be positive");
    if (d > kMaxElements / numel) c.fail("shape " + Shape(l.shape).str() + " is too large");
    numel *= d;
  }
  if (numel != in[0].numel())
    c.fail("shape " + Shape(l.shape).str() + " holds " + std::to_string(numel) +
           " values but its input " + in[0].str() + c.from(0) + " has " +
           std::to_string(in[0].numel()));
  info.output_shape = Shape(l.shape);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Reshape>(spec);
}

// A 0 in ONNX's shape keeps the batch dimension.
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  std::vector<std::int64_t> shape{0};
  shape.insert(shape.end(), spec.shape.begin(), spec.shape.end());
  e.node("Reshape", {e.input(spec, 0), e.ints(out + ".shape", shape)}, out);
}

std::string summary(const LayerSpec& l) {
  return Shape(l.shape).str();
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = input_dtype_rule, .build = build, .onnx = onnx,
    .summary = summary, .keeps = Keeps::View, .passes_gradient = true};

}  // namespace

template <>
struct KindDefinition<LayerKind::Reshape> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "Reshape",
                      .category = "Structure",
                      .help = "gives each sample a new shape with as many values",
                      .params = {{.key = "shape",
                                  .field = &LayerSpec::shape,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "the new per-sample shape: [features], [positions, "
                                          "channels] (a sequence, e.g. [16, 49]) or [channels, "
                                          "height, width]",
                                  .sequence_shape = true}},
                      .rules = &kRules};
    d.starter.shape = {784};
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Reshape>();

}  // namespace mantissa::detail
