// Shape inference and per-layer costs (parameters, forward FLOPs, activation
// bytes), walking the graph and asking each kind's shape rule (kinds/). Shapes
// are per sample: [features] or [channels, height, width].
//
// FLOP convention (docs/project-format.md): Linear and Conv2d count 2 per
// multiply-add, bias not counted; pools count one per window element read;
// GlobalAvgPool and losses one per input element; Input and Flatten 0;
// everything else one per output element.
#include <array>
#include <string>
#include <unordered_map>

#include "model/kinds/layer_rules.hpp"
#include "model/model_internal.hpp"

namespace mantissa {

ModelSummary analyze_model(const ModelSpec& model, const std::filesystem::path& file) {
  detail::validate_graph(model, file);

  std::unordered_map<std::string, std::size_t> file_index;  // for error pointers
  for (std::size_t i = 0; i < model.layers.size(); ++i) file_index.emplace(model.layers[i].id, i);

  ModelSummary s;
  std::unordered_map<std::string, std::size_t> done;  // id -> position in s.layers
  for (const LayerSpec* l : topological_order(model)) {
    LayerInfo info;
    info.id = l->id;
    info.kind = l->kind;
    std::vector<std::array<DType, 3>> in_dtypes;
    for (const auto& in : l->inputs) {
      const LayerInfo& producer = s.layers[done.at(in)];
      info.input_shapes.push_back(producer.output_shape);
      in_dtypes.push_back(producer.output_dtype);
    }
    detail::ShapeContext ctx{file, detail::node_pointer(file_index.at(l->id)), *l, l->inputs};
    detail::rules(l->kind).infer(ctx, info.input_shapes, info);

    for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p) {
      std::vector<DType> inputs;
      for (const auto& d : in_dtypes) inputs.push_back(d[p]);
      info.output_dtype[p] = layer_output_dtype(*l, kSummaryPolicies[p], inputs);
      info.activation_bytes[p] =
          info.output_shape.numel() * std::int64_t(dtype_size(info.output_dtype[p]));
      s.total_activation_bytes[p] += info.activation_bytes[p];
    }
    s.total_params = detail::add_counts(ctx, s.total_params, info.params);
    s.total_forward_flops = detail::add_counts(ctx, s.total_forward_flops, info.forward_flops);
    if (is_loss(l->kind)) {
      s.loss_id = l->id;
      s.output_id = l->inputs.front();
    }
    done.emplace(l->id, s.layers.size());
    s.layers.push_back(std::move(info));
  }
  return s;
}

}  // namespace mantissa
