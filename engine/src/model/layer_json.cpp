// Layer nodes of a project file: {"id", "type", "inputs", "params", "pin_fp32"}.
// Each kind reads exactly its own parameters; anything else in "params" is an
// error that names the layer.
#include <charconv>
#include <limits>

#include "model/model_internal.hpp"
#include "model/project_json.hpp"

namespace mantissa::detail {

namespace {

constexpr std::int64_t kMaxDim = std::numeric_limits<int>::max();

bool valid_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// A kernel / stride / padding value: one integer for both axes or [h, w].
void read_pair(ObjectReader& r, std::string_view key, int& h, int& w, std::int64_t min,
               std::optional<int> def, const std::filesystem::path& file,
               const std::string& layer_id) {
  const Json* v = r.find(key);
  if (!v) {
    if (!def) r.fail(key, "missing required key '" + std::string(key) + "'");
    h = w = *def;
    return;
  }
  std::string pointer = r.pointer_of(key);
  if (v->is_array()) {
    if (v->size() != 2)
      r.fail(key, std::string(key) + " must be one integer or [height, width], got " +
                      describe_json_value(*v));
    h = int(json_to_integer((*v)[0], pointer + "/0", file, layer_id, min, kMaxDim));
    w = int(json_to_integer((*v)[1], pointer + "/1", file, layer_id, min, kMaxDim));
    return;
  }
  if (!v->is_number())
    r.fail(key, std::string(key) + " must be one integer or [height, width], got " +
                    describe_json_value(*v));
  h = w = int(json_to_integer(*v, pointer, file, layer_id, min, kMaxDim));
}

void read_init(ObjectReader& r, LayerSpec& l) {
  const Json* v = r.find("init");
  if (!v) return;
  if (!v->is_string()) r.fail("init", "expected a string, got " + describe_json_value(*v));
  auto name = v->get<std::string>();
  auto init = parse_init(name);
  if (!init) r.fail("init", "unknown init '" + name + "' (" + suggest(name, init_names()) + ")");
  l.init = *init;
}

void read_params(ObjectReader& r, LayerSpec& l, const std::filesystem::path& file) {
  switch (l.kind) {
    case LayerKind::Input: {
      const Json& shape = r.require("shape");
      std::string pointer = r.pointer_of("shape");
      if (!shape.is_array() || (shape.size() != 1 && shape.size() != 3))
        r.fail("shape", "shape must be [features] or [channels, height, width], got " +
                            describe_json_value(shape));
      l.shape.clear();
      for (std::size_t i = 0; i < shape.size(); ++i)
        l.shape.push_back(
            json_to_integer(shape[i], pointer + "/" + std::to_string(i), file, l.id, 1, kMaxDim));
      break;
    }
    case LayerKind::Linear:
      l.out_features = r.required_integer("out_features", 1, kMaxDim);
      l.bias = r.boolean("bias", true);
      read_init(r, l);
      break;
    case LayerKind::Conv2d:
      l.out_channels = r.required_integer("out_channels", 1, kMaxDim);
      read_pair(r, "kernel", l.kernel_h, l.kernel_w, 1, std::nullopt, file, l.id);
      read_pair(r, "stride", l.stride_h, l.stride_w, 1, 1, file, l.id);
      read_pair(r, "padding", l.pad_h, l.pad_w, 0, 0, file, l.id);
      l.bias = r.boolean("bias", true);
      read_init(r, l);
      break;
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
      read_pair(r, "kernel", l.kernel_h, l.kernel_w, 1, std::nullopt, file, l.id);
      read_pair(r, "stride", l.stride_h, l.stride_w, 1, 1, file, l.id);
      if (!r.find("stride")) l.stride_h = l.kernel_h, l.stride_w = l.kernel_w;
      read_pair(r, "padding", l.pad_h, l.pad_w, 0, 0, file, l.id);
      // Padding past half the window would make windows of padding only.
      if (2 * std::int64_t(l.pad_h) > l.kernel_h || 2 * std::int64_t(l.pad_w) > l.kernel_w)
        r.fail("padding", "padding " + std::to_string(l.pad_h) + "×" + std::to_string(l.pad_w) +
                              " must be at most half the kernel " + std::to_string(l.kernel_h) +
                              "×" + std::to_string(l.kernel_w));
      break;
    case LayerKind::LeakyReLU:
      l.negative_slope = float(r.number("negative_slope", 0.01, Range::fp32()));
      break;
    case LayerKind::Dropout:
      l.p = float(r.number("p", 0.5, Range::unit_half_open()));
      break;
    case LayerKind::BatchNorm:
      l.eps = float(r.number("eps", 1e-5, Range::fp32_positive()));
      l.momentum = float(r.number("momentum", 0.1, Range::unit_closed()));
      break;
    case LayerKind::LayerNorm:
      l.eps = float(r.number("eps", 1e-5, Range::fp32_positive()));
      break;
    case LayerKind::GlobalAvgPool:
    case LayerKind::Flatten:
    case LayerKind::ReLU:
    case LayerKind::GELU:
    case LayerKind::Tanh:
    case LayerKind::Sigmoid:
    case LayerKind::Add:
    case LayerKind::Concat:
    case LayerKind::SoftmaxCrossEntropy:
    case LayerKind::MSE:
      break;
  }
  r.finish("for " + std::string(layer_kind_name(l.kind)));
}

}  // namespace

LayerSpec parse_layer(const Json& node, std::size_t index, const std::filesystem::path& file) {
  ObjectReader r(node, node_pointer(index), file);
  LayerSpec l;
  l.id = r.required_string("id");
  if (l.id.empty()) r.fail("id", "layer id must not be empty");
  for (char c : l.id)
    if (!valid_id_char(c))
      r.fail("id", "layer id '" + l.id + "' may only hold letters, digits, '_' and '-'");
  r.set_layer(l.id);

  std::string type = r.required_string("type");
  auto kind = parse_layer_kind(type);
  if (!kind)
    r.fail("type", "unknown layer type '" + type + "' (" + suggest(type, layer_kind_names()) + ")");
  l.kind = *kind;

  if (const Json* inputs = r.find("inputs")) {
    if (!inputs->is_array())
      r.fail("inputs", "expected an array of layer ids, got " + describe_json_value(*inputs));
    for (std::size_t k = 0; k < inputs->size(); ++k) {
      const Json& in = (*inputs)[k];
      if (!in.is_string())
        throw_project_error(file, r.pointer_of("inputs") + "/" + std::to_string(k), l.id,
                            "expected a layer id (string), got " + describe_json_value(in));
      l.inputs.push_back(in.get<std::string>());
    }
  }
  l.pin_fp32 = r.boolean("pin_fp32", false);

  static const Json kNoParams = Json::object();
  const Json* params = r.find("params");
  ObjectReader pr(params ? *params : kNoParams, r.pointer_of("params"), file, l.id);
  read_params(pr, l, file);
  r.finish("in a layer node");
  return l;
}

OrderedJson float_to_json(float v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  double d = 0;
  std::from_chars(buf, res.ptr, d);
  return d;
}

OrderedJson layer_to_json(const LayerSpec& l) {
  auto pair = [](int h, int w) -> OrderedJson {
    if (h == w) return h;
    return OrderedJson::array({h, w});
  };
  OrderedJson params = OrderedJson::object();
  switch (l.kind) {
    case LayerKind::Input:
      params["shape"] = l.shape;
      break;
    case LayerKind::Linear:
      params["out_features"] = l.out_features;
      params["bias"] = l.bias;
      break;
    case LayerKind::Conv2d:
      params["out_channels"] = l.out_channels;
      params["kernel"] = pair(l.kernel_h, l.kernel_w);
      params["stride"] = pair(l.stride_h, l.stride_w);
      params["padding"] = pair(l.pad_h, l.pad_w);
      params["bias"] = l.bias;
      break;
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
      params["kernel"] = pair(l.kernel_h, l.kernel_w);
      params["stride"] = pair(l.stride_h, l.stride_w);
      params["padding"] = pair(l.pad_h, l.pad_w);
      break;
    case LayerKind::LeakyReLU:
      params["negative_slope"] = float_to_json(l.negative_slope);
      break;
    case LayerKind::Dropout:
      params["p"] = float_to_json(l.p);
      break;
    case LayerKind::BatchNorm:
      params["eps"] = float_to_json(l.eps);
      params["momentum"] = float_to_json(l.momentum);
      break;
    case LayerKind::LayerNorm:
      params["eps"] = float_to_json(l.eps);
      break;
    default:
      break;
  }
  // Default stays implicit so that a file without "init" reads back unchanged.
  if (has_weights(l.kind) && l.init != Init::Default) params["init"] = init_name(l.init);

  OrderedJson node = OrderedJson::object();
  node["id"] = l.id;
  node["type"] = layer_kind_name(l.kind);
  if (!l.inputs.empty()) node["inputs"] = l.inputs;
  if (!params.empty()) node["params"] = std::move(params);
  if (l.pin_fp32) node["pin_fp32"] = true;
  return node;
}

}  // namespace mantissa::detail
