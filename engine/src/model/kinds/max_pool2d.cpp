// MaxPool2d: the largest value of each window.
#include "model/kinds/kind_file.hpp"
#include "model/kinds/window.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Pool2d>(spec, PoolKind::Max, false);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  e.node("MaxPool", {e.input(spec, 0)}, out, window_attrs(spec));
}

// The index of each window's maximum, a byte per output value (the CPU
// backend's workspace; cuDNN keeps none).
std::int64_t kept_extra(const LayerSpec&, const LayerInfo& info, DType) {
  return info.output_shape.numel();
}

constexpr LayerRules kRules{.after_read = pool_after_read,
                            .infer = pool_infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .summary = kernel_text,
                            .keeps = Keeps::InputsAndOutput,
                            .kept_extra = kept_extra};

}  // namespace

template <>
struct KindDefinition<LayerKind::MaxPool2d> {
  static LayerDescriptor make() {
    return pool_descriptor("MaxPool2d", "the largest value of each window, per channel", &kRules);
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::MaxPool2d>();

}  // namespace mantissa::detail
