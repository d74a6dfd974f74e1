// Input: the model's per-sample data, [features] or [channels, height, width].
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>&, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  if (l.shape.size() != 1 && l.shape.size() != 3)
    c.fail("shape must be [features] or [channels, height, width]");
  std::int64_t numel = 1;
  for (auto d : l.shape) {
    if (d <= 0) c.fail("shape dimensions must be positive");
    // Checked per factor so the product itself cannot overflow.
    if (d > kMaxElements / numel) c.fail("shape " + Shape(l.shape).str() + " is too large");
    numel *= d;
  }
  info.output_shape = Shape(l.shape);
}

// Data arrives as fp32; only the pure 16-bit policies store it narrower.
DType output_dtype(const LayerSpec&, Policy policy, const std::vector<DType>&) {
  if (policy == Policy::Float16) return DType::F16;
  if (policy == Policy::BFloat16) return DType::BF16;
  return DType::F32;
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Input>(spec);
}

std::string summary(const LayerSpec& l) {
  std::string s;
  for (std::size_t i = 0; i < l.shape.size(); ++i) s += (i ? "×" : "") + std::to_string(l.shape[i]);
  return s;
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = output_dtype, .build = build, .summary = summary};

}  // namespace

template <>
struct KindDefinition<LayerKind::Input> {
  static LayerDescriptor make() {
    LayerDescriptor d{
        .name = "Input",
        .category = "Input",
        .help = "the model's input: one sample of the dataset",
        .inputs = Arity::None,
        .params = {{.key = "shape",
                    .field = &LayerSpec::shape,
                    .required = true,
                    .range = sizes_from(1),
                    .help = "per-sample shape: [features] or [channels, height, width]"}},
        .rules = &kRules};
    d.starter.shape = {784};
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Input>();

}  // namespace mantissa::detail
