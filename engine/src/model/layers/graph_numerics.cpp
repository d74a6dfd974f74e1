// Graph: the numerics slots of a step (numerics.hpp) and where its tensors
// are recorded and shown to an observer.
#include <string>

#include "mantissa/graph.hpp"
#include "mantissa/numerics_bits.hpp"

namespace mantissa {

namespace nb = numerics_bits;

// Slots in execution order: 16-bit weight copies (prepare_step), forward
// outputs in topological order with the loss last, the loss's gradient and
// then each layer's input gradients in reverse order, then weight gradients.
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
  for (int i = output_node_; i >= 1; --i) {
    Node& n = nodes_[std::size_t(i)];
    n.input_grad_slots.assign(n.inputs.size(), -1);
    if (!n.needs_grad) continue;
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
}

void Graph::record(int slot, const Tensor& t) {
  if (slot < 0 || !t.defined()) return;
  if (numerics_ != nullptr) {
    Tensor stats = numerics_->stats.slice(std::int64_t(slot) * nb::kWords, Shape{nb::kWords});
    if (numerics_->histograms.defined()) {
      Tensor hist = numerics_->histograms.slice(std::int64_t(slot) * nb::kBins, Shape{nb::kBins});
      backend_->tensor_stats(t, stats, &hist, &numerics_->enable);
    } else {
      backend_->tensor_stats(t, stats, nullptr, nullptr);
    }
  }
  if (observer_ != nullptr) {
    const NumericsSlot& s = slots_[std::size_t(slot)];
    std::string what;
    switch (s.role) {
      case TensorRole::Weight16: what = "16-bit copy of " + s.param; break;
      case TensorRole::Activation: what = "output"; break;
      case TensorRole::ActivationGrad: what = "gradient of input " + std::to_string(s.input); break;
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
