// The model as a graph: structural validation and topological order.
#include <optional>
#include <set>
#include <unordered_map>

#include "mantissa/error.hpp"
#include "mantissa/layer_descriptor.hpp"
#include "model/kinds/layer_rules.hpp"
#include "model/model_internal.hpp"

namespace mantissa {

namespace {

using detail::node_pointer;
using detail::throw_project_error;

std::unordered_map<std::string_view, std::size_t> index_by_id(const ModelSpec& model) {
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < model.layers.size(); ++i) index.emplace(model.layers[i].id, i);
  return index;
}

std::string in_quotes(std::string_view s) {
  std::string out(1, '\'');
  out.append(s).push_back('\'');
  return out;
}

// Depth-first search along input edges; the first back edge closes a cycle,
// which is returned in data-flow order starting and ending at the same layer.
std::vector<std::size_t> find_cycle(
    const ModelSpec& model, const std::unordered_map<std::string_view, std::size_t>& index) {
  enum class Mark { New, Open, Done };
  std::vector<Mark> mark(model.layers.size(), Mark::New);
  struct Frame {
    std::size_t node;
    std::size_t next_input;
  };
  for (std::size_t root = 0; root < model.layers.size(); ++root) {
    if (mark[root] != Mark::New) continue;
    std::vector<Frame> stack{{root, 0}};
    mark[root] = Mark::Open;
    while (!stack.empty()) {
      Frame& f = stack.back();
      const auto& inputs = model.layers[f.node].inputs;
      if (f.next_input == inputs.size()) {
        mark[f.node] = Mark::Done;
        stack.pop_back();
        continue;
      }
      const auto known = index.find(inputs[f.next_input++]);
      if (known == index.end()) continue;  // reported as an unknown input
      const std::size_t in = known->second;
      if (mark[in] == Mark::New) {
        mark[in] = Mark::Open;
        stack.push_back({in, 0});
      } else if (mark[in] == Mark::Open) {
        // stack[k + 1] is an input of stack[k], so data flows from the top
        // of the stack down to `in`, and from `in` back to the top.
        std::size_t k = 0;
        while (stack[k].node != in) ++k;
        std::vector<std::size_t> cycle{in};
        for (std::size_t j = stack.size(); j-- > k + 1;) cycle.push_back(stack[j].node);
        cycle.push_back(in);
        return cycle;
      }
    }
  }
  return {};
}

}  // namespace

