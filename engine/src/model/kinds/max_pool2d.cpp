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

constexpr LayerRules kRules{.after_read = pool_after_read,
                            .infer = pool_infer,
                            .output_dtype = input_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .summary = kernel_text};

}  // namespace

template <>
struct KindDefinition<LayerKind::MaxPool2d> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "MaxPool2d",
                      .category = "Pooling",
                      .help = "the largest value of each window, per channel",
                      .params = {kernel_param(), pool_stride_param(), padding_param()},
                      .rules = &kRules};
    d.starter.kernel_h = d.starter.kernel_w = 2;
    d.starter.stride_h = d.starter.stride_w = 2;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::MaxPool2d>();

}  // namespace mantissa::detail
