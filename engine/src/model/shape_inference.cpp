// Shape inference and per-layer costs (parameters, forward FLOPs, activation
// bytes), walking the graph and asking each kind's shape rule (kinds/). Shapes
// are per sample: [features] or [channels, height, width].
//
// FLOP convention (docs/project-format.md): Linear and Conv2d count 2 per
// multiply-add, bias not counted; pools count one per window element read;
// GlobalAvgPool and losses one per input element; Input and Flatten 0;
// everything else one per output element.
#include <array>
#include <set>
#include <string>
#include <unordered_map>

#include "model/kinds/layer_rules.hpp"
#include "model/model_internal.hpp"

namespace mantissa {

namespace {

// One layer's shape, counts and dtypes from its inputs' (the kind's shape
// rule throws a ProjectError when they do not fit).
LayerInfo infer_layer(const detail::ShapeContext& ctx, const std::vector<const LayerInfo*>& inputs) {
  const LayerSpec& l = ctx.layer;
  LayerInfo info;
  info.id = l.id;
  info.kind = l.kind;
  for (const LayerInfo* in : inputs) info.input_shapes.push_back(in->output_shape);
  detail::rules(l.kind).infer(ctx, info.input_shapes, info);
  for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p) {
    std::vector<DType> in_dtypes;
    for (const LayerInfo* in : inputs) in_dtypes.push_back(in->output_dtype[p]);
    info.output_dtype[p] = layer_output_dtype(l, kSummaryPolicies[p], in_dtypes);
    info.activation_bytes[p] =
        info.output_shape.numel() * std::int64_t(dtype_size(info.output_dtype[p]));
  }
  return info;
}

}  // namespace

ModelSummary analyze_model(const ModelSpec& model, const std::filesystem::path& file) {
  detail::validate_graph(model, file);

  std::unordered_map<std::string, std::size_t> file_index;  // for error pointers
  for (std::size_t i = 0; i < model.layers.size(); ++i) file_index.emplace(model.layers[i].id, i);

  ModelSummary s;
  std::unordered_map<std::string, std::size_t> done;  // id -> position in s.layers
  for (const LayerSpec* l : topological_order(model)) {
    std::vector<const LayerInfo*> inputs;
    for (const auto& in : l->inputs) inputs.push_back(&s.layers[done.at(in)]);
    detail::ShapeContext ctx{file, detail::node_pointer(file_index.at(l->id)), *l, l->inputs};
    LayerInfo info = infer_layer(ctx, inputs);
    for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p)
      s.total_activation_bytes[p] += info.activation_bytes[p];
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

ModelDiagnosis diagnose_model(const ModelSpec& model) {
  ModelDiagnosis d;
  // Layers with a structural problem of their own are not inferred; an
  // unused output does not stop anything.
  std::vector<bool> blocked(model.layers.size(), false);
  for (detail::GraphProblem& g : detail::graph_problems(model)) {
    const bool unused = g.kind == detail::GraphProblem::Kind::Unused;
    if (!unused && g.node != detail::GraphProblem::kNoNode) blocked[g.node] = true;
    d.problems.push_back({g.layer_id, std::move(g.what), unused});
  }
  // Kahn's walk over the layers with unique, non-empty ids, in file order
  // among the ready ones; a layer whose input is missing, blocked, in a cycle
  // or failed never becomes ready.
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    if (!model.layers[i].id.empty()) index.emplace(model.layers[i].id, i);
  std::vector<std::size_t> pending(model.layers.size(), 0);
  std::vector<std::vector<std::size_t>> consumers(model.layers.size());
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const LayerSpec& l = model.layers[i];
    auto self = index.find(l.id);
    if (self == index.end() || self->second != i || blocked[i]) {
      pending[i] = std::size_t(-1);  // never ready
      continue;
    }
    for (const auto& in : l.inputs) {
      auto it = index.find(in);
      if (it == index.end()) {
        pending[i] = std::size_t(-1);
        break;
      }
      consumers[it->second].push_back(i);
      ++pending[i];
    }
    if (pending[i] == 0) ready.insert(i);
  }
  std::unordered_map<std::string_view, std::size_t> done;  // id -> position in d.layers
  const std::filesystem::path no_file;
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    const LayerSpec& l = model.layers[i];
    std::vector<const LayerInfo*> inputs;
    for (const auto& in : l.inputs) inputs.push_back(&d.layers[done.at(in)]);
    detail::ShapeContext ctx{no_file, detail::node_pointer(i), l, l.inputs};
    try {
      LayerInfo info = infer_layer(ctx, inputs);
      done.emplace(l.id, d.layers.size());
      d.layers.push_back(std::move(info));
    } catch (const detail::ProjectError& e) {
      d.problems.push_back({l.id, e.what_words, false});
      continue;  // what it feeds stays uninferred
    }
    for (std::size_t c : consumers[i])
      if (pending[c] != std::size_t(-1) && --pending[c] == 0) ready.insert(c);
  }
  return d;
}

const LayerInfo* ModelDiagnosis::find(std::string_view id) const {
  for (const LayerInfo& l : layers)
    if (l.id == id) return &l;
  return nullptr;
}

std::vector<const ModelProblem*> ModelDiagnosis::problems_of(std::string_view id) const {
  std::vector<const ModelProblem*> out;
  for (const ModelProblem& p : problems)
    if (p.layer_id == id) out.push_back(&p);
  return out;
}

}  // namespace mantissa
