// Shape inference and per-layer costs (parameters, forward FLOPs, activation
// bytes), walking the graph and asking each kind's shape rule (kinds/). Shapes
// are per sample: [features] or [channels, height, width].
//
// FLOP convention (docs/project-format.md): Linear and Conv2d count 2 per
// multiply-add, bias not counted; pools count one per window element read;
// GlobalAvgPool and losses one per input element; Input and Flatten 0;
// everything else one per output element.
#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "model/kinds/layer_rules.hpp"
#include "model/model_internal.hpp"

namespace mantissa {

namespace {

// The tensors training keeps for the backward pass, as the graph holds them
// (model/layers/graph.cpp): a layer's output goes when its last reader has
// run unless a layer keeps it; a reader whose dtype differs receives a cast
// of its own, and when it is the last reader the original goes before it
// runs; a view is the memory of its input. Each kept tensor is counted once,
// at the first layer that keeps it (LayerInfo::kept_bytes). Alongside, the
// forward pass's own peak: what is kept so far, the outputs still waiting
// for readers, a layer's casts of its inputs and its output (the scratch a
// layer's op takes inside, such as attention's scores, is not modelled).
struct KeptTensors {
  static constexpr std::size_t kPolicies = kSummaryPolicies.size();
  // Per policy: the tensor each layer's output is ("" while none is known).
  std::unordered_map<std::string, std::array<std::string, kPolicies>> tensor_of;
  std::array<std::set<std::string>, kPolicies> counted;
  std::unordered_map<std::string, int> readers;  // layers reading each layer's output
  std::unordered_map<std::string, int> left;     // ... that have not run yet
  std::string output_id;                         // the layer feeding the loss
  // Per policy: tensors alive but kept by no layer, with their bytes, and
  // how many layer outputs are each (a view's and its input's).
  std::array<std::map<std::string, std::int64_t>, kPolicies> waiting;
  std::array<std::map<std::string, int>, kPolicies> named_by;
  std::array<std::int64_t, kPolicies> kept_so_far{};
  std::array<std::int64_t, kPolicies> forward_peak{};

  explicit KeptTensors(const ModelSpec& model) {
    for (const LayerSpec& l : model.layers) {
      for (const std::string& in : l.inputs) ++readers[in];
      if (is_loss(l.kind) && !l.inputs.empty()) output_id = l.inputs.front();
    }
    left = readers;
  }

  std::int64_t alive(std::size_t p, std::int64_t kept_now) const {
    std::int64_t sum = kept_so_far[p] + kept_now;
    for (const auto& [tensor, bytes] : waiting[p]) sum += bytes;
    return sum;
  }
  void unname(std::size_t p, const std::string& tensor) {
    if (--named_by[p][tensor] <= 0) waiting[p].erase(tensor);
  }