namespace detail {

std::vector<GraphProblem> graph_problems(const ModelSpec& model) {
  const auto& layers = model.layers;
  std::vector<GraphProblem> out;
  // The node is read back from the pointer ("/model/nodes/<i>...").
  auto add = [&](std::string pointer, std::string_view layer, std::string what,
                 GraphProblem::Kind kind = GraphProblem::Kind::Error) {
    std::size_t node = GraphProblem::kNoNode;
    static constexpr std::string_view kNodes = "/model/nodes/";
    if (pointer.rfind(kNodes, 0) == 0) node = std::stoul(pointer.substr(kNodes.size()));
    out.push_back({std::move(pointer), std::string(layer), std::move(what), kind, node});
  };
  if (layers.empty()) {
    add("/model/nodes", {}, "the model has no layers");
    return out;
  }

  std::unordered_map<std::string_view, std::size_t> index;
  std::vector<std::string_view> ids;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& id = layers[i].id;
    if (id.empty()) {
      add(node_pointer(i) + "/id", {}, "layer id is empty");
      continue;
    }
    auto [it, inserted] = index.emplace(id, i);
    if (!inserted)
      add(node_pointer(i) + "/id", id,
          "duplicate id (already used by " + node_pointer(it->second) + ")");
    else
      ids.push_back(id);
  }

  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    for (std::size_t k = 0; k < l.inputs.size(); ++k)
      if (!index.contains(l.inputs[k]))
        add(node_pointer(i) + "/inputs/" + std::to_string(k), l.id,
            "input " + in_quotes(l.inputs[k]) + " does not exist (" + suggest(l.inputs[k], ids) +
                ")");
  }

  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    std::size_t n = l.inputs.size();
    const LayerDescriptor& d = descriptor(l.kind);
    std::string kind(d.name);
    std::string got = ", got " + std::to_string(n);
    if (d.inputs == Arity::None && n != 0)
      add(node_pointer(i) + "/inputs", l.id, kind + " takes no inputs" + got);
    if (d.inputs == Arity::Many && n < 2)
      add(node_pointer(i) + "/inputs", l.id, kind + " needs at least 2 inputs" + got);
    if (d.inputs == Arity::One && n != 1)
      add(node_pointer(i) + "/inputs", l.id, kind + " takes exactly 1 input" + got);
  }

  std::optional<std::size_t> input, loss;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    if (descriptor(l.kind).inputs == Arity::None) {
      if (input)
        add(node_pointer(i), l.id,
            "more than one Input layer (" + in_quotes(layers[*input].id) +
                " is already the input; a model has exactly one)");
      else
        input = i;
    }
    if (is_loss(l.kind)) {
      if (loss)
        add(node_pointer(i), l.id,
            "more than one loss layer (" + in_quotes(layers[*loss].id) +
                " is already the loss; a model has exactly one)");
      else
        loss = i;
    }
  }
  if (!input) add("/model/nodes", {}, "the model has no Input layer");
  // Token ids stay exact only on an Input that says it holds them.
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    if (!detail::rules(l.kind).token_input || l.inputs.size() != 1) continue;
    const auto from = index.find(l.inputs[0]);
    if (from == index.end()) continue;
    const LayerSpec& src = layers[from->second];
    if (src.kind != LayerKind::Input || !src.tokens)
      add(node_pointer(i) + "/inputs/0", l.id,
          std::string(descriptor(l.kind).name) + " takes token ids: its input must be the Input " +
              "layer with \"tokens\": true, not " + in_quotes(src.id));
  }
  if (!loss) {
    std::string losses;
    for (const LayerDescriptor* d : all_descriptors())
      if (d->is_loss) losses += (losses.empty() ? "" : " or ") + std::string(d->name);
    add("/model/nodes", {}, "the model has no loss layer (end it with " + losses + ")");
  }

  if (auto cycle = find_cycle(model, index); !cycle.empty()) {
    std::string path;
    for (std::size_t j = 0; j < cycle.size(); ++j)
      path += (j ? " -> " : "") + in_quotes(layers[cycle[j]].id);
    for (std::size_t j = 0; j + 1 < cycle.size(); ++j)
      add(node_pointer(cycle[j]), layers[cycle[j]].id, "the layers form a cycle: " + path);
  }

  // The loss must end the graph, and every other layer must lead to it.
  std::vector<bool> used(layers.size(), false);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    for (std::size_t k = 0; k < l.inputs.size(); ++k) {
      const auto known = index.find(l.inputs[k]);
      if (known == index.end()) continue;
      const std::size_t in = known->second;
      used[in] = true;
      if (loss && in == *loss)
        add(node_pointer(i) + "/inputs/" + std::to_string(k), l.id,
            "takes the output of the loss " + in_quotes(layers[in].id) +
                "; the loss must be the last layer");
    }
  }
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (!used[i] && (!loss || i != *loss) && !is_loss(layers[i].kind))
      add(node_pointer(i), layers[i].id,
          loss ? "output is not used by any layer; every layer must lead to the loss " +
                     in_quotes(layers[*loss].id)
               : std::string("output is not used by any layer"),
          GraphProblem::Kind::Unused);
  return out;
}

void validate_graph(const ModelSpec& model, const std::filesystem::path& file) {
  const std::vector<GraphProblem> problems = graph_problems(model);
  if (problems.empty()) return;
  const GraphProblem& first = problems.front();
  throw_project_error(file, first.pointer, first.layer_id, first.what);
}

}  // namespace detail

std::vector<const LayerSpec*> topological_order(const ModelSpec& model) {
  auto index = index_by_id(model);
  MANTISSA_ASSERT(index.size() == model.layers.size(), "duplicate layer ids");
  std::vector<std::size_t> pending(model.layers.size(), 0);
  std::vector<std::vector<std::size_t>> consumers(model.layers.size());
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    for (const auto& in : model.layers[i].inputs) {
      auto it = index.find(in);
      MANTISSA_ASSERT(it != index.end(), "unknown input '" + in + "'");
      consumers[it->second].push_back(i);
      ++pending[i];
    }
  }
  // Among the layers that are ready, the earliest in the file goes first, so a
  // file that is already in order keeps its order.
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < pending.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<const LayerSpec*> order;
  while (!ready.empty()) {
    std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(&model.layers[i]);
    for (std::size_t c : consumers[i])
      if (--pending[c] == 0) ready.insert(c);
  }
  MANTISSA_ASSERT(order.size() == model.layers.size(), "the model graph has a cycle");
  return order;
}

}  // namespace mantissa
