// The table of layer kinds: one descriptor per LayerKind, each defined in its
// own file in this directory and linked in through descriptor_of<K>.
#include <algorithm>
#include <array>
#include <utility>

#include "mantissa/error.hpp"
#include "model/kinds/layer_rules.hpp"
#include "model/kinds/param_schemas.hpp"
#include "model/model_internal.hpp"

namespace mantissa {

namespace {

using Table = std::array<const LayerDescriptor*, kLayerKindCount>;

template <std::size_t... I>
Table make_table(std::index_sequence<I...>) {
  return {&detail::descriptor_of<LayerKind(I)>()...};
}

const Table& table() {
  static const Table t = [] {
    Table made = make_table(std::make_index_sequence<kLayerKindCount>{});
    for (std::size_t i = 0; i < made.size(); ++i) {
      MANTISSA_ASSERT(made[i]->kind == LayerKind(i) && made[i]->rules, "layer kind table broken");
      for (std::size_t j = 0; j < i; ++j)
        MANTISSA_ASSERT(made[j]->name != made[i]->name, "two layer kinds share a name");
    }
    return made;
  }();
  return t;
}

// The palette's groups, in the order UI.md lists them.
constexpr std::array<std::string_view, 9> kCategories = {
    "Input",      "Dense",      "Sequence",  "Convolution", "Pooling",
    "Normalise",  "Activation", "Structure", "Loss"};

}  // namespace

const LayerDescriptor& descriptor(LayerKind kind) {
  MANTISSA_ASSERT(std::size_t(kind) < kLayerKindCount, "layer kind out of range");
  return *table()[std::size_t(kind)];
}

std::span<const LayerDescriptor* const> all_descriptors() {
  return table();
}

const LayerDescriptor* find_descriptor(std::string_view name) {
  for (const LayerDescriptor* d : table())
    if (d->name == name) return d;
  return nullptr;
}

std::span<const std::string_view> layer_categories() {
  return kCategories;
}

const ParamSchema* LayerDescriptor::param(std::string_view key) const {
  for (const ParamSchema& p : params)
    if (p.key == key) return &p;
  return nullptr;
}

std::string_view layer_kind_name(LayerKind k) {
  return descriptor(k).name;
}

std::optional<LayerKind> parse_layer_kind(std::string_view s) {
  const LayerDescriptor* d = find_descriptor(s);
  return d ? std::optional<LayerKind>(d->kind) : std::nullopt;
}

bool is_loss(LayerKind k) {
  return descriptor(k).is_loss;
}

std::string layer_summary(const LayerSpec& layer) {
  const auto summary = descriptor(layer.kind).rules->summary;
  return summary ? summary(layer) : std::string();
}

namespace detail {

const LayerRules& rules(LayerKind kind) {
  return *descriptor(kind).rules;
}

std::span<const std::string_view> layer_kind_names() {
  static const std::array<std::string_view, kLayerKindCount> names = [] {
    std::array<std::string_view, kLayerKindCount> n{};
    for (std::size_t i = 0; i < n.size(); ++i) n[i] = table()[i]->name;
    return n;
  }();
  return names;
}

DType input_dtype_rule(const LayerSpec& layer, Policy, const std::vector<DType>& inputs) {
  MANTISSA_ASSERT(!inputs.empty(), "layer '" + layer.id + "' has no input dtypes");
  for (DType d : inputs)
    if (d != inputs.front()) return DType::F32;
  return inputs.front();
}

}  // namespace detail
}  // namespace mantissa