  void add(const LayerSpec& l, const std::vector<const LayerInfo*>& inputs, LayerInfo& info) {
    const detail::LayerRules& r = detail::rules(l.kind);
    auto& mine = tensor_of[l.id];
    // The inputs this layer is the last reader of (an input read twice counts once).
    std::set<std::string> last_read;
    for (const std::string& in : l.inputs)
      if (left[in] == int(std::count(l.inputs.begin(), l.inputs.end(), in))) last_read.insert(in);
    for (std::size_t p = 0; p < kPolicies; ++p) {
      const DType d = info.output_dtype[p];
      // A ReLU run inside its Linear: its output is the Linear's.
      const bool in_linear = inputs.size() == 1 &&
                             detail::relu_runs_in_linear(
                                 l.kind, l.inputs.size(), inputs[0]->kind, readers[inputs[0]->id],
                                 inputs[0]->id == output_id, inputs[0]->output_dtype[p] == d);
      std::int64_t& kept = info.kept_bytes[p];
      const auto keep = [&](const std::string& tensor, std::int64_t bytes) {
        if (counted[p].insert(tensor).second) {
          kept += bytes;
          waiting[p].erase(tensor);
        }
      };
      std::vector<std::string> received, casts;
      std::set<std::string> gone;  // cast for this, their last reader: released before it runs
      for (const LayerInfo* in : inputs) {
        const std::string& produced = tensor_of[in->id][p];
        // Token ids and a loss's predictions are read as they are.
        const bool as_is = r.token_input || is_loss(l.kind) || in->output_dtype[p] == d;
        received.push_back(as_is ? produced
                                 : produced + " as " + std::string(dtype_name(d)) + " for " + l.id);
        const std::int64_t bytes =
            in->output_shape.numel() * std::int64_t(dtype_size(as_is ? in->output_dtype[p] : d));
        if (r.keeps == detail::Keeps::Inputs || r.keeps == detail::Keeps::InputsAndOutput)
          keep(received.back(), bytes);
        // The loss: the predictions until it has run, and their gradient.
        if (is_loss(l.kind) && received.size() == 1) {
          keep(received.back(), bytes);
          kept += bytes;
        }
        if (!as_is) {
          casts.push_back(received.back());
          if (counted[p].count(received.back()) == 0) waiting[p][received.back()] = bytes;
          if (last_read.count(in->id) != 0) gone.insert(in->id);
        }
      }
      // The casts exist beside their originals; then those read last go.
      forward_peak[p] = std::max(forward_peak[p], alive(p, kept));
      for (const std::string& in : gone) unname(p, tensor_of[in][p]);
      if (r.keeps == detail::Keeps::Output || r.keeps == detail::Keeps::InputsAndOutput)
        keep(l.id, info.activation_bytes[p]);
      if (r.kept_extra != nullptr) kept += r.kept_extra(l, info, d);
      const bool alias = (r.keeps == detail::Keeps::View || in_linear) && !received.empty();
      mine[p] = alias ? received.front() : l.id;
      if (!is_loss(l.kind)) {
        if (!alias && counted[p].count(l.id) == 0) waiting[p][l.id] = info.activation_bytes[p];
        ++named_by[p][mine[p]];
      }
      forward_peak[p] = std::max(forward_peak[p], alive(p, kept));
      kept_so_far[p] += kept;
      for (const std::string& cast : casts)
        if (named_by[p][cast] == 0) waiting[p].erase(cast);
      for (const std::string& in : last_read)
        if (gone.count(in) == 0) unname(p, tensor_of[in][p]);
    }
    for (const std::string& in : l.inputs) --left[in];
  }
};

// The activation memory of a training step's peak, per sample and policy:
// the forward pass (`forward_peak`, KeptTensors), then the backward pass as
// Graph::loss_and_backward runs it, layer by layer from the loss: what is
// still kept, the gradients waiting for their layers, and the input
// gradients this layer makes (a gradient handed on as it is makes none).
// A kept tensor goes with the first layer that kept it, which is the last
// backward reaches. `layers`: every layer of a complete model, inputs first.
std::array<std::int64_t, 3> training_peak(const std::vector<LayerInfo>& layers,
                                          const ModelSpec& model,
                                          const std::array<std::int64_t, 3>& forward_peak) {
  std::unordered_map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < layers.size(); ++i) at.emplace(layers[i].id, i);
  std::vector<std::vector<std::size_t>> inputs(layers.size());
  std::size_t loss = layers.size();
  const LayerSpec* loss_spec = nullptr;
  for (const LayerSpec& l : model.layers) {
    const auto self = at.find(l.id);
    if (self == at.end()) return {};
    for (const std::string& in : l.inputs) inputs[self->second].push_back(at.at(in));
    if (is_loss(l.kind)) {
      loss = self->second;
      loss_spec = &l;
    }
  }
  if (loss == layers.size() || inputs[loss].empty()) return {};
  // Gradients reach the layers with weights and whatever feeds them.
  std::vector<bool> needs_grad(layers.size(), false);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    needs_grad[i] = layers[i].params > 0;
    for (std::size_t j : inputs[i]) needs_grad[i] = needs_grad[i] || needs_grad[j];
  }
  std::array<std::int64_t, 3> peak{};
  for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p) {
    const auto bytes_as = [&](std::size_t i, DType d) {
      return layers[i].output_shape.numel() * std::int64_t(dtype_size(d));
    };
    struct Grad {
      int tensor = 0;
      std::int64_t bytes = 0;
    };
    std::unordered_map<std::size_t, Grad> grads;  // layer -> its output's gradient
    int tensors = 0;
    const auto waiting = [&] {
      std::set<int> seen;
      std::int64_t sum = 0;
      for (const auto& [layer, g] : grads)
        if (seen.insert(g.tensor).second) sum += g.bytes;
      return sum;
    };
    std::int64_t kept = 0;
    for (const LayerInfo& l : layers) kept += l.kept_bytes[p];
    peak[p] = std::max(kept, forward_peak[p]);  // the forward pass, the loss's gradient included
    // After the loss: its predictions go (its targets stay for the step),
    // their gradient waits for the output layer.
    const std::size_t out = inputs[loss].front();
    const detail::LayerRules& loss_rules = detail::rules(layers[loss].kind);
    const std::int64_t targets =
        loss_rules.kept_extra != nullptr
            ? loss_rules.kept_extra(*loss_spec, layers[loss], layers[loss].output_dtype[p])
            : 0;
    kept -= layers[loss].kept_bytes[p] - targets;
    grads[out] = {++tensors, bytes_as(out, layers[out].output_dtype[p])};
    for (std::size_t i = layers.size(); i-- > 1;) {
      if (i == loss) continue;
      const auto mine = grads.find(i);
      if (mine == grads.end()) {
        kept -= layers[i].kept_bytes[p];
        continue;
      }
      const detail::LayerRules& r = detail::rules(layers[i].kind);
      const DType d = layers[i].output_dtype[p];
      std::vector<std::pair<std::size_t, Grad>> made;
      std::int64_t new_bytes = 0;
      for (std::size_t j : inputs[i]) {
        if (!needs_grad[j]) continue;
        Grad g = mine->second;
        if (!r.passes_gradient) {
          g = {++tensors, bytes_as(j, d)};
          new_bytes += g.bytes;
        }
        made.emplace_back(j, g);
      }
      peak[p] = std::max(peak[p], kept + waiting() + new_bytes);
      kept -= layers[i].kept_bytes[p];
      grads.erase(mine);
      for (auto& [j, g] : made) {
        const DType dj = layers[j].output_dtype[p];
        // A gradient in another dtype is cast for its layer; a second one is summed.
        if (dj != d || grads.count(j) != 0) g = {++tensors, bytes_as(j, dj)};
        grads[j] = g;
      }
    }
  }
  return peak;
}

