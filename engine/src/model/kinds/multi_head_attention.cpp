// MultiHeadAttention: self-attention over [T, C] with its Q/K/V and output
// projections inside; scores and softmax in fp32 (PRECISION.md).
#include <cmath>
#include <cstdio>
#include <limits>

#include "io/onnx_emitter.hpp"
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
  info.weight_params = 4 * C * C;
  // Projections 2·T·4C², scores and P·V 2·2·T²·C.
  info.forward_flops = add_counts(c, mul(c, 8, mul(c, T, mul(c, C, C))),
                                  mul(c, 4, mul(c, T, mul(c, T, C))));
  info.output_shape = x;
}

// As the layer computes: one QKV projection, heads apart, scores Q Kᵀ in
// fp32 (the 16-bit Q and K cast up, which is exact), scale, causal mask and
// softmax in fp32, the probabilities rounded once to the compute dtype for
// P V, heads merged, the output projection. Attention dropout is training-only.
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const DType d = e.dtype(spec);
  const Shape& s = e.input_shape(spec, 0);
  const std::int64_t T = s[0], C = s[1], H = spec.heads, D = C / H;
  const std::string& id = spec.id;
  const std::string p = out + ".";
  io::emit_matmul_last_axis(e, e.input(spec, 0), e.weight(id + ".qkv.weight", d),
                            e.weight(id + ".qkv.bias", d), p + "qkv");
  // [N, T, 3C] -> [N, T, 3, H, D] -> [3, N, H, T, D]
  e.node("Reshape", {p + "qkv", e.ints(p + "qkv_shape", {0, T, 3, H, D})}, p + "qkv_split");
  e.node("Transpose", {p + "qkv_split"}, p + "qkv_heads",
         {{"perm", std::vector<std::int64_t>{2, 0, 3, 1, 4}}});
  const auto part = [&](const char* name, std::int64_t k) {
    const std::string t = p + name;
    e.node("Gather", {p + "qkv_heads", e.ints_scalar(t + "_index", k)}, t,
           {{"axis", std::int64_t(0)}});
    return t;
  };
  const std::string q = part("q", 0), k = part("k", 1), v = part("v", 2);
  const std::string q32 = d == DType::F32 ? q : e.cast_to(q, DType::F32);
  const std::string k32 = d == DType::F32 ? k : e.cast_to(k, DType::F32);
  e.node("Transpose", {k32}, p + "k_t", {{"perm", std::vector<std::int64_t>{0, 1, 3, 2}}});
  e.node("MatMul", {q32, p + "k_t"}, p + "scores");
  e.node("Mul", {p + "scores", e.scalar(p + "scale", 1.0f / std::sqrt(float(D)), DType::F32)},
         p + "scaled");
  std::string logits = p + "scaled";
  if (spec.causal) {
    std::vector<float> mask(std::size_t(T * T), 0.0f);
    for (std::int64_t i = 0; i < T; ++i)
      for (std::int64_t j = i + 1; j < T; ++j)
        mask[std::size_t(i * T + j)] = -std::numeric_limits<float>::infinity();
    e.node("Add", {logits, e.floats(p + "causal_mask", {T, T}, mask, DType::F32)}, p + "masked");
    logits = p + "masked";
  }
  e.node("Softmax", {logits}, p + "probs", {{"axis", std::int64_t(-1)}});
  const std::string probs = d == DType::F32 ? p + "probs" : e.cast_to(p + "probs", d);
  e.node("MatMul", {probs, v}, p + "context");
  // [N, H, T, D] -> [N, T, H, D] -> [N, T, C]
  e.node("Transpose", {p + "context"}, p + "context_t",
         {{"perm", std::vector<std::int64_t>{0, 2, 1, 3}}});
  e.node("Reshape", {p + "context_t", e.ints(p + "merged_shape", {0, T, C})}, p + "merged");
  io::emit_matmul_last_axis(e, p + "merged", e.weight(id + ".proj.weight", d),
                            e.weight(id + ".proj.bias", d), out);
}

// Q, K, V and the heads' context (T·C each) and the probabilities (H·T·T),
// and their dropout mask, in the compute dtype (the fp32 scores are gone by
// the time the layer returns).
std::int64_t kept_extra(const LayerSpec& l, const LayerInfo& info, DType d) {
  const std::int64_t T = info.output_shape[0], C = info.output_shape[1];
  const std::int64_t probs = l.heads * T * T;
  return (4 * T * C + probs * (l.p > 0.0f ? 2 : 1)) * std::int64_t(dtype_size(d));
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
                            .onnx = onnx,
                            .summary = summary, .keeps = Keeps::Inputs, .kept_extra = kept_extra};

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
