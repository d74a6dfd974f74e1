// PositionalEmbedding: adds a learned vector per position to [T, C].
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  need_rank(c, in[0], 2, "a sequence [positions, channels]");
  if (l.max_length <= 0) c.fail("max_length must be >= 1");
  if (in[0][0] > l.max_length)
    c.fail("the sequence has " + std::to_string(in[0][0]) + " positions" + c.from(0) +
           " but the table has rows for " + std::to_string(l.max_length) +
           "; raise max_length to at least " + std::to_string(in[0][0]));
  info.params = mul(c, l.max_length, in[0][1]);
  same_shape_elementwise(c, in, info);
}

// The first T rows of the table, added to every sample.
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const std::int64_t positions = e.input_shape(spec, 0)[0];
  const std::string rows = out + ".rows";
  e.node("Slice",
         {e.weight(spec.id + ".weight", e.dtype(spec)), e.ints(out + ".starts", {0}),
          e.ints(out + ".ends", {positions}), e.ints(out + ".axes", {0})},
         rows);
  e.node("Add", {e.input(spec, 0), rows}, out);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::PositionalEmbedding>(spec);
}

std::string summary(const LayerSpec& l) {
  return "≤" + std::to_string(l.max_length);
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = input_dtype_rule, .build = build, .onnx = onnx,
    .summary = summary, .passes_gradient = true};

}  // namespace

template <>
struct KindDefinition<LayerKind::PositionalEmbedding> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "PositionalEmbedding",
                      .category = "Sequence",
                      .help = "adds a learned vector per position to [T, C] (T up to max_length)",
                      .params = {{.key = "max_length",
                                  .field = &LayerSpec::max_length,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "the longest sequence it has a row for"}},
                      .rules = &kRules};
    d.starter.max_length = 64;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::PositionalEmbedding>();

}  // namespace mantissa::detail
