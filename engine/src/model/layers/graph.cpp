// Graph: builds layers from a validated ModelSpec and runs forward / backward
// over the DAG in topological order.
#include "mantissa/graph.hpp"

#include <map>

#include "mantissa/error.hpp"
#include "model/kinds/layer_rules.hpp"
#include "model/layers/layers.hpp"

namespace mantissa {

namespace {
// The tensor in `dtype`, casting (into a fresh tensor) only when needed.
Tensor as_dtype(Backend& backend, const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(backend, t.shape(), dtype);
  backend.cast(t, out);
  return out;
}
}  // namespace

Graph::Graph(const ModelSpec& model, Backend& backend, Policy policy, std::uint64_t init_seed,
             const std::filesystem::path& file_for_messages)
    : backend_(&backend), policy_(policy), summary_(analyze_model(model, file_for_messages)) {
  std::map<std::string, const LayerSpec*> specs;
  for (const auto& l : model.layers) specs[l.id] = &l;
  std::map<std::string, int> index;
  for (const LayerInfo& info : summary_.layers) {
    const LayerSpec& spec = *specs.at(info.id);
    Node node;
    std::vector<DType> input_dtypes;
    bool any_input_grad = false;
    for (const auto& in : spec.inputs) {
      const int j = index.at(in);
      node.inputs.push_back(j);
      input_dtypes.push_back(nodes_[std::size_t(j)].layer->dtype());
      any_input_grad = any_input_grad || nodes_[std::size_t(j)].needs_grad;
    }
    node.layer = create_layer(spec);
    node.layer->set_dtype(layer_output_dtype(spec, policy, input_dtypes));
    node.layer->create_state(backend, policy, info.input_shapes, init_seed);
    node.needs_grad = !node.layer->params().empty() || any_input_grad;
    index[info.id] = int(nodes_.size());
    if (is_loss(spec.kind)) loss_node_ = int(nodes_.size());
    nodes_.push_back(std::move(node));
  }
  MANTISSA_ASSERT(!nodes_.empty() && nodes_[0].layer->spec().kind == LayerKind::Input,
                  "analyze_model must put the Input first");
  MANTISSA_ASSERT(loss_node_ >= 0, "analyze_model must find the loss");
  output_node_ = index.at(summary_.output_id);
  fuse_linear_relu();
  build_numerics_slots();
}

// A ReLU fused into its Linear (detail::relu_runs_in_linear): one pass over
// the output instead of two, and one tensor saved instead of two. Results
// are the same bits either way (Backend::linear_forward).
void Graph::fuse_linear_relu() {
  std::vector<int> readers(nodes_.size(), 0);
  for (const Node& n : nodes_)
    for (int j : n.inputs) ++readers[std::size_t(j)];
  for (Node& n : nodes_) {
    if (n.layer->spec().kind != LayerKind::ReLU || n.inputs.size() != 1) continue;
    const int producer = n.inputs[0];
    Node& p = nodes_[std::size_t(producer)];
    if (!detail::relu_runs_in_linear(n.layer->spec().kind, n.inputs.size(), p.layer->spec().kind,
                                     readers[std::size_t(producer)], producer == output_node_,
                                     p.layer->dtype() == n.layer->dtype()))
      continue;
    static_cast<layers::Linear&>(*p.layer).fuse_relu();
    static_cast<layers::ActivationLayer&>(*n.layer).applied_by_producer();
    fused_relus_.push_back(n.layer->id());
  }
}

const Shape& Graph::input_shape() const {
  return summary_.layers.front().output_shape;
}

const Shape& Graph::output_shape() const {
  return summary_.layers[std::size_t(output_node_)].output_shape;
}

std::int64_t Graph::positions() const {
  const Shape& out = output_shape();
  return loss_kind() == LayerKind::SoftmaxCrossEntropy && out.rank() == 2 ? out[0] : 1;
}

std::int64_t Graph::outputs_per_position() const {
  return output_shape().numel() / positions();
}

LayerKind Graph::loss_kind() const {
  return nodes_[std::size_t(loss_node_)].layer->spec().kind;
}

std::vector<Param*> Graph::params() {
  std::vector<Param*> out;
  for (auto& n : nodes_)
    for (Param* p : n.layer->params()) out.push_back(p);
  return out;
}

std::vector<int> Graph::param_nodes() {
  std::vector<int> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (std::size_t k = 0; k < nodes_[i].layer->params().size(); ++k) out.push_back(int(i));
  return out;
}

std::vector<Buffer*> Graph::buffers() {
  std::vector<Buffer*> out;
  for (auto& n : nodes_)
    for (Buffer* b : n.layer->buffers()) out.push_back(b);
  return out;
}

bool Graph::has_batch_norm() const {
  for (const auto& n : nodes_)
    if (n.layer->spec().kind == LayerKind::BatchNorm) return true;
  return false;
}

void Graph::batch_norm_without_rows(ExecContext& ctx) {
  MANTISSA_ASSERT(ctx.rank_sum != nullptr, "batch_norm_without_rows() outside a synchronised step");
  std::vector<Layer*> norms;
  for (auto& n : nodes_)
    if (n.layer->spec().kind == LayerKind::BatchNorm) norms.push_back(n.layer.get());
  for (Layer* l : norms) {
    const Tensor none =
        Tensor::empty(*backend_, Shape{0, l->params().at(0)->master.numel()}, l->dtype());
    l->forward(ctx, std::span(&none, 1));
  }
  for (auto l = norms.rbegin(); l != norms.rend(); ++l) {
    const Tensor none =
        Tensor::empty(*backend_, Shape{0, (*l)->params().at(0)->master.numel()}, (*l)->dtype());
    (*l)->backward(ctx, none, {true});
    (*l)->clear_saved();
  }
}

Layer& Graph::layer(const std::string& id) {
  for (auto& n : nodes_)
    if (n.layer->id() == id) return *n.layer;
  throw InputError("no layer '" + id + "' in the model");
}

void Graph::prepare_step() {
  const std::vector<Param*> ps = params();
  for (std::size_t k = 0; k < ps.size(); ++k) {
    if (ps[k]->compute.data() == ps[k]->master.data()) continue;
    Backend::StatsTarget target;
    const bool stats = stats_target(weight16_slots_[k], target);
    backend_->cast_stats(ps[k]->master, ps[k]->compute, stats ? &target : nullptr);
    observe_slot(weight16_slots_[k], ps[k]->compute);
  }
}

Tensor Graph::forward(ExecContext& ctx, Tensor input) {
  // Release each intermediate as soon as its last consumer has run; layers keep
  // what their backward pass needs themselves.
  std::vector<int> last_use(nodes_.size(), -1);
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (int j : nodes_[i].inputs) last_use[std::size_t(j)] = int(i);
  last_use[std::size_t(output_node_)] = int(nodes_.size());  // kept for the loss

  nodes_[0].output = as_dtype(*backend_, input, nodes_[0].layer->dtype());
  if (nodes_[0].output.data() != input.data()) observe_cast(nodes_[0], 0, false, nodes_[0].output);
  input = Tensor();  // the batch is nodes_[0]'s output now, freed with its last reader
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    if (int(i) == loss_node_) continue;
    Node& node = nodes_[i];
    const bool token_input = detail::rules(node.layer->spec().kind).token_input;
    std::vector<Tensor> inputs;
    for (int j : node.inputs) {
      const Tensor& produced = nodes_[std::size_t(j)].output;
      inputs.push_back(token_input ? produced
                                   : as_dtype(*backend_, produced, node.layer->dtype()));
      if (inputs.back().data() != produced.data())
        observe_cast(node, int(inputs.size()) - 1, false, inputs.back());
    }
    // A tensor whose last reader takes a cast of it goes before that reader
    // runs (the fp32 batch under a mixed policy, once its 16-bit copy exists).
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      Node& producer = nodes_[std::size_t(node.inputs[k])];
      if (last_use[std::size_t(node.inputs[k])] == int(i) &&
          inputs[k].data() != producer.output.data())
        producer.output = Tensor();
    }
    // Statistics the layer's op takes (takes_stats()): of its input 0, for
    // the producer whose only reader it is, and of its output unless its
    // own reader takes those.
    const bool own_output_stats = !node.output_stats_by_consumer;
    const bool takes = node.layer->takes_stats();
    Backend::StatsTarget in_target, out_target;
    ctx.stats_in = takes && stats_target(node.in_stats_slot, in_target) ? &in_target : nullptr;
    ctx.stats_out = takes && own_output_stats && stats_target(node.output_slot, out_target)
                        ? &out_target
                        : nullptr;
    node.output = node.layer->forward(ctx, inputs);
    // Inference (validation, evaluate, sample) has no backward pass: what a
    // layer keeps for one goes at once, so only live intermediates take memory.
    if (!ctx.training) node.layer->clear_saved();
    ctx.stats_in = ctx.stats_out = nullptr;
    if (own_output_stats && !takes) {
      const int from = node.inputs.size() == 1 ? nodes_[std::size_t(node.inputs[0])].output_slot : -1;
      const bool passed_through = from >= 0 && node.output.data() == inputs[0].data() &&
                                  node.output.numel() == inputs[0].numel() &&
                                  node.output.dtype() == inputs[0].dtype() &&
                                  !nodes_[std::size_t(node.inputs[0])].output_stats_by_consumer;
      // Input 0 passed through unchanged (a ReLU its Linear applied, a
      // reshape): the same values, so the same words.
      if (passed_through) copy_stats(from, node.output_slot);
      else record_stats(node.output_slot, node.output);
    }
    observe_slot(node.output_slot, node.output);
    for (int j : node.inputs)
      if (last_use[std::size_t(j)] == int(i)) nodes_[std::size_t(j)].output = Tensor();
  }
  return nodes_[std::size_t(output_node_)].output;
}