// One layer's shape, counts and dtypes from its inputs' (the kind's shape
// rule throws a ProjectError when they do not fit), and what training keeps
// of it.
LayerInfo infer_layer(const detail::ShapeContext& ctx, const std::vector<const LayerInfo*>& inputs,
                      KeptTensors& kept) {
  const LayerSpec& l = ctx.layer;
  LayerInfo info;
  info.id = l.id;
  info.kind = l.kind;
  info.pin_fp32 = l.pin_fp32;
  for (const LayerInfo* in : inputs) info.input_shapes.push_back(in->output_shape);
  detail::rules(l.kind).infer(ctx, info.input_shapes, info);
  for (std::size_t p = 0; p < kSummaryPolicies.size(); ++p) {
    std::vector<DType> in_dtypes;
    for (const LayerInfo* in : inputs) in_dtypes.push_back(in->output_dtype[p]);
    info.output_dtype[p] = layer_output_dtype(l, kSummaryPolicies[p], in_dtypes);
    info.activation_bytes[p] =
        info.output_shape.numel() * std::int64_t(dtype_size(info.output_dtype[p]));
  }
  kept.add(l, inputs, info);
  return info;
}

}  // namespace

ModelSummary analyze_model(const ModelSpec& model, const std::filesystem::path& file) {
  detail::validate_graph(model, file);

  std::unordered_map<std::string, std::size_t> file_index;  // for error pointers
  for (std::size_t i = 0; i < model.layers.size(); ++i) file_index.emplace(model.layers[i].id, i);

  ModelSummary s;
  KeptTensors kept(model);
  std::unordered_map<std::string, std::size_t> done;  // id -> position in s.layers
  for (const LayerSpec* l : topological_order(model)) {
    std::vector<const LayerInfo*> inputs;
    for (const auto& in : l->inputs) inputs.push_back(&s.layers[done.at(in)]);
    detail::ShapeContext ctx{file, detail::node_pointer(file_index.at(l->id)), *l, l->inputs};
    LayerInfo info = infer_layer(ctx, inputs, kept);
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
  s.training_activation_bytes = training_peak(s.layers, model, kept.forward_peak);
  return s;
}

std::size_t summary_index(Policy p) {
  switch (p) {
    case Policy::MixedFloat16:
    case Policy::Float16:
      return 1;
    case Policy::MixedBFloat16:
    case Policy::BFloat16:
      return 2;
    case Policy::Float32:
      break;
  }
  return 0;
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
  KeptTensors kept(model);
  const std::filesystem::path no_file;
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    const LayerSpec& l = model.layers[i];
    std::vector<const LayerInfo*> inputs;
    for (const auto& in : l.inputs) inputs.push_back(&d.layers[done.at(in)]);
    detail::ShapeContext ctx{no_file, detail::node_pointer(i), l, l.inputs};
    try {
      LayerInfo info = infer_layer(ctx, inputs, kept);
      done.emplace(l.id, d.layers.size());
      d.layers.push_back(std::move(info));
    } catch (const detail::ProjectError& e) {
      d.problems.push_back({l.id, e.what_words, false});
      continue;  // what it feeds stays uninferred
    }
    for (std::size_t c : consumers[i])
      if (pending[c] != std::size_t(-1) && --pending[c] == 0) ready.insert(c);
  }
  if (d.layers.size() == model.layers.size())
    d.training_activation_bytes = training_peak(d.layers, model, kept.forward_peak);
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
