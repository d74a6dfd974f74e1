// Embedding: token ids [T] -> rows of a learned (vocab, width) table, [T, width].
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  need_rank(c, in[0], 1, "token ids [positions]");
  if (l.vocab <= 0) c.fail("vocab must be >= 1");
  if (l.width <= 0) c.fail("width must be >= 1");
  info.output_shape = Shape{in[0][0], l.width};
  info.params = mul(c, l.vocab, l.width);
  info.weight_params = info.params;
  out_numel(c, info.output_shape);
}

// PRECISION.md: the table is an fp32 master; under the mixed policies the
// lookup emits fp32 (autocast's rule), under the pure ones the 16-bit type.
DType output_dtype(const LayerSpec&, Policy policy, const std::vector<DType>&) {
  if (policy == Policy::Float16) return DType::F16;
  if (policy == Policy::BFloat16) return DType::BF16;
  return DType::F32;
}

// The ids arrive as float (the model's input is float32) and are cast to
// int64 for Gather; the table is stored in the layer's dtype.
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const std::string ids = out + ".ids";
  e.node("Cast", {e.input(spec, 0)}, ids, {{"to", io::kOnnxInt64}});
  e.node("Gather", {e.weight(spec.id + ".weight", e.dtype(spec)), ids}, out,
         {{"axis", std::int64_t(0)}});
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Embedding>(spec);
}

std::string summary(const LayerSpec& l) {
  return std::to_string(l.vocab) + "→" + std::to_string(l.width);
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = output_dtype,
                            .build = build,
                            .onnx = onnx,
                            .summary = summary,
                            .token_input = true,
                            .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::Embedding> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "Embedding",
                      .category = "Sequence",
                      .help = "looks up a learned vector per token id: [T] ids to [T, width]",
                      .params = {{.key = "vocab",
                                  .field = &LayerSpec::vocab,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "number of token ids (256 for bytes)"},
                                 {.key = "width",
                                  .field = &LayerSpec::width,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "channels per token"}},
                      .rules = &kRules};
    d.starter.vocab = 256;
    d.starter.width = 128;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Embedding>();

}  // namespace mantissa::detail
