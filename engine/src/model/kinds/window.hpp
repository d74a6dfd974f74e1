#pragma once
// What Conv2d and the two pools share: the sliding window's parameters, its
// output size and its ONNX attributes.
#include <string>
#include <vector>

#include "io/onnx_emitter.hpp"
#include "model/kinds/layer_rules.hpp"

namespace mantissa::detail {

ParamSchema conv_stride_param();  // default 1
ParamSchema pool_stride_param();  // default: the kernel size

// Kernel, stride and padding in range; throws otherwise.
void check_window(const ShapeContext& c);
// Output size along one axis; the kernel must fit in the padded input.
std::int64_t window_out(const ShapeContext& c, const Shape& in, std::int64_t size, int kernel,
                        int stride, int pad);

// The pools' rules: stride defaults to the kernel, padding at most half of it,
// output [C, H', W'], one FLOP per window element read.
void pool_after_read(ObjectReader& params, LayerSpec& layer);
void pool_infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info);
// A pool's descriptor: kernel, stride and padding, a 2×2 / stride 2 starter.
LayerDescriptor pool_descriptor(std::string_view name, std::string_view help,
                                const LayerRules* rules);

std::vector<io::OnnxAttr> window_attrs(const LayerSpec& s);  // kernel_shape, strides, pads
std::string kernel_text(const LayerSpec& s);                 // "3×3"

}  // namespace mantissa::detail
