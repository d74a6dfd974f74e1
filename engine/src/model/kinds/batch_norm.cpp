// BatchNorm: normalises each channel over the batch (and H × W), with
// running statistics for inference and a learned scale and shift.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const Shape& x = in[0];
  if (x.rank() != 1 && x.rank() != 3)
    c.fail("BatchNorm needs a [features] or [channels, height, width] input, got " + x.str() +
           c.from(0));
  info.params = 2 * x[0];
  same_shape_elementwise(c, in, info);
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::BatchNorm>(spec);
}

// Statistics and affine parameters are fp32; a 16-bit activation is
// normalised in fp32 and rounded back, as the engine does.
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const std::string& id = spec.id;
  const DType d = e.dtype(spec);
  const std::string x =
      d == DType::F32 ? e.input(spec, 0) : e.cast_to(e.input(spec, 0), DType::F32);
  const std::string y = d == DType::F32 ? out : id + ".f32";
  e.node("BatchNormalization",
         {x, e.weight(id + ".weight", DType::F32), e.weight(id + ".bias", DType::F32),
          e.weight(id + ".running_mean", DType::F32), e.weight(id + ".running_var", DType::F32)},
         y,
         // ONNX's momentum weights the old running value (PyTorch's weights the new one).
         {{"epsilon", spec.eps}, {"momentum", 1.0f - spec.momentum}});
  if (d != DType::F32) e.node("Cast", {y}, out, {io::cast_to_attr(d)});
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::BatchNorm> {
  static LayerDescriptor make() {
    return {.name = "BatchNorm",
            .category = "Normalise",
            .help = "normalises each channel over the batch; [F] or [C, H, W]",
            .params = {eps_param(),
                       {.key = "momentum",
                        .field = &LayerSpec::momentum,
                        .default_value = 0.1,
                        .range = ValueRange::unit_closed(),
                        .help = "weight of the new batch in the running statistics"}},
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::BatchNorm>();

}  // namespace mantissa::detail
