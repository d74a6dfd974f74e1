// Graph: the numerics slots of a step (numerics.hpp) and where its tensors
// are recorded and shown to an observer.
#include <string>

#include "mantissa/graph.hpp"
#include "mantissa/numerics_bits.hpp"

namespace mantissa {

namespace nb = numerics_bits;

// Slots in execution order: 16-bit weight copies (prepare_step), forward
// outputs in topological order with the loss last, the loss's gradient and
// then, in reverse order, each layer's summed output gradient (a layer with
// several readers) and its input gradients, then weight gradients.
void Graph::build_numerics_slots() {
  slots_.clear();
  weight16_slots_.clear();
  weight_grad_slots_.clear();
  const auto add = [&](NumericsSlot s) {
    slots_.push_back(std::move(s));
    return int(slots_.size()) - 1;
  };
  std::vector<Param*> ps = params();
  for (Param* p : ps) {
    const bool copy = p->compute.data() != p->master.data();
    // The layer owning the parameter: its name is "<layer id>.<what>".
    const std::string layer = p->name.substr(0, p->name.rfind('.'));
    weight16_slots_.push_back(copy ? add({layer, TensorRole::Weight16, -1, p->name,
                                          p->compute.dtype()})
                                   : -1);
  }
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    if (int(i) == loss_node_) continue;
    Node& n = nodes_[i];
    n.output_slot = add({n.layer->id(), TensorRole::Activation, -1, {}, n.layer->dtype()});
  }
  Node& loss = nodes_[std::size_t(loss_node_)];
  loss_slot_ = add({loss.layer->id(), TensorRole::Activation, -1, {}, DType::F32});
  // The loss's gradient is the gradient of its input 0 (the output node).
  loss.input_grad_slots = {add({loss.layer->id(), TensorRole::ActivationGrad, 0, {},
                                nodes_[std::size_t(output_node_)].layer->dtype()})};
  // Gradients each node receives: one per (reader, input) that passes one.
  std::vector<int> contributions(nodes_.size(), 0);
  for (std::size_t c = 1; c < nodes_.size(); ++c) {
    if (!nodes_[c].needs_grad && int(c) != loss_node_) continue;
    for (int j : nodes_[c].inputs)
      if (nodes_[std::size_t(j)].needs_grad) ++contributions[std::size_t(j)];
  }
  for (int i = output_node_; i >= 1; --i) {
    Node& n = nodes_[std::size_t(i)];
    n.input_grad_slots.assign(n.inputs.size(), -1);
    n.grad_sum_slot = -1;
    if (!n.needs_grad) continue;
    if (contributions[std::size_t(i)] > 1)
      n.grad_sum_slot = add({n.layer->id(), TensorRole::ActivationGrad, -1, {}, n.layer->dtype()});
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      if (!nodes_[std::size_t(n.inputs[k])].needs_grad) continue;
      n.input_grad_slots[k] =
          add({n.layer->id(), TensorRole::ActivationGrad, int(k), {}, n.layer->dtype()});
    }
  }
  for (Param* p : ps) {
    const std::string layer = p->name.substr(0, p->name.rfind('.'));
    weight_grad_slots_.push_back(add({layer, TensorRole::WeightGrad, -1, p->name, DType::F32}));
  }
  plan_stats_in_ops();
}

std::vector<bool> Graph::scaled_16bit_slots() {
  const auto is16 = [](DType d) { return d == DType::F16 || d == DType::BF16; };
  std::vector<bool> out(slots_.size(), false);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.grad_sum_slot >= 0) out[std::size_t(n.grad_sum_slot)] = is16(n.layer->dtype());
    for (std::size_t k = 0; k < n.input_grad_slots.size() && k < n.inputs.size(); ++k) {
      const int slot = n.input_grad_slots[k];
      if (slot < 0) continue;
      const Node& producer = nodes_[std::size_t(n.inputs[k])];
      out[std::size_t(slot)] = is16(slots_[std::size_t(slot)].dtype) || is16(producer.layer->dtype());
    }
  }
  const std::vector<Param*> ps = params();
  for (std::size_t k = 0; k < ps.size() && k < weight_grad_slots_.size(); ++k)
    if (weight_grad_slots_[k] >= 0) out[std::size_t(weight_grad_slots_[k])] = is16(ps[k]->grad.dtype());
  return out;
}

