#include "model/kinds/window.hpp"

#include "model/json_reader.hpp"
#include "model/kinds/param_schemas.hpp"

namespace mantissa::detail {

ParamSchema conv_stride_param() {
  return {.key = "stride",
          .field = IntPairField{&LayerSpec::stride_h, &LayerSpec::stride_w},
          .default_value = 1,
          .range = sizes_from(1),
          .help = "step between windows: one integer or [height, width]"};
}

ParamSchema pool_stride_param() {
  ParamSchema p = conv_stride_param();
  p.default_note = "the kernel size";
  return p;
}

void check_window(const ShapeContext& c) {
  const LayerSpec& l = c.layer;
  if (l.kernel_h < 1 || l.kernel_w < 1 || l.stride_h < 1 || l.stride_w < 1 || l.pad_h < 0 ||
      l.pad_w < 0)
    c.fail("kernel and stride must be >= 1 and padding >= 0");
}

std::int64_t window_out(const ShapeContext& c, const Shape& in, std::int64_t size, int kernel,
                        int stride, int pad) {
  std::int64_t padded = size + 2 * std::int64_t(pad);
  if (kernel > padded) {
    const auto& l = c.layer;
    c.fail("kernel " + hw(l.kernel_h, l.kernel_w) + " is larger than the padded input " +
           hw(in[1] + 2 * std::int64_t(l.pad_h), in[2] + 2 * std::int64_t(l.pad_w)) + " (input " +
           in.str() + c.from(0) + ", padding " + hw(l.pad_h, l.pad_w) + ")");
  }
  return (padded - kernel) / stride + 1;
}

void pool_after_read(ObjectReader& r, LayerSpec& l) {
  if (!r.find("stride")) l.stride_h = l.kernel_h, l.stride_w = l.kernel_w;
  // Padding past half the window would make windows of padding only.
  if (2 * std::int64_t(l.pad_h) > l.kernel_h || 2 * std::int64_t(l.pad_w) > l.kernel_w)
    r.fail("padding", "padding " + std::to_string(l.pad_h) + "×" + std::to_string(l.pad_w) +
                          " must be at most half the kernel " + std::to_string(l.kernel_h) + "×" +
                          std::to_string(l.kernel_w));
}

void pool_infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  need_rank(c, x, 3, "a [channels, height, width] input");
  check_window(c);
  std::int64_t oh = window_out(c, x, x[1], l.kernel_h, l.stride_h, l.pad_h);
  std::int64_t ow = window_out(c, x, x[2], l.kernel_w, l.stride_w, l.pad_w);
  info.output_shape = Shape{x[0], oh, ow};
  info.forward_flops = mul(c, mul(c, out_numel(c, info.output_shape), l.kernel_h), l.kernel_w);
}

std::vector<io::OnnxAttr> window_attrs(const LayerSpec& s) {
  return {{"kernel_shape", std::vector<std::int64_t>{s.kernel_h, s.kernel_w}},
          {"strides", std::vector<std::int64_t>{s.stride_h, s.stride_w}},
          {"pads", std::vector<std::int64_t>{s.pad_h, s.pad_w, s.pad_h, s.pad_w}}};
}

std::string kernel_text(const LayerSpec& s) {
  return std::to_string(s.kernel_h) + "×" + std::to_string(s.kernel_w);
}

LayerDescriptor pool_descriptor(std::string_view name, std::string_view help,
                                const LayerRules* rules) {
  LayerDescriptor d{.name = name,
                    .category = "Pooling",
                    .help = help,
                    .params = {kernel_param(), pool_stride_param(), padding_param()},
                    .rules = rules};
  d.starter.kernel_h = d.starter.kernel_w = 2;
  d.starter.stride_h = d.starter.stride_w = 2;
  return d;
}

}  // namespace mantissa::detail
