// The divergence probe (probe.hpp): TrainingStep::probe and the culprit rule.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "mantissa/error.hpp"
#include "mantissa/probe.hpp"
#include "mantissa/step_state.hpp"
#include "mantissa/train_step.hpp"
#include "train/rerun.hpp"

namespace mantissa {

namespace {

// Every tensor the graph shows, with its values (waiting for each).
class Capture : public TensorObserver {
 public:
  struct Seen {
    TensorEvent event;
    DType dtype = DType::F32;
    std::vector<float> values;
  };
  void observe(const TensorEvent& e, const Tensor& t) override {
    // Weight gradients are read from the parameters once the pass is done.
    if (e.role == TensorRole::WeightGrad) return;
    seen.push_back({e, t.dtype(), t.to_host()});
  }
  std::vector<Seen> seen;
};

// ||a / scale - b|| / ||b||; +inf where a holds a non-finite value.
double relative_error(const std::vector<float>& a, const std::vector<float>& b, double scale) {
  if (a.size() != b.size()) return std::numeric_limits<double>::quiet_NaN();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
    const double d = double(a[i]) / scale - double(b[i]);
    diff += d * d;
    norm += double(b[i]) * double(b[i]);
  }
  if (norm == 0) return diff == 0 ? 0 : std::numeric_limits<double>::infinity();
  return std::sqrt(diff / norm);
}

bool is_cast(const ProbeOp& op) { return op.what.find(" cast to ") != std::string::npos; }
bool is_copy(const ProbeOp& op) { return op.role == TensorRole::Weight16; }

std::string layer_of_param(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

}  // namespace

void mark_culprits(StepProbe& probe, const std::map<std::string, std::vector<std::string>>& inputs,
                   double ratio, double floor) {
  const auto inputs_of = [&](const std::string& layer) -> const std::vector<std::string>& {
    static const std::vector<std::string> none;
    const auto it = inputs.find(layer);
    return it == inputs.end() ? none : it->second;
  };
  const auto reads_layer = [&](const std::string& reader, const std::string& layer) {
    const auto& in = inputs_of(reader);
    return std::find(in.begin(), in.end(), layer) != in.end();
  };
  // What a layer hands on: its output, or for the model's input (a layer
  // reading nothing) the batch cast to the policy's dtype.
  const auto produced = [&](const ProbeOp& r) {
    return r.what == "output" || (is_cast(r) && inputs_of(r.layer).empty());
  };
  probe.culprits.clear();
  for (std::size_t i = 0; i < probe.ops.size(); ++i) {
    ProbeOp& op = probe.ops[i];
    double in = 0;
    for (std::size_t j = 0; j < i; ++j) {
      const ProbeOp& r = probe.ops[j];
      bool read = false;
      if (!r.backward()) {
        // Forward values: the layer's inputs (their outputs, or their casts
        // and its own 16-bit weights); a backward op reads its layer's too.
        const bool own = r.layer == op.layer;
        read = (own && (is_cast(r) || is_copy(r))) ||
               (produced(r) && reads_layer(op.layer, r.layer)) ||
               (op.backward() && own && r.what == "output");
      } else if (op.backward()) {
        // The gradient flowing in: from the layers that read this one, or
        // its summed slot, or their casts.
        const bool from_reader = r.role == TensorRole::ActivationGrad && r.input >= 0 &&
                                 reads_layer(r.layer, op.layer) &&
                                 std::size_t(r.input) < inputs_of(r.layer).size() &&
                                 inputs_of(r.layer)[std::size_t(r.input)] == op.layer;
        const bool summed = r.layer == op.layer && r.input < 0 && r.role == TensorRole::ActivationGrad;
        read = from_reader || (summed && &r != &op);
      }
      if (read && std::isfinite(r.error)) in = std::max(in, r.error);
    }
    op.input_error = in;
    op.culprit = !is_cast(op) && !is_copy(op) && op.error >= floor && op.error >= ratio * in;
    if (op.culprit &&
        std::find(probe.culprits.begin(), probe.culprits.end(), op.layer) == probe.culprits.end())
      probe.culprits.push_back(op.layer);
  }
}

std::string StepProbe::sentence() const {
  std::ostringstream s;
  s.precision(3);
  s << "At step " << step << ", ";
  if (culprits.empty()) {
    s << "no op creates error beyond what it reads: the run's difference from fp32 there is "
         "drift built up over earlier steps";
    return s.str();
  }
  const auto first = std::find_if(ops.begin(), ops.end(), [](const ProbeOp& o) { return o.culprit; });
  s << first->layer << " " << first->what << " is " << first->error << " off fp32 from inputs "
    << first->input_error << " off";
  if (culprits.size() > 1) {
    s << " (culprits: ";
    for (std::size_t i = 0; i < culprits.size(); ++i) s << (i ? ", " : "") << culprits[i];
    s << ")";
  }
  s << ": precision creates the error there";
  return s.str();
}

StepProbe TrainingStep::probe(std::span<const float> x, std::span<const float> y, std::int64_t n,
                              std::uint64_t dropout_seed, std::int64_t step,
                              const ModelSpec& model, std::uint64_t init_seed,
                              const std::filesystem::path& file) {
  const Shape xs = input_batch_shape(n), ys = target_batch_shape(n);
  MANTISSA_ASSERT(std::int64_t(x.size()) == xs.numel() && std::int64_t(y.size()) == ys.numel(),
                  "probe: a batch of " + std::to_string(n) + " samples does not fit the model");
  StepProbe probe;
  probe.step = step;
  probe.scale = read_state().scale;
  const Tensor tx = Tensor::from_host(backend_, xs, DType::F32, x.data());
  const Tensor ty = Tensor::from_host(backend_, ys, DType::F32, y.data());

  // The same weights and running statistics in a float32 graph.
  Graph reference(model, backend_, Policy::Float32, init_seed, file);
  const std::vector<Param*> mine = graph_.params(), theirs = reference.params();
  MANTISSA_ASSERT(mine.size() == theirs.size(), "probe: the float32 model has other parameters");
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const std::vector<float> w = mine[i]->master.to_host();
    theirs[i]->master.copy_from_host(w.data());
  }
  const SavedBuffers buffers(graph_);
  buffers.restore(reference);