// A layer whose op can count the tensors it reads (takes_stats()) takes the
// statistics of its input 0 when it is that tensor's only reader and no cast
// lies between, and likewise of the gradient flowing into it: one pass over
// memory fewer for each. The slots and their order do not change.
void Graph::plan_stats_in_ops() {
  std::vector<int> readers(nodes_.size(), 0), reader(nodes_.size(), -1);
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (int j : nodes_[i].inputs) {
      ++readers[std::size_t(j)];
      reader[std::size_t(j)] = int(i);
    }
  for (Node& n : nodes_) {
    n.output_stats_by_consumer = false;
    n.input_grad_stats_by_source.assign(n.inputs.size(), false);
    n.in_stats_slot = n.dy_stats_slot = -1;
  }
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    Node& n = nodes_[i];
    if (int(i) == loss_node_ || !n.layer->takes_stats() || n.inputs.size() != 1) continue;
    const auto p = std::size_t(n.inputs[0]);
    Node& producer = nodes_[p];
    if (p != 0 && readers[p] == 1 && producer.layer->dtype() == n.layer->dtype() &&
        producer.output_slot >= 0) {
      producer.output_stats_by_consumer = true;
      n.in_stats_slot = producer.output_slot;
    }
    if (int(i) == output_node_ || readers[i] != 1 || !n.needs_grad) continue;
    Node& consumer = nodes_[std::size_t(reader[i])];
    if (consumer.layer->dtype() != n.layer->dtype()) continue;
    for (std::size_t k = 0; k < consumer.inputs.size(); ++k)
      if (consumer.inputs[k] == int(i) && consumer.input_grad_slots[k] >= 0) {
        consumer.input_grad_stats_by_source[k] = true;
        n.dy_stats_slot = consumer.input_grad_slots[k];
      }
  }
}

void Graph::record(int slot, const Tensor& t) {
  record_stats(slot, t);
  observe_slot(slot, t);
}

bool Graph::stats_target(int slot, Backend::StatsTarget& target) const {
  if (slot < 0 || numerics_ == nullptr) return false;
  target.stats = numerics_->stats.slice(std::int64_t(slot) * nb::kWords, Shape{nb::kWords});
  target.histogram =
      numerics_->histograms.defined()
          ? numerics_->histograms.slice(std::int64_t(slot) * nb::kBins, Shape{nb::kBins})
          : Tensor();
  target.enable = numerics_->histograms.defined() ? &numerics_->enable : nullptr;
  return true;
}

void Graph::record_stats(int slot, const Tensor& t) {
  Backend::StatsTarget target;
  if (!t.defined() || !stats_target(slot, target)) return;
  backend_->take_stats(t, target);
}

void Graph::copy_stats(int from, int to) {
  Backend::StatsTarget a, b;
  if (!stats_target(from, a) || !stats_target(to, b)) return;
  backend_->cast(a.stats, b.stats);  // fp32 storage to fp32: the words' bits
  if (a.histogram.defined()) backend_->cast(a.histogram, b.histogram);
}

std::vector<Backend::StatsTarget*> Graph::weight_grad_targets(
    std::vector<Backend::StatsTarget>& storage) const {
  std::vector<Backend::StatsTarget*> out;
  if (numerics_ == nullptr) return out;
  storage.assign(weight_grad_slots_.size(), {});
  for (std::size_t k = 0; k < weight_grad_slots_.size(); ++k)
    out.push_back(stats_target(weight_grad_slots_[k], storage[k]) ? &storage[k] : nullptr);
  return out;
}

void Graph::observe_slot(int slot, const Tensor& t) {
  if (slot < 0 || !t.defined()) return;
  if (observer_ != nullptr) {
    const NumericsSlot& s = slots_[std::size_t(slot)];
    std::string what;
    switch (s.role) {
      case TensorRole::Weight16: what = "16-bit copy of " + s.param; break;
      case TensorRole::Activation: what = "output"; break;
      case TensorRole::ActivationGrad:
        what = s.input < 0 ? "gradient of output (summed over its readers)"
                           : "gradient of input " + std::to_string(s.input);
        break;
      case TensorRole::WeightGrad: what = "gradient of " + s.param; break;
    }
    observer_->observe({slot, s.layer, s.role, s.input, what}, t);
  }
}

void Graph::observe_cast(const Node& node, int input, bool backward, const Tensor& t) {
  if (observer_ == nullptr) return;
  const std::string what = backward ? "gradient of input " + std::to_string(input) + " cast to " +
                                          std::string(dtype_name(t.dtype()))
                                    : "input " + std::to_string(input) + " cast to " +
                                          std::string(dtype_name(t.dtype()));
  observer_->observe({-1, node.layer->id(),
                      backward ? TensorRole::ActivationGrad : TensorRole::Activation, input, what},
                     t);
}

}  // namespace mantissa
