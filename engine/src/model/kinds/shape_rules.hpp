#pragma once
// What a kind's shape rule works with: the layer, its inputs' ids and where
// it sits in the file (for messages), and checked arithmetic for the counts.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mantissa/model.hpp"

namespace mantissa::detail {

// Far beyond any sample that fits in memory; keeps every size below in int64.
inline constexpr std::int64_t kMaxElements = std::int64_t(1) << 40;

struct ShapeContext {
  const std::filesystem::path& file;
  std::string pointer;
  const LayerSpec& layer;
  const std::vector<std::string>& input_ids;

  [[noreturn]] void fail(const std::string& what) const;
  std::string kind() const;               // "Conv2d"
  std::string from(std::size_t k) const;  // " from '<input k>'"
};

// Parameter and FLOP counts of absurd layers would overflow int64; such a
// model is refused with a message instead of wrapping around.
std::int64_t mul(const ShapeContext& c, std::int64_t a, std::int64_t b);
std::int64_t add_counts(const ShapeContext& c, std::int64_t a, std::int64_t b);
// Elements per sample of a layer's output, at most kMaxElements.
std::int64_t out_numel(const ShapeContext& c, const Shape& shape);
std::string hw(std::int64_t h, std::int64_t w);  // "3×3"
void need_rank(const ShapeContext& c, const Shape& in, std::size_t rank, const std::string& what,
               const std::string& hint = {});

// Kinds acting on the last axis (Linear, LayerNorm): [features], or [T, C]
// for a sequence; an image [C, H, W] needs a Flatten first.
void need_features_or_sequence(const ShapeContext& c, const Shape& in);

// The shape rule of kinds whose output has the input's shape and costs one
// FLOP per element (activations, Dropout, Add).
void same_shape_elementwise(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info);

}  // namespace mantissa::detail
