// GlobalAvgPool: the mean over the whole height × width, per channel.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const Shape& x = in[0];
  need_rank(c, x, 3, "a [channels, height, width] input");
  info.output_shape = Shape{x[0]};
  info.forward_flops = x.numel();
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Pool2d>(spec, PoolKind::Avg, true);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const std::string pooled = spec.id + ".pooled";  // (N, C, 1, 1)
  e.node("GlobalAveragePool", {e.input(spec, 0)}, pooled);
  e.node("Flatten", {pooled}, out, {{"axis", std::int64_t(1)}});
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .keeps = Keeps::InputsAndOutput};

}  // namespace

template <>
struct KindDefinition<LayerKind::GlobalAvgPool> {
  static LayerDescriptor make() {
    return {.name = "GlobalAvgPool",
            .category = "Pooling",
            .help = "the mean over all of height × width: [C, H, W] to [C]",
            .rules = &kRules};
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::GlobalAvgPool>();

}  // namespace mantissa::detail
