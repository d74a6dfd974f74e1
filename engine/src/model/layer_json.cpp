// Layer nodes of a project file: {"id", "type", "inputs", "params", "pin_fp32",
// "position"}.
// The "params" object belongs to the kind's schema (kinds/layer_params.cpp).
#include <charconv>
#include <cmath>

#include "model/kinds/layer_params.hpp"
#include "model/model_internal.hpp"
#include "model/project_json.hpp"

namespace mantissa::detail {

namespace {

bool valid_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
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
  if (const Json* at = r.find("position")) {
    const auto coordinate = [&](std::size_t k) {
      const Json& v = (*at)[k];
      if (!v.is_number() || !std::isfinite(v.get<double>()) || std::abs(v.get<double>()) > 1e7)
        throw_project_error(file, r.pointer_of("position") + "/" + std::to_string(k), l.id,
                            "expected a canvas coordinate (a number within ±10,000,000), got " +
                                describe_json_value(v));
      return v.get<double>();
    };
    if (!at->is_array() || at->size() != 2)
      r.fail("position", "expected [x, y], got " + describe_json_value(*at));
    l.position = CanvasPosition{coordinate(0), coordinate(1)};
  }

  static const Json kNoParams = Json::object();
  const Json* params = r.find("params");
  ObjectReader pr(params ? *params : kNoParams, r.pointer_of("params"), file, l.id);
  read_layer_params(pr, l, file);
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
  OrderedJson params = layer_params_to_json(l);

  OrderedJson node = OrderedJson::object();
  node["id"] = l.id;
  node["type"] = layer_kind_name(l.kind);
  if (!l.inputs.empty()) node["inputs"] = l.inputs;
  if (!params.empty()) node["params"] = std::move(params);
  if (l.pin_fp32) node["pin_fp32"] = true;
  if (l.position) {
    // Whole canvas units are precise enough and keep project files tidy.
    node["position"] = {std::round(l.position->x), std::round(l.position->y)};
  }
  return node;
}

}  // namespace mantissa::detail
