// Shape inference and per-layer costs (parameters, forward FLOPs, activation
// bytes). Shapes are per sample: [features] or [channels, height, width].
//
// FLOP convention (docs/project-format.md): Linear and Conv2d count 2 per
// multiply-add, bias not counted; pools count one per window element read;
// GlobalAvgPool and losses one per input element; Input and Flatten 0;
// everything else one per output element.
#include <array>
#include <string>
#include <unordered_map>

#include "model/model_internal.hpp"

namespace mantissa {

namespace {

using detail::node_pointer;
using detail::throw_project_error;

// Far beyond any sample that fits in memory; keeps every size below in int64.
constexpr std::int64_t kMaxElements = std::int64_t(1) << 40;

struct Ctx {
  const std::filesystem::path& file;
  std::string pointer;
  const LayerSpec& layer;
  const std::vector<std::string>& input_ids;

  [[noreturn]] void fail(const std::string& what) const {
    throw_project_error(file, pointer, layer.id, what);
  }
  std::string kind() const { return std::string(layer_kind_name(layer.kind)); }
  std::string from(std::size_t k) const { return " from '" + input_ids[k] + "'"; }
};

// Parameter and FLOP counts of absurd layers would overflow int64; such a
// model is refused with a message instead of wrapping around.
std::int64_t mul(const Ctx& c, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    c.fail(c.kind() + " is too large: its parameter or FLOP count overflows 64 bits");
  return r;
}

std::int64_t add_counts(const Ctx& c, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    c.fail("the model is too large: its parameter or FLOP count overflows 64 bits");
  return r;
}

// Elements per sample of a layer's output, at most kMaxElements.
std::int64_t out_numel(const Ctx& c, const Shape& shape) {
  std::int64_t n = 1;
  for (std::size_t a = 0; a < shape.rank(); ++a) {
    if (shape[a] > kMaxElements / n)
      c.fail("output shape " + shape.str() + " is too large (more than 2^40 values per sample)");
    n *= shape[a];
  }
  return n;
}

std::string hw(std::int64_t h, std::int64_t w) {
  return std::to_string(h) + "×" + std::to_string(w);
}

void need_rank(const Ctx& c, const Shape& in, std::size_t rank, const std::string& what,
               const std::string& hint = {}) {
  if (in.rank() == rank) return;
  c.fail(c.kind() + " needs " + what + ", got " + in.str() + c.from(0) + hint);
}

// Output size of a sliding window; the kernel must fit in the padded input.
std::int64_t window_out(const Ctx& c, const Shape& in, std::int64_t size, int kernel, int stride,
                        int pad) {
  std::int64_t padded = size + 2 * std::int64_t(pad);
  if (kernel > padded) {
    const auto& l = c.layer;
    c.fail("kernel " + hw(l.kernel_h, l.kernel_w) + " is larger than the padded input " +
           hw(in[1] + 2 * std::int64_t(l.pad_h), in[2] + 2 * std::int64_t(l.pad_w)) + " (input " +
           in.str() + c.from(0) + ", padding " + hw(l.pad_h, l.pad_w) + ")");
  }
  return (padded - kernel) / stride + 1;
}

void infer(const Ctx& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in.empty() ? info.output_shape : in[0];
  switch (l.kind) {
    case LayerKind::Input: {
      if (l.shape.size() != 1 && l.shape.size() != 3)
        c.fail("shape must be [features] or [channels, height, width]");
      std::int64_t numel = 1;
      for (auto d : l.shape) {
        if (d <= 0) c.fail("shape dimensions must be positive");
        // Checked per factor so the product itself cannot overflow.
        if (d > kMaxElements / numel) c.fail("shape " + Shape(l.shape).str() + " is too large");
        numel *= d;
      }
      info.output_shape = Shape(l.shape);
      return;
    }
    case LayerKind::Linear: {
      need_rank(c, x, 1, "a rank-1 input (features)",
                x.rank() > 1 ? "; insert a Flatten layer before it" : "");
      if (l.out_features <= 0) c.fail("out_features must be >= 1");
      info.output_shape = Shape{l.out_features};
      info.params = add_counts(c, mul(c, x[0], l.out_features), l.bias ? l.out_features : 0);
      info.forward_flops = mul(c, 2, mul(c, x[0], l.out_features));
      return;
    }
    case LayerKind::Conv2d: {
      need_rank(c, x, 3, "a [channels, height, width] input");
      if (l.out_channels <= 0) c.fail("out_channels must be >= 1");
      if (l.kernel_h < 1 || l.kernel_w < 1 || l.stride_h < 1 || l.stride_w < 1 || l.pad_h < 0 ||
          l.pad_w < 0)
        c.fail("kernel and stride must be >= 1 and padding >= 0");
      std::int64_t oh = window_out(c, x, x[1], l.kernel_h, l.stride_h, l.pad_h);
      std::int64_t ow = window_out(c, x, x[2], l.kernel_w, l.stride_w, l.pad_w);
      std::int64_t window = mul(c, mul(c, x[0], l.kernel_h), l.kernel_w);
      info.output_shape = Shape{l.out_channels, oh, ow};
      info.params = add_counts(c, mul(c, l.out_channels, window), l.bias ? l.out_channels : 0);
      info.forward_flops = mul(c, mul(c, 2, window), out_numel(c, info.output_shape));
      return;
    }
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d: {
      need_rank(c, x, 3, "a [channels, height, width] input");
      if (l.kernel_h < 1 || l.kernel_w < 1 || l.stride_h < 1 || l.stride_w < 1 || l.pad_h < 0 ||
          l.pad_w < 0)
        c.fail("kernel and stride must be >= 1 and padding >= 0");
      std::int64_t oh = window_out(c, x, x[1], l.kernel_h, l.stride_h, l.pad_h);
      std::int64_t ow = window_out(c, x, x[2], l.kernel_w, l.stride_w, l.pad_w);
      info.output_shape = Shape{x[0], oh, ow};
      info.forward_flops = mul(c, mul(c, out_numel(c, info.output_shape), l.kernel_h), l.kernel_w);
      return;
    }
    case LayerKind::GlobalAvgPool:
      need_rank(c, x, 3, "a [channels, height, width] input");
      info.output_shape = Shape{x[0]};
      info.forward_flops = x.numel();
      return;
    case LayerKind::Flatten:
      info.output_shape = Shape{x.numel()};
      return;
    case LayerKind::BatchNorm:
      if (x.rank() != 1 && x.rank() != 3)
        c.fail("BatchNorm needs a [features] or [channels, height, width] input, got " + x.str() +
               c.from(0));
      info.output_shape = x;
      info.params = 2 * x[0];
      break;
    case LayerKind::LayerNorm:
      need_rank(c, x, 1, "a rank-1 input (features)",
                x.rank() > 1 ? "; insert a Flatten layer before it" : "");
      info.output_shape = x;
      info.params = 2 * x[0];
      break;
    case LayerKind::Add:
      for (std::size_t k = 1; k < in.size(); ++k)
        if (in[k] != in[0])
          c.fail("input shapes " + in[0].str() + " and " + in[k].str() + " differ ('" +
                 c.input_ids[0] + "' and '" + c.input_ids[k] + "'); Add needs identical shapes");
      info.output_shape = x;
      break;
    case LayerKind::Concat: {
      std::vector<std::int64_t> dims = x.dims();
      for (std::size_t k = 1; k < in.size(); ++k) {
        bool same_rest = in[k].rank() == x.rank();
        for (std::size_t a = 1; same_rest && a < x.rank(); ++a) same_rest = in[k][a] == x[a];
        if (!same_rest)
          c.fail("input shapes " + x.str() + " and " + in[k].str() + " ('" + c.input_ids[0] +
                 "' and '" + c.input_ids[k] +
                 "') cannot be concatenated: all dimensions but the first must match");
        dims[0] = add_counts(c, dims[0], in[k][0]);
      }
      info.output_shape = Shape(std::move(dims));
      break;
    }
    case LayerKind::SoftmaxCrossEntropy:
      need_rank(c, x, 1, "a rank-1 input (one score per class)",
                x.rank() > 1 ? "; insert Flatten and a Linear layer before it" : "");
      if (x[0] < 2) c.fail("needs at least 2 classes, got " + x.str() + c.from(0));
      info.output_shape = Shape{};
      info.forward_flops = x.numel();
      return;
    case LayerKind::MSE:
      info.output_shape = Shape{};
      info.forward_flops = x.numel();
      return;
    case LayerKind::Dropout:
      if (!(l.p >= 0.0f && l.p < 1.0f)) c.fail("p must be in [0, 1)");
      info.output_shape = x;
      break;
    case LayerKind::ReLU:
    case LayerKind::LeakyReLU:
    case LayerKind::GELU:
    case LayerKind::Tanh:
    case LayerKind::Sigmoid:
      info.output_shape = x;
      break;
  }
  info.forward_flops = out_numel(c, info.output_shape);
}

}  // namespace

ModelSummary analyze_model(const ModelSpec& model, const std::filesystem::path& file) {
  detail::validate_graph(model, file);

  std::unordered_map<std::string, std::size_t> file_index;  // for error pointers
  for (std::size_t i = 0; i < model.layers.size(); ++i) file_index.emplace(model.layers[i].id, i);

  ModelSummary s;
  std::unordered_map<std::string, std::size_t> done;  // id -> position in s.layers
  for (const LayerSpec* l : topological_order(model)) {
    LayerInfo info;
    info.id = l->id;
    info.kind = l->kind;
    std::vector<std::array<DType, 3>> in_dtypes;
    for (const auto& in : l->inputs) {
      const LayerInfo& producer = s.layers[done.at(in)];
      info.input_shapes.push_back(producer.output_shape);
      in_dtypes.push_back(producer.output_dtype);
    }
    Ctx ctx{file, node_pointer(file_index.at(l->id)), *l, l->inputs};
    infer(ctx, info.input_shapes, info);

    for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p) {
      std::vector<DType> inputs;
      for (const auto& d : in_dtypes) inputs.push_back(d[p]);
      info.output_dtype[p] = layer_output_dtype(*l, kSummaryPolicies[p], inputs);
      info.activation_bytes[p] =
          info.output_shape.numel() * std::int64_t(dtype_size(info.output_dtype[p]));
      s.total_activation_bytes[p] += info.activation_bytes[p];
    }
    s.total_params = add_counts(ctx, s.total_params, info.params);
    s.total_forward_flops = add_counts(ctx, s.total_forward_flops, info.forward_flops);
    if (is_loss(l->kind)) {
      s.loss_id = l->id;
      s.output_id = l->inputs.front();
    }
    done.emplace(l->id, s.layers.size());
    s.layers.push_back(std::move(info));
  }
  return s;
}

}  // namespace mantissa
