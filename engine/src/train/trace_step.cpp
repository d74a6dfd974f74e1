// TrainingStep::trace and measure_at: a skipped step run again op by op
// (provenance.hpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <set>

#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/step_state.hpp"
#include "mantissa/train_step.hpp"
#include "train/rerun.hpp"

namespace mantissa {

namespace {

namespace nb = numerics_bits;

// Measures every tensor the graph shows it, as it is made (waiting for it).
class Tracer : public TensorObserver {
 public:
  explicit Tracer(Backend& backend)
      : backend_(backend), stats_(Tensor::zeros(backend, Shape{nb::kWords}, DType::F32)) {}

  void observe(const TensorEvent& e, const Tensor& t) override {
    backend_.tensor_stats(t, stats_, nullptr, nullptr);
    const std::vector<std::uint8_t> bytes = stats_.to_host_bytes();
    NumericsWords w{};
    std::memcpy(w.data(), bytes.data(), sizeof w);
    TracedTensor r;
    r.layer = e.layer;
    r.role = e.role;
    r.slot = e.slot;
    r.input = e.input;
    r.what = e.what;
    r.dtype = t.dtype();
    r.stats = decode_stats(w);
    tensors.push_back(std::move(r));
  }

  std::vector<TracedTensor> tensors;

 private:
  Backend& backend_;
  Tensor stats_;
};

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

}  // namespace

SavedBuffers::SavedBuffers(Graph& g) {
  for (Buffer* b : g.buffers()) values_.push_back(b->value.to_host());
}

void SavedBuffers::restore(Graph& g) const {
  const std::vector<Buffer*> bs = g.buffers();
  for (std::size_t i = 0; i < bs.size() && i < values_.size(); ++i)
    bs[i]->value.copy_from_host(values_[i].data());
}

float rerun_step(Graph& g, Backend& backend, double scale, const Tensor& x, const Tensor& y,
                 std::uint64_t dropout_seed, std::int64_t step, TensorObserver& observer) {
  StepState st{};
  st.scale = float(scale);
  st.steps_taken = step - 1;  // what dropout drew from in the step itself
  Tensor state = make_step_state(backend, st);
  ExecContext ctx{backend, true, dropout_seed, &state};
  const float s = float(scale);
  const Tensor scale_t = Tensor::from_host(backend, Shape{1}, DType::F32, &s);
  Tensor loss = Tensor::zeros(backend, Shape{1}, DType::F32);
  g.set_observer(&observer);
  try {
    g.prepare_step();
    g.forward(ctx, x);
    g.loss_and_backward(ctx, y, scale_t, loss);
  } catch (...) {
    g.set_observer(nullptr);
    g.clear_saved();
    throw;
  }
  g.set_observer(nullptr);
  g.clear_saved();
  return loss.to_host()[0];
}

std::vector<TracedTensor> TrainingStep::measure_at(double scale, std::span<const float> x,
                                                   std::span<const float> y, std::int64_t n,
                                                   std::uint64_t dropout_seed, std::int64_t step,
                                                   float* loss_out) {
  const Shape xs = input_batch_shape(n), ys = target_batch_shape(n);
  MANTISSA_ASSERT(std::int64_t(x.size()) == xs.numel() && std::int64_t(y.size()) == ys.numel(),
                  "trace: a batch of " + std::to_string(n) + " samples does not fit the model");
  Tensor tx = Tensor::empty(backend_, xs, DType::F32);
  backend_.upload(tx.data(), x.data(), tx.bytes());
  Tensor ty = Tensor::empty(backend_, ys, DType::F32);
  backend_.upload(ty.data(), y.data(), ty.bytes());
  const SavedBuffers buffers(graph_);
  Tracer tracer(backend_);
  graph_.attach_numerics(nullptr);
  const auto restore = [&] {
    graph_.attach_numerics(numerics_.stats.defined() ? &numerics_ : nullptr);
    buffers.restore(graph_);
  };
  float loss = 0;
  try {
    loss = rerun_step(graph_, backend_, scale, tx, ty, dropout_seed, step, tracer);
  } catch (...) {
    restore();
    throw;
  }
  if (loss_out != nullptr) *loss_out = loss;
  restore();
  return std::move(tracer.tensors);
}

Provenance TrainingStep::trace(std::span<const float> x, std::span<const float> y, std::int64_t n,
                               std::uint64_t dropout_seed, std::int64_t step,
                               const StepState& reported) {
  Provenance p;
  p.step = step;
  p.scale = reported.scale_used;
  const std::vector<TracedTensor> t = measure_at(p.scale, x, y, n, dropout_seed, step, &p.loss);
  if (!same_bits(p.loss, reported.loss)) {
    p.reproduced = false;
    p.not_reproduced = "the re-run's loss differs from the step's (" + std::to_string(p.loss) +
                       " against " + std::to_string(reported.loss) +
                       "): the weights had changed since, or a kernel is not deterministic";
  }
  const auto bad = std::find_if(t.begin(), t.end(),
                                [](const TracedTensor& r) { return r.stats.nonfinite() > 0; });
  if (bad == t.end()) {
    if (p.reproduced && reported.found_inf > 0) {
      p.reproduced = false;
      p.not_reproduced = "the re-run was finite throughout";
    }
    return p;
  }
  p.first = *bad;
  const std::size_t at = std::size_t(bad - t.begin());

  // The inputs of the op that made it, among the tensors measured before it.
  const TracedTensor& f = *bad;
  const std::vector<std::string>& inputs = graph_.layer(f.layer).spec().inputs;
  std::set<std::string> consumers;  // layers reading f.layer's output
  for (const NumericsSlot& s : graph_.numerics_slots()) {
    if (s.role != TensorRole::Activation) continue;
    const auto& in = graph_.layer(s.layer).spec().inputs;
    if (std::find(in.begin(), in.end(), f.layer) != in.end()) consumers.insert(s.layer);
  }
  const auto is_input = [&](const TracedTensor& r) {
    if (!f.backward()) {
      // Forward: the producers' outputs, the casts of this layer's inputs,
      // and its own 16-bit weights.
      if (r.backward()) return false;
      if (r.role == TensorRole::Weight16) return r.layer == f.layer && f.slot >= 0;
      if (r.layer == f.layer) return r.slot < 0 && (f.slot >= 0 || r.input == f.input);
      if (r.slot < 0) return false;
      if (f.slot < 0) return f.input >= 0 && std::size_t(f.input) < inputs.size() &&
                             inputs[std::size_t(f.input)] == r.layer;
      return std::find(inputs.begin(), inputs.end(), r.layer) != inputs.end();
    }
    // Backward: the gradient flowing into this layer (what its consumers'
    // backward passes returned for it), or for the loss its own value.
    if (r.role == TensorRole::Activation)
      return consumers.empty() && r.layer == f.layer && r.slot >= 0;
    if (r.role != TensorRole::ActivationGrad) return false;
    if (consumers.count(r.layer) == 0) return false;
    const auto& in = graph_.layer(r.layer).spec().inputs;
    return r.input >= 0 && std::size_t(r.input) < in.size() && in[std::size_t(r.input)] == f.layer;
  };
  std::string described;
  for (std::size_t i = 0; i < at; ++i) {
    if (!is_input(t[i])) continue;
    if (t[i].stats.amax >= p.input_amax) p.input_amax = t[i].stats.amax;
    if (described.find(t[i].label()) == std::string::npos)
      described += (described.empty() ? "" : ", ") + t[i].label();
  }
  p.input = described;
  // Where the bad values went next, in the same pass: a forward overflow
  // on towards the loss (not back through every gradient), a backward one
  // on towards the inputs.
  for (std::size_t i = at + 1; i < t.size(); ++i)
    if (t[i].stats.nonfinite() > 0 && t[i].layer != f.layer && t[i].backward() == f.backward() &&
        std::find(p.path.begin(), p.path.end(), t[i].layer) == p.path.end())
      p.path.push_back(t[i].layer);
  // A backward overflow measured again at S = 1.
  if (f.backward()) {
    p.measured_at_scale_one = true;
    if (p.scale != 1.0) {
      const std::vector<TracedTensor> at_one = measure_at(1.0, x, y, n, dropout_seed, step);
      p.finite_at_scale_one = std::none_of(at_one.begin(), at_one.end(), [](const TracedTensor& r) {
        return r.stats.nonfinite() > 0;
      });
    }
  }
  return p;
}

}  // namespace mantissa
