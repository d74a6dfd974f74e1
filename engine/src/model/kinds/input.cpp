// Input: the model's per-sample data, [features] or [channels, height, width].
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>&, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  if (l.tokens && l.shape.size() != 1) c.fail("token ids have the shape [positions]");
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
// Token ids never: bf16 holds integers exactly only up to 256.
DType output_dtype(const LayerSpec& l, Policy policy, const std::vector<DType>&) {
  if (l.tokens) return DType::F32;
  if (policy == Policy::Float16) return DType::F16;
  if (policy == Policy::BFloat16) return DType::BF16;
  return DType::F32;
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Input>(spec);
}

std::string summary(const LayerSpec& l) {
  std::string s = l.tokens ? "tokens " : "";
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
                    .help = "per-sample shape: [features], [channels, height, width], or "
                            "[positions] of token ids"},
                   {.key = "tokens",
                    .field = &LayerSpec::tokens,
                    .default_value = 0,
                    .help = "the sample is token ids (text), kept exact under every policy",
                    .omitted_at_default = true}},
        .rules = &kRules};
    d.starter.shape = {784};
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Input>();

}  // namespace mantissa::detail
