// GroupNorm: normalises each sample over groups of channels, in fp32.
#include "io/onnx_emitter.hpp"
#include "model/kinds/kind_file.hpp"
#include "model/layers/layers.hpp"

namespace mantissa::detail {

namespace {

void infer(const ShapeContext& c, const std::vector<Shape>& in, LayerInfo& info) {
  const LayerSpec& l = c.layer;
  const Shape& x = in[0];
  if (x.rank() < 2)
    c.fail("GroupNorm needs channels first, [C, H, W] or [C, L], got " + x.str() + c.from(0));
  if (l.groups <= 0) c.fail("groups must be >= 1");
  if (x[0] % l.groups != 0)
    c.fail(std::to_string(l.groups) + " groups do not divide the " + std::to_string(x[0]) +
           " channels" + c.from(0));
  info.params = 2 * x[0];
  same_shape_elementwise(c, in, info);
}

// The fp32 mean and 1/σ of each group.
std::int64_t kept_extra(const LayerSpec& l, const LayerInfo&, DType) {
  return 2 * std::int64_t(sizeof(float)) * l.groups;
}

std::unique_ptr<Layer> build(const LayerSpec& spec) {
  return std::make_unique<layers::GroupNorm>(spec);
}

std::string summary(const LayerSpec& l) {
  return std::to_string(l.groups) + " groups";
}

// Opset 17 has no GroupNormalization (it came in opset 18), so the layer is
// written out in fp32 as it computes: the channels of a sample regrouped as
// [groups, rest], each group's mean and biased variance, then the per-channel
// scale and shift.
void onnx(io::OnnxEmitter& e, const LayerSpec& spec, const std::string& out) {
  const Shape& s = e.input_shape(spec, 0);
  const std::string p = out + ".";
  const std::vector<std::int64_t> mean_axis{2};
  e.node("Reshape", {e.input(spec, 0), e.ints(p + "grouped_shape", {0, spec.groups, -1})},
         p + "grouped");
  e.node("ReduceMean", {p + "grouped"}, p + "mean", {{"axes", mean_axis}, {"keepdims", std::int64_t(1)}});
  e.node("Sub", {p + "grouped", p + "mean"}, p + "centred");
  e.node("Mul", {p + "centred", p + "centred"}, p + "squares");
  e.node("ReduceMean", {p + "squares"}, p + "var", {{"axes", mean_axis}, {"keepdims", std::int64_t(1)}});
  e.node("Add", {p + "var", e.scalar(p + "eps", spec.eps, DType::F32)}, p + "var_eps");
  e.node("Sqrt", {p + "var_eps"}, p + "std");
  e.node("Div", {p + "centred", p + "std"}, p + "normed");
  std::vector<std::int64_t> back{0};
  back.insert(back.end(), s.dims().begin(), s.dims().end());
  e.node("Reshape", {p + "normed", e.ints(p + "sample_shape", back)}, p + "normalised");
  // [C] as [C, 1, ...] so it broadcasts over the positions.
  std::vector<std::int64_t> per_channel(std::size_t(s.rank()), 1);
  per_channel[0] = s[0];
  const std::string channel_shape = e.ints(p + "channel_shape", per_channel);
  e.node("Reshape", {e.weight(spec.id + ".weight", DType::F32), channel_shape}, p + "scale");
  e.node("Reshape", {e.weight(spec.id + ".bias", DType::F32), channel_shape}, p + "shift");
  e.node("Mul", {p + "normalised", p + "scale"}, p + "scaled");
  e.node("Add", {p + "scaled", p + "shift"}, out);
}

constexpr LayerRules kRules{
    .infer = infer, .output_dtype = fp32_rule, .build = build, .onnx = onnx, .summary = summary, .keeps = Keeps::Inputs, .kept_extra = kept_extra};

}  // namespace

template <>
struct KindDefinition<LayerKind::GroupNorm> {
  static LayerDescriptor make() {
    LayerDescriptor d{.name = "GroupNorm",
                      .category = "Normalise",
                      .help = "normalises each sample over groups of channels, in fp32; [C, ...]",
                      .params = {{.key = "groups",
                                  .field = &LayerSpec::groups,
                                  .required = true,
                                  .range = sizes_from(1),
                                  .help = "channel groups; must divide the channels"},
                                 eps_param()},
                      .rules = &kRules};
    d.starter.groups = 8;
    return d;
  }
};
template const LayerDescriptor& descriptor_of<LayerKind::GroupNorm>();

}  // namespace mantissa::detail
