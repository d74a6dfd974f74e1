// LayerNorm: normalises each sample over its features, in fp32.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const Shape& x = in[0];
  need_features_or_sequence(c, x);
  info.params = 2 * x[x.rank() - 1];
  same_shape_elementwise(c, in, info);
}

// The fp32 mean and 1/σ of each row.
std::int64_t kept_extra(const LayerSpec&, const LayerInfo& info, DType) {
  const Shape& s = info.output_shape;
  return 2 * std::int64_t(sizeof(float)) * (s.numel() / s[s.rank() - 1]);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::LayerNorm>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const DType d = e.dtype(spec);
  e.node("LayerNormalization",
         {e.input(spec, 0), e.weight(spec.id + ".weight", d), e.weight(spec.id + ".bias", d)}, out,
         {{"axis", std::int64_t(-1)}, {"epsilon", spec.eps}});
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = fp32_rule,
                            .build = build,
                            .onnx = onnx,
                            .keeps = Keeps::Inputs,
                            .kept_extra = kept_extra};

}  // namespace

template <>
struct KindDefinition<LayerKind::LayerNorm> {
  static LayerDescriptor make() {
    return {.name = "LayerNorm",
            .category = "Normalise",
            .help = "normalises each sample (each position of [T, F]) over its features, in fp32",
            .params = {eps_param()},
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::LayerNorm>();

}  // namespace mantissa::detail
