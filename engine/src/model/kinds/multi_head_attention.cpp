// MultiHeadAttention: self-attention over [T, C] with its Q/K/V and output
// projections inside; scores and softmax in fp32 (PRECISION.md).
#include <cstdio>

#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  need_rank(c, x, 2, "a sequence [positions, channels]");
  if (l.heads <= 0) c.fail("heads must be >= 1");
  if (x[1] % l.heads != 0)
    c.fail(std::to_string(l.heads) + " heads do not divide the width " + std::to_string(x[1]) +
           c.from(0) + "; choose heads that divide it");
  if (!(l.p >= 0.0f && l.p < 1.0f)) c.fail("dropout must be in [0, 1)");
  const std::int64_t T = x[0], C = x[1];
  // Q, K, V (3C·C + 3C) and the output projection (C·C + C).
  info.params = add_counts(c, mul(c, 4, mul(c, C, C)), mul(c, 4, C));
  // Projections 2·T·4C², scores and P·V 2·2·T²·C.
  info.forward_flops = add_counts(c, mul(c, 8, mul(c, T, mul(c, C, C))),
                                  mul(c, 4, mul(c, T, mul(c, T, C))));
  info.output_shape = x;
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::MultiHeadAttention>(spec);
}

std::string summary(const LayerSpec& l) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld heads%s", static_cast<long long>(l.heads),
                l.causal ? ", causal" : "");
  return buf;
}

constexpr LayerRules kRules{.infer = infer,
                            .output_dtype = compute_dtype_rule,
                            .build = build,
                            .summary = summary};

}  // namespace

template <>
struct KindDefinition<LayerKind::MultiHeadAttention> {
  static LayerDescriptor make() {
    LayerDescriptor d{
        .name = "MultiHeadAttention",
        .category = "Sequence",
        .help = "self-attention over [T, C] with its Q/K/V and output projections; fp32 scores",
        .params = {{.key = "heads",
                    .field = &LayerSpec::heads,
                    .default_value = 1,
                    .range = sizes_from(1),
                    .help = "attention heads; must divide the width"},
                   {.key = "causal",
                    .field = &LayerSpec::causal,
                    .default_value = 1,
                    .help = "each position attends only to itself and those before it"},
                   {.key = "dropout",
                    .field = &LayerSpec::p,
                    .default_value = 0,
                    .range = ValueRange::unit_half_open(),
                    .help = "dropout on the attention probabilities while training"}},
        .rules = &kRules};
    d.starter.heads = 4;
    d.starter.p = 0.0f;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::MultiHeadAttention>();

}  // namespace mantissa::detail