  Capture cand, ref;
  float loss = 0, loss_fp32 = 0;
  graph_.attach_numerics(nullptr);
  try {
    loss = rerun_step(graph_, backend_, probe.scale, tx, ty, dropout_seed, step, cand);
  } catch (...) {
    graph_.attach_numerics(numerics_.stats.defined() ? &numerics_ : nullptr);
    buffers.restore(graph_);
    throw;
  }
  loss_fp32 = rerun_step(reference, backend_, 1.0, tx, ty, dropout_seed, step, ref);
  probe.loss = loss;
  probe.loss_fp32 = loss_fp32;

  std::map<std::string, const std::vector<float>*> by_key;
  for (const Capture::Seen& s : ref.seen) by_key[s.event.layer + "\n" + s.event.what] = &s.values;
  // The model's input is the batch itself, in both.
  const std::vector<float> batch(x.begin(), x.end());
  by_key.emplace(graph_.summary().layers.front().id + "\noutput", &batch);
  std::map<std::string, std::vector<std::string>> inputs;
  for (const NumericsSlot& s : graph_.numerics_slots())
    if (s.role == TensorRole::Activation) inputs[s.layer] = graph_.layer(s.layer).spec().inputs;
  std::map<std::string, const Param*> ref_params;
  for (const Param* p : theirs) ref_params[p->name] = p;

  for (const Capture::Seen& s : cand.seen) {
    const TensorEvent& e = s.event;
    const bool backward = e.role == TensorRole::ActivationGrad || e.role == TensorRole::WeightGrad;
    // What fp32 made in its place: the same tensor, or for a cast what was
    // cast, or for a 16-bit weight copy the weight.
    std::vector<float> weight;
    const std::vector<float>* against = nullptr;
    const auto cast_at = e.what.find(" cast to ");
    if (e.role == TensorRole::Weight16) {
      const std::string param = e.what.substr(std::string("16-bit copy of ").size());
      const auto it = ref_params.find(param);
      if (it == ref_params.end()) continue;
      weight = it->second->master.to_host();
      against = &weight;
    } else if (cast_at != std::string::npos) {
      if (!backward && e.layer == graph_.summary().layers.front().id) {
        against = &batch;  // the model's input, cast to the policy's dtype
      } else if (!backward) {
        const auto& in = inputs[e.layer];
        if (e.input < 0 || std::size_t(e.input) >= in.size()) continue;
        const auto it = by_key.find(in[std::size_t(e.input)] + "\noutput");
        if (it != by_key.end()) against = it->second;
      } else {
        const auto it = by_key.find(e.layer + "\n" + e.what.substr(0, cast_at));
        if (it != by_key.end()) against = it->second;
      }
    } else {
      const auto it = by_key.find(e.layer + "\n" + e.what);
      if (it != by_key.end()) against = it->second;
    }
    if (against == nullptr) continue;
    ProbeOp op;
    op.layer = e.layer;
    op.what = e.what;
    op.role = e.role;
    op.input = e.input;
    op.dtype = s.dtype;
    op.error = relative_error(s.values, *against, backward ? probe.scale : 1.0);
    probe.ops.push_back(std::move(op));
  }
  // Weight gradients, as the backward pass left them (the run's still × S).
  for (std::size_t i = 0; i < mine.size(); ++i) {
    ProbeOp op;
    op.layer = layer_of_param(mine[i]->name);
    op.what = "gradient of " + mine[i]->name;
    op.role = TensorRole::WeightGrad;
    op.error = relative_error(mine[i]->grad.to_host(), theirs[i]->grad.to_host(), probe.scale);
    probe.ops.push_back(std::move(op));
  }
  graph_.attach_numerics(numerics_.stats.defined() ? &numerics_ : nullptr);
  buffers.restore(graph_);
  mark_culprits(probe, inputs);
  return probe;
}

}  // namespace mantissa
