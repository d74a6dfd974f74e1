// AvgPool2d: the mean of each window, padding not counted.
#include "model/kinds/kind_file.hpp"
#include "model/kinds/window.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Pool2d>(spec, PoolKind::Avg, false);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  auto attrs = window_attrs(spec);
  attrs.push_back({"count_include_pad", std::int64_t(0)});
  e.node("AveragePool", {e.input(spec, 0)}, out, attrs);
}

constexpr LayerRules kRules{.after_read = pool_after_read,
                            .infer = pool_infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .summary = kernel_text,
                            .keeps = Keeps::InputsAndOutput};

}  // namespace

template <>
struct KindDefinition<LayerKind::AvgPool2d> {
  static LayerDescriptor make() {
    return pool_descriptor("AvgPool2d",
                           "the mean of each window, per channel (padding not counted)", &kRules);
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::AvgPool2d>();

}  // namespace mantissa::detail