void Graph::loss_and_backward(ExecContext& ctx, const Tensor& targets, const Tensor& scale,
                              Tensor& loss) {
  Node& out = nodes_[std::size_t(output_node_)];
  MANTISSA_ASSERT(out.output.defined(), "loss_and_backward() needs forward() first");
  auto& loss_layer = static_cast<LossLayer&>(*nodes_[std::size_t(loss_node_)].layer);
  // The loss is fp32 (the loss layer widens 16-bit predictions exactly, with
  // no fp32 copy of the logits where its op can read them as they are); its
  // gradient is rounded straight into the dtype the producer emitted (this is
  // where an fp16 gradient can underflow).
  Tensor pred = out.output;
  Tensor dpred = Tensor::empty(*backend_, out.output.shape(), out.layer->dtype());
  loss_layer.loss_and_grad(ctx, pred, targets, scale, loss, dpred);
  record(loss_slot_, loss);
  record(nodes_[std::size_t(loss_node_)].input_grad_slots.at(0), dpred);
  // The logits are not needed past the loss: holding them through the
  // backward pass would count them in its peak.
  pred = Tensor();
  out.output = Tensor();
  out.grad = std::move(dpred);  // released with the output node's backward pass

  for (int i = output_node_; i >= 1; --i) {
    Node& node = nodes_[std::size_t(i)];
    if (!node.grad.defined() || !node.needs_grad) {
      node.grad = Tensor();
      continue;
    }
    if (node.grad_sum_slot >= 0) record(node.grad_sum_slot, node.grad);
    std::vector<bool> need;
    for (int j : node.inputs) need.push_back(nodes_[std::size_t(j)].needs_grad);
    // Statistics the layer's op takes: of the gradient flowing in (for its
    // reader, whose backward produced it) and of input 0's gradient.
    const bool takes = node.layer->takes_stats();
    Backend::StatsTarget dy_target, dx_target;
    const bool own_dx_stats = !node.input_grad_slots.empty() &&
                              !node.input_grad_stats_by_source.at(0);
    ctx.stats_in = takes && stats_target(node.dy_stats_slot, dy_target) ? &dy_target : nullptr;
    ctx.stats_out = takes && own_dx_stats && stats_target(node.input_grad_slots[0], dx_target)
                        ? &dx_target
                        : nullptr;
    std::vector<Tensor> grads = node.layer->backward(ctx, node.grad, need);
    ctx.stats_in = ctx.stats_out = nullptr;
    node.grad = Tensor();
    node.layer->clear_saved();
    if (ctx.backward_done != nullptr) (*ctx.backward_done)(i);
    for (std::size_t k = 0; k < node.inputs.size() && k < grads.size(); ++k) {
      if (!grads[k].defined() || !need[k]) continue;
      if (!node.input_grad_stats_by_source[k] && !(takes && k == 0))
        record_stats(node.input_grad_slots[k], grads[k]);
      observe_slot(node.input_grad_slots[k], grads[k]);
      Node& src = nodes_[std::size_t(node.inputs[k])];
      Tensor g = as_dtype(*backend_, grads[k], src.layer->dtype());
      if (g.data() != grads[k].data()) observe_cast(node, int(k), true, g);
      if (!src.grad.defined()) {
        src.grad = g;
      } else {  // fan-out: sum into a fresh tensor, never into one a layer handed out
        Tensor sum = Tensor::empty(*backend_, src.grad.shape(), src.grad.dtype());
        backend_->add(src.grad, g.reshaped(src.grad.shape()), sum);
        src.grad = sum;
      }
    }
  }
  if (numerics_ != nullptr || observer_ != nullptr) {
    const std::vector<Param*> ps = params();
    for (std::size_t k = 0; k < ps.size(); ++k) {
      if (!weight_grad_stats_deferred_) record_stats(weight_grad_slots_[k], ps[k]->grad);
      observe_slot(weight_grad_slots_[k], ps[k]->grad);
    }
  }
}

void Graph::clear_saved() {
  for (auto& n : nodes_) {
    n.output = Tensor();
    n.grad = Tensor();
    n.layer->clear_saved();
  }
}

}  // namespace mantissa
