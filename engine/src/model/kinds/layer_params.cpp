// Layer parameters driven by the kinds' schemas: the project reader and
// writer, and the studio's get / set of one parameter. Every kind reads
// exactly its own keys; anything else in "params" is an error naming the layer.
#include "model/kinds/layer_params.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "mantissa/error.hpp"
#include "model/kinds/layer_rules.hpp"
#include "model/model_internal.hpp"

namespace mantissa::detail {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::int64_t lowest(const ParamSchema& p) {
  return std::int64_t(p.range.lo);
}
std::int64_t highest(const ParamSchema& p) {
  return std::int64_t(p.range.hi);
}

// Choice fields are Init: choice i is Init(i + 1); Init::Default is the
// absent key (read back as the kind's own default, written as nothing).
Init init_of_choice(std::size_t i) {
  return Init(i + 1);
}

// A kernel / stride / padding value: one integer for both axes or [h, w].
// Absent: required keys fail, keys with a default take it, others are left
// to the kind's after_read.
void read_pair(ObjectReader& r, const ParamSchema& p, int& h, int& w,
               const std::filesystem::path& file, const std::string& layer_id) {
  const std::string_view key = p.key;
  const Json* v = r.find(key);
  if (!v) {
    if (p.required) r.fail(key, "missing required key '" + std::string(key) + "'");
    if (p.has_default()) h = w = int(p.default_value);
    return;
  }
  std::string pointer = r.pointer_of(key);
  if (v->is_array()) {
    if (v->size() != 2)
      r.fail(key, std::string(key) + " must be one integer or [height, width], got " +
                      describe_json_value(*v));
    h = int(json_to_integer((*v)[0], pointer + "/0", file, layer_id, lowest(p), highest(p)));
    w = int(json_to_integer((*v)[1], pointer + "/1", file, layer_id, lowest(p), highest(p)));
    return;
  }
  if (!v->is_number())
    r.fail(key, std::string(key) + " must be one integer or [height, width], got " +
                    describe_json_value(*v));
  h = w = int(json_to_integer(*v, pointer, file, layer_id, lowest(p), highest(p)));
}

void read_shape(ObjectReader& r, const ParamSchema& p, std::vector<std::int64_t>& dims,
                const std::filesystem::path& file, const std::string& layer_id) {
  const Json& shape = r.require(p.key);
  std::string pointer = r.pointer_of(p.key);
  // Per-sample shapes (shape_inference.cpp): rows, images, and where the
  // kind takes them, sequences.
  const std::size_t rank = shape.is_array() ? shape.size() : 0;
  if (rank != 1 && rank != 3 && !(rank == 2 && p.sequence_shape))
    r.fail(p.key, std::string(p.key) + " must be [features], " +
                      (p.sequence_shape ? "[positions, channels] " : "") +
                      "or [channels, height, width], got " + describe_json_value(shape));
  dims.clear();
  for (std::size_t i = 0; i < shape.size(); ++i)
    dims.push_back(json_to_integer(shape[i], pointer + "/" + std::to_string(i), file, layer_id,
                                   lowest(p), highest(p)));
}

void read_choice(ObjectReader& r, const ParamSchema& p, Init& value) {
  const Json* v = r.find(p.key);
  if (!v) return;
  if (!v->is_string()) r.fail(p.key, "expected a string, got " + describe_json_value(*v));
  auto name = v->get<std::string>();
  auto it = std::find(p.choices.begin(), p.choices.end(), name);
  if (it == p.choices.end())
    r.fail(p.key,
           "unknown " + std::string(p.key) + " '" + name + "' (" + suggest(name, p.choices) + ")");
  value = init_of_choice(std::size_t(it - p.choices.begin()));
}

void read_param(ObjectReader& r, const ParamSchema& p, LayerSpec& l,
                const std::filesystem::path& file) {
  std::visit(
      Overloaded{
          [&](std::int64_t LayerSpec::*f) {
            l.*f = p.required
                       ? r.required_integer(p.key, lowest(p), highest(p))
                       : r.integer(p.key, std::int64_t(p.default_value), lowest(p), highest(p));
          },
          [&](bool LayerSpec::*f) { l.*f = r.boolean(p.key, p.default_value != 0); },
          [&](float LayerSpec::*f) {
            if (p.required) r.require(p.key);
            l.*f = float(r.number(p.key, p.default_value, p.range));
          },
          [&](IntPairField f) { read_pair(r, p, l.*f.h, l.*f.w, file, l.id); },
          [&](std::vector<std::int64_t> LayerSpec::*f) { read_shape(r, p, l.*f, file, l.id); },
          [&](Init LayerSpec::*f) { read_choice(r, p, l.*f); },
      },
      p.field);
}

OrderedJson pair_to_json(int h, int w) {
  if (h == w) return h;
  return OrderedJson::array({h, w});
}

}  // namespace

void read_layer_params(ObjectReader& r, LayerSpec& l, const std::filesystem::path& file) {
  const LayerDescriptor& d = descriptor(l.kind);
  for (const ParamSchema& p : d.params) read_param(r, p, l, file);
  if (d.rules->after_read) d.rules->after_read(r, l);
  r.finish("for " + std::string(d.name));
}

namespace {

bool at_default(const LayerSpec& l, const ParamSchema& p) {
  if (!p.has_default()) return false;
  const ParamValue v = param_value(l, p);
  if (const auto* b = std::get_if<bool>(&v)) return *b == (p.default_value != 0);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return double(*i) == p.default_value;
  if (const auto* d = std::get_if<double>(&v)) return float(*d) == float(p.default_value);
  return false;
}

}  // namespace

