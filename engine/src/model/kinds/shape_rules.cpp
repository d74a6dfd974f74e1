#include "model/kinds/shape_rules.hpp"

#include "model/model_internal.hpp"

namespace mantissa::detail {

void ShapeContext::fail(const std::string& what) const {
  throw_project_error(file, pointer, layer.id, what);
}

std::string ShapeContext::kind() const {
  return std::string(layer_kind_name(layer.kind));
}

std::string ShapeContext::from(std::size_t k) const {
  return " from '" + input_ids[k] + "'";
}

std::int64_t mul(const ShapeContext& c, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    c.fail(c.kind() + " is too large: its parameter or FLOP count overflows 64 bits");
  return r;
}

std::int64_t add_counts(const ShapeContext& c, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    c.fail("the model is too large: its parameter or FLOP count overflows 64 bits");
  return r;
}

std::int64_t out_numel(const ShapeContext& c, const Shape& shape) {
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

void need_rank(const ShapeContext& c, const Shape& in, std::size_t rank, const std::string& what,
               const std::string& hint) {
  if (in.rank() == rank) return;
  c.fail(c.kind() + " needs " + what + ", got " + in.str() + c.from(0) + hint);
}

void need_features_or_sequence(const ShapeContext& c, const Shape& in) {
  if (in.rank() == 1 || in.rank() == 2) return;
  c.fail(c.kind() + " needs [features] or a sequence [positions, channels], got " + in.str() +
         c.from(0) + "; insert a Flatten layer before it");
}

void same_shape_elementwise(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  info.output_shape = in[0];
  info.forward_flops = out_numel(c, info.output_shape);
}

}  // namespace mantissa::detail
