// Conv2d: 2-D convolution over a [channels, height, width] input.
#include "model/kinds/kind_file.hpp"
#include "model/kinds/window.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  need_rank(c, x, 3, "a [channels, height, width] input");
  if (l.out_channels <= 0) c.fail("out_channels must be >= 1");
  check_window(c);
  std::int64_t oh = window_out(c, x, x[1], l.kernel_h, l.stride_h, l.pad_h);
  std::int64_t ow = window_out(c, x, x[2], l.kernel_w, l.stride_w, l.pad_w);
  std::int64_t window = mul(c, mul(c, x[0], l.kernel_h), l.kernel_w);
  info.output_shape = Shape{l.out_channels, oh, ow};
  info.params = add_counts(c, mul(c, l.out_channels, window), l.bias ? l.out_channels : 0);
  info.weight_params = l.out_channels * window;
  info.forward_flops = mul(c, mul(c, 2, window), out_numel(c, info.output_shape));
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::Conv2d>(spec);
}

void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const DType d = e.dtype(spec);
  std::vector<std::string> in{e.input(spec, 0), e.weight(spec.id + ".weight", d)};
  if (spec.bias) in.push_back(e.weight(spec.id + ".bias", d));
  e.node("Conv", in, out, window_attrs(spec));
}

std::string summary(const LayerSpec& l) {
  return std::to_string(l.out_channels) + ", " + kernel_text(l);
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = compute_dtype_rule,
                            .build = build,
                            .onnx = onnx,
                            .summary = summary,
                            .keeps = Keeps::Inputs};

}  // namespace

template <>
struct KindDefinition<LayerKind::Conv2d> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "Conv2d",
                      .category = "Convolution",
                      .help = "2-D convolution of a [channels, height, width] input",
                      .params = {{.key = "out_channels",
                                  .field = &LayerSpec::out_channels,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "number of output channels (filters)"},
                                 kernel_param(),
                                 conv_stride_param(),
                                 padding_param(),
                                 bias_param(),
                                 init_param()},
                      .rules = &kRules};
    d.starter.out_channels = 16;
    d.starter.kernel_h = d.starter.kernel_w = 3;
    d.starter.pad_h = d.starter.pad_w = 1;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::Conv2d>();

}  // namespace mantissa::detail