OrderedJson layer_params_to_json(const LayerSpec& l) {
  OrderedJson params = OrderedJson::object();
  for (const ParamSchema& p : descriptor(l.kind).params) {
    const std::string key(p.key);
    if (p.omitted_at_default && at_default(l, p)) continue;
    std::visit(Overloaded{
                   [&](std::int64_t LayerSpec::*f) { params[key] = l.*f; },
                   [&](bool LayerSpec::*f) { params[key] = l.*f; },
                   [&](float LayerSpec::*f) { params[key] = float_to_json(l.*f); },
                   [&](IntPairField f) { params[key] = pair_to_json(l.*f.h, l.*f.w); },
                   [&](std::vector<std::int64_t> LayerSpec::*f) { params[key] = l.*f; },
                   // Default stays implicit so that a file without it reads back unchanged.
                   [&](Init LayerSpec::*f) {
                     if (l.*f != Init::Default) params[key] = p.choices[std::size_t(l.*f) - 1];
                   },
               },
               p.field);
  }
  return params;
}

}  // namespace mantissa::detail

namespace mantissa {

using detail::Overloaded;

ParamValue param_value(const LayerSpec& l, const ParamSchema& p) {
  return std::visit(Overloaded{
                        [&](std::int64_t LayerSpec::*f) -> ParamValue { return l.*f; },
                        [&](bool LayerSpec::*f) -> ParamValue { return l.*f; },
                        [&](float LayerSpec::*f) -> ParamValue { return double(l.*f); },
                        [&](IntPairField f) -> ParamValue {
                          return std::vector<std::int64_t>{l.*f.h, l.*f.w};
                        },
                        [&](std::vector<std::int64_t> LayerSpec::*f) -> ParamValue { return l.*f; },
                        [&](Init LayerSpec::*f) -> ParamValue {
                          if (l.*f == Init::Default) return std::string();
                          return std::string(p.choices[std::size_t(l.*f) - 1]);
                        },
                    },
                    p.field);
}

std::string param_default_text(const ParamSchema& p) {
  if (p.required) return "required";
  if (!p.default_note.empty()) return std::string(p.default_note);
  if (p.type() == ParamType::Bool) return p.default_value != 0 ? "true" : "false";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", p.default_value);
  return buf;
}

std::string param_allowed_text(const ParamSchema& p) {
  const ValueRange& r = p.range;
  switch (p.type()) {
    case ParamType::Bool:
      return "";
    case ParamType::Choice: {
      std::string names;
      for (auto c : p.choices) names += (names.empty() ? "" : ", ") + std::string(c);
      return names;
    }
    case ParamType::Float:
      // The fp32 limits are there to keep the conversion finite, not to be read.
      if (r.hi == double(std::numeric_limits<float>::max()) && !r.hi_open) {
        if (r.lo == -r.hi) return "finite";
        if (r.lo == double(std::numeric_limits<float>::min())) return "> 0";
      }
      return r.describe();
    case ParamType::Int:
    case ParamType::IntPair:
    case ParamType::Shape:
      // Sizes stop at the largest int only to fit the engine's fields.
      if (r.hi >= double(std::numeric_limits<int>::max()))
        return ">= " + std::to_string(std::int64_t(r.lo));
      return r.describe();
  }
  return r.describe();
}

namespace {

// Stores `v` in the field when its type fits; false otherwise.
bool assign(LayerSpec& l, const ParamSchema& p, const ParamValue& v) {
  const auto* i = std::get_if<std::int64_t>(&v);
  const auto* list = std::get_if<std::vector<std::int64_t>>(&v);
  return std::visit(
      Overloaded{
          [&](std::int64_t LayerSpec::*f) { return i && (l.*f = *i, true); },
          [&](bool LayerSpec::*f) {
            const auto* b = std::get_if<bool>(&v);
            return b && (l.*f = *b, true);
          },
          [&](float LayerSpec::*f) {
            const auto* d = std::get_if<double>(&v);
            if (!d && !i) return false;
            const double x = d ? *d : double(*i);
            if (!p.range.contains(x)) return false;  // also keeps the float conversion finite
            l.*f = float(x);
            return true;
          },
          [&](IntPairField f) {
            const bool pair = list && list->size() == 2;
            if (!i && !pair) return false;
            const std::int64_t h = i ? *i : (*list)[0], w = i ? *i : (*list)[1];
            if (!p.range.contains(double(h)) || !p.range.contains(double(w))) return false;
            l.*f.h = int(h), l.*f.w = int(w);
            return true;
          },
          [&](std::vector<std::int64_t> LayerSpec::*f) { return list && (l.*f = *list, true); },
          [&](Init LayerSpec::*f) {
            const auto* name = std::get_if<std::string>(&v);
            if (!name) return false;
            if (name->empty()) return l.*f = Init::Default, true;
            auto it = std::find(p.choices.begin(), p.choices.end(), *name);
            if (it == p.choices.end()) return false;
            l.*f = detail::init_of_choice(std::size_t(it - p.choices.begin()));
            return true;
          },
      },
      p.field);
}

// Whether the project reader takes the layer's parameters as they are, so
// that an edit never produces a file that cannot be opened again.
bool reader_accepts(const LayerSpec& l) {
  const detail::Json params = detail::Json::parse(detail::layer_params_to_json(l).dump());
  const std::filesystem::path file;
  try {
    detail::ObjectReader r(params, "/params", file, l.id);
    LayerSpec copy = l;
    detail::read_layer_params(r, copy, file);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

}  // namespace

bool set_param_value(LayerSpec& layer, const ParamSchema& param, const ParamValue& value) {
  LayerSpec edited = layer;
  if (!assign(edited, param, value) || !reader_accepts(edited)) return false;
  layer = std::move(edited);
  return true;
}

}  // namespace mantissa
