// Concat: two or more inputs joined along their first axis (channels or
// features).
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const Shape& x = in[0];
  std::vector<std::int64_t> dims = x.dims();
  for (std::size_t k = 1; k < in.size(); ++k) {
    bool same_rest = in[k].rank() == x.rank();
    for (std::size_t a = 1; same_rest && a < x.rank(); ++a) same_rest = in[k][a] == x[a];
    if (!same_rest)
      c.fail("input shapes " + x.str() + " and " + in[k].str() + " ('" + c.input_ids[0] +
             "' and '" + c.input_ids[k] +
             "') cannot be concatenated: all dimensions but the first must match");
    dims[0] = add_counts(c, dims[0], in[k][0]);
  }
  info.output_shape = Shape(std::move(dims));
  info.forward_flops = out_numel(c, info.output_shape);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Concat>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  std::vector<std::string> in;
  for (std::size_t k = 0; k < spec.inputs.size(); ++k) in.push_back(e.input(spec, k));
  e.node("Concat", in, out, {{"axis", std::int64_t(1)}});
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = input_dtype_rule, .build = build, .onnx = onnx};

}  // namespace

template <>
struct KindDefinition<LayerKind::Concat> {
  static LayerDescriptor make() {
    return {.name = "Concat",
            .category = "Structure",
            .help = "joins two or more inputs along the first axis; the other axes must match",
            .inputs = Arity::Many,
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Concat>();

}  // namespace mantissa::detail
