// Linear: y = x Wᵀ + b over a rank-1 input.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  need_rank(c, x, 1, "a rank-1 input (features)",
            x.rank() > 1 ? "; insert a Flatten layer before it" : "");
  if (l.out_features <= 0) c.fail("out_features must be >= 1");
  info.output_shape = Shape{l.out_features};
  info.params = add_counts(c, mul(c, x[0], l.out_features), l.bias ? l.out_features : 0);
  info.forward_flops = mul(c, 2, mul(c, x[0], l.out_features));
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Linear>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const DType d = e.dtype(spec);
  std::vector<std::string> in{e.input(spec, 0), e.weight(spec.id + ".weight", d)};
  if (spec.bias) in.push_back(e.weight(spec.id + ".bias", d));
  e.node("Gemm", in, out, {{"transB", std::int64_t(1)}});
}

std::string summary(const LayerSpec& l) {
  return std::to_string(l.out_features);
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = compute_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .summary = summary};

}  // namespace

template <>
struct KindDefinition<LayerKind::Linear> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "Linear",
                      .category = "Dense",
                      .help = "fully connected: every output a weighted sum of all inputs",
                      .params = {{.key = "out_features",
                                  .field = &LayerSpec::out_features,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "number of outputs"},
                                 bias_param(),
                                 init_param()},
                      .rules = &kRules};
    d.starter.out_features = 64;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Linear>();

}  // namespace mantissa::detail
