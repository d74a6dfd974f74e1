#pragma once
// What a layer kind is, as plain data: its project-file name, the palette
// category it sits in, one line of help, how many inputs it takes and its
// parameter schema (keys, types, defaults, ranges, help). Each kind is one
// descriptor in its own file under engine/src/model/kinds/, which also holds
// its rules (shape, dtype, counts, runtime layer, ONNX form). The project
// reader and writer, shape inference, the graph, ONNX export, `mantissa model`
// and the studio's palette and inspector all read these descriptors.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mantissa/model.hpp"
#include "mantissa/value_range.hpp"

namespace mantissa {

// Where a parameter lives in LayerSpec. The alternative decides its type.
struct IntPairField {  // one integer for both axes, or [height, width]
  int LayerSpec::*h;
  int LayerSpec::*w;
};
using ParamField =
    std::variant<std::int64_t LayerSpec::*, bool LayerSpec::*, float LayerSpec::*, IntPairField,
                 std::vector<std::int64_t> LayerSpec::*, Init LayerSpec::*>;

// In the order of ParamField's alternatives.
enum class ParamType {
  Int,
  Bool,
  Float,
  IntPair,
  Shape,   // a per-sample shape: [features] or [channels, height, width]
  Choice,  // one of `choices`, by name; left out of the file it is the kind's own default
};

struct ParamSchema {
  std::string_view key;  // as spelled in project files, e.g. "out_features"
  ParamField field;
  bool required = false;          // the file must give it
  double default_value = 0;       // Int, Bool (0 or 1), Float, IntPair; when has_default()
  std::string_view default_note;  // a default that is no number, e.g. "the kernel size"
  ValueRange range;               // Int, Float; IntPair and Shape: each element
  std::string_view help;          // one line
  std::span<const std::string_view> choices;  // Choice
  // Left out of project files while at its default (a later addition to a
  // kind, so that files written before it stay as they were).
  bool omitted_at_default = false;
  // Shape: also [positions, channels], a sequence (a Reshape's target; an
  // Input reads rows, images or token ids only).
  bool sequence_shape = false;

  ParamType type() const { return ParamType(field.index()); }
  // Whether default_value is what an absent key means.
  bool has_default() const {
    return !required && default_note.empty() && type() != ParamType::Choice;
  }
};

enum class Arity { None, One, Many };  // Input; most kinds; Add and Concat (two or more)

namespace detail {
struct LayerRules;  // the kind's functions, engine/src/model/kinds/layer_rules.hpp
}

struct LayerDescriptor {
  LayerKind kind = LayerKind::Input;
  std::string_view name;      // the project-file spelling, e.g. "Conv2d"
  std::string_view category;  // its palette group, one of layer_categories()
  std::string_view help;      // one line
  Arity inputs = Arity::One;
  bool is_loss = false;             // ends the graph; exactly one per model
  std::vector<ParamSchema> params;  // in the order project files write them
  LayerSpec starter;                // what the studio's palette adds (kind set, id empty)
  const detail::LayerRules* rules = nullptr;

  const ParamSchema* param(std::string_view key) const;  // nullptr when the kind has none
};

const LayerDescriptor& descriptor(LayerKind kind);
std::span<const LayerDescriptor* const> all_descriptors();      // in LayerKind order
const LayerDescriptor* find_descriptor(std::string_view name);  // nullptr when unknown
// The palette groups, in the order the studio shows them.
std::span<const std::string_view> layer_categories();

// A parameter's value: Int -> int64, Bool -> bool, Float -> double,
// IntPair -> {h, w}, Shape -> dims, Choice -> its name ("" when left to the
// kind's default).
using ParamValue = std::variant<std::int64_t, bool, double, std::vector<std::int64_t>, std::string>;
ParamValue param_value(const LayerSpec& layer, const ParamSchema& param);
// Sets one parameter. False, and `layer` unchanged, when the value has another
// type or lies outside what the project reader accepts. An IntPair takes one
// integer for both axes or {h, w}.
bool set_param_value(LayerSpec& layer, const ParamSchema& param, const ParamValue& value);

// How `mantissa model kinds` and the studio's tooltips show a parameter:
// "required", "0.5", "the kernel size"; ">= 1", "in [0, 1)", "> 0", or the
// choices "kaiming_uniform, kaiming_normal, ..." ("" when anything goes).
std::string param_default_text(const ParamSchema& param);
std::string param_allowed_text(const ParamSchema& param);

// The parameters that tell layers of a kind apart at a glance: "16, 3×3" for
// a Conv2d, "p=0.5" for a Dropout; empty for kinds without any.
std::string layer_summary(const LayerSpec& layer);

}  // namespace mantissa
