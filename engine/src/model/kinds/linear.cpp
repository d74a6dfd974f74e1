// Linear: y = x Wᵀ + b over the last axis of [features] or [T, features].
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  need_features_or_sequence(c, x);
  if (l.out_features <= 0) c.fail("out_features must be >= 1");
  const std::int64_t in_features = x[x.rank() - 1];
  std::vector<std::int64_t> out = x.dims();
  out.back() = l.out_features;
  info.output_shape = Shape(out);
  info.params = add_counts(c, mul(c, in_features, l.out_features), l.bias ? l.out_features : 0);
  info.weight_params = in_features * l.out_features;
  info.forward_flops = mul(c, 2, mul(c, x.numel(), l.out_features));
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Linear>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const DType d = e.dtype(spec);
  if (e.input_shape(spec, 0).rank() > 1)  // [T, F]: MatMul over the last axis
    return io::emit_matmul_last_axis(e, e.input(spec, 0), e.weight(spec.id + ".weight", d),
                                     spec.bias ? e.weight(spec.id + ".bias", d) : "", out);
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
                            .summary = summary, .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::Linear> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "Linear",
                      .category = "Dense",
                      .help = "fully connected: every output a weighted sum of all inputs (per position of [T, F])",
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
