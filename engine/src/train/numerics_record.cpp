#include "train/numerics_record.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mantissa {

NumericsRecord::NumericsRecord(TrainingStep& stepper, Graph& graph, const NumericsOptions& options,
                               bool lead, std::uint64_t dropout_seed)
    : stepper_(stepper),
      graph_(graph),
      options_(options),
      lead_(lead),
      dropout_seed_(dropout_seed) {}

bool NumericsRecord::histograms_for(std::int64_t at) const {
  return at % options_.sample_every == 0 || at <= after_event_until_;
}

std::string NumericsRecord::first_nonfinite_tensor() const {
  if (!on()) return "";
  const std::vector<TensorStats> stats = stepper_.numerics().decoded();
  const std::vector<NumericsSlot>& slots = graph_.numerics_slots();
  for (std::size_t i = 0; i < stats.size() && i < slots.size(); ++i)
    if (stats[i].nonfinite() > 0)
      return slots[i].label() + " (" + std::string(role_name(slots[i].role)) + ")";
  return "";
}

void NumericsRecord::record(const StepState& s, std::int64_t at_step,
                            const std::vector<TensorStats>& stats, MetricsSink& sink) {
  if (!on()) return;
  NumericsSample sample{at_step, "", s.scale_used, stats, stepper_.numerics().decoded_histograms()};
  const bool event = s.found_inf > 0 || !std::isfinite(s.loss);
  const bool sampled = at_step % options_.sample_every == 0;
  const bool room = event_samples_ < kMaxEventSamples;
  if (event && room) {
    for (NumericsSample& r : recent_) {
      r.reason = "before event";
      sink.numerics_recorded(r);
      ++event_samples_;
    }
    recent_.clear();
    sample.reason = "event";
    sink.numerics_recorded(sample);
    ++event_samples_;
    after_event_until_ = std::max(after_event_until_, at_step + options_.around_event);
    return;
  }
  if (sampled || (room && at_step <= after_event_until_)) {
    sample.reason = sampled ? (event ? "event" : "sampled") : "after event";
    sink.numerics_recorded(sample);
    if (!sampled) ++event_samples_;
    return;
  }
  if (!room) return;
  if (options_.around_event == 0) return;
  recent_.push_back(std::move(sample));
  while (std::int64_t(recent_.size()) > options_.around_event) recent_.pop_front();
}

// From the step's own statistics when its 16-bit gradients were finite; from
// a run of the same step at S = 1 when they overflowed (its state is
// unchanged after a skip; on a backend that reads steps late, a step that
// was applied is not run again).
void NumericsRecord::scaler_record(const StepState& s, const StepBatch& b, std::int64_t latest,
                                   const std::vector<TensorStats>& stats, StepMetrics& m) {
  if (!on()) return;
  const std::vector<NumericsSlot>& slots = graph_.numerics_slots();
  if (scaled16_.empty()) {
    scaled16_ = graph_.scaled_16bit_slots();
    // An fp32 run holds nothing in 16 bits: the gradients mixed fp16 would
    // hold there are, roughly, every activation gradient (an estimate; fp16
    // keeps a few, such as LayerNorm's, in fp32).
    fp32_record_ = std::none_of(scaled16_.begin(), scaled16_.end(), [](bool x) { return x; });
    if (fp32_record_)
      for (std::size_t i = 0; i < slots.size(); ++i)
        scaled16_[i] = slots[i].role == TensorRole::ActivationGrad;
  }
  bool backward_bad = false;
  float amax = 0;
  for (std::size_t i = 0; i < stats.size() && i < slots.size(); ++i) {
    const bool backward =
        slots[i].role == TensorRole::ActivationGrad || slots[i].role == TensorRole::WeightGrad;
    if (!backward) {
      if (stats[i].nonfinite() > 0) m.forward_nonfinite = true;
      continue;
    }
    if (stats[i].nonfinite() > 0) backward_bad = true;
    if (scaled16_[i]) amax = std::max(amax, stats[i].amax);
  }
  if (!std::isfinite(s.loss)) m.forward_nonfinite = true;
  if (m.forward_nonfinite) return;  // overflows whatever S: no A needed
  if (!backward_bad && s.found_inf == 0) {
    m.unscaled_grad_amax = double(amax) / double(s.scale_used);
    return;
  }
  // Only a skipped step left the weights as they were when it ran.
  if (s.skipped_this_step == 0 || b.x.empty() || remeasured_ >= kMaxRemeasured ||
      b.step != latest || !lead_)
    return;
  ++remeasured_;
  const std::vector<TracedTensor> at_one =
      stepper_.measure_at(1.0, b.x, b.y, b.rows, dropout_seed_, b.step);
  double a = 0;
  for (const TracedTensor& t : at_one) {
    if (!t.backward()) {
      if (t.stats.nonfinite() > 0) m.forward_nonfinite = true;
      continue;
    }
    // Still non-finite at S = 1: overflows at any scale of 1 or more.
    if (t.stats.nonfinite() > 0)
      a = std::numeric_limits<double>::infinity();
    else if (t.dtype == DType::F16 || t.dtype == DType::BF16 ||
             (fp32_record_ && t.role == TensorRole::ActivationGrad))
      a = std::max(a, double(t.stats.amax));
  }
  if (!m.forward_nonfinite) m.unscaled_grad_amax = a;
}

std::optional<Provenance> NumericsRecord::trace_if_event(const StepState& s, const StepBatch& b,
                                                         std::int64_t latest, MetricsSink& sink) {
  if (!on() || b.x.empty() || !lead_) return std::nullopt;
  if (!(s.found_inf > 0 || !std::isfinite(s.loss))) return std::nullopt;
  if (traced_events_ >= kMaxTracedEvents) return std::nullopt;
  ++traced_events_;
  Provenance p = stepper_.trace(b.x, b.y, b.rows, dropout_seed_, b.step, s);
  if (!p.reproduced && b.step != latest)
    p.not_reproduced = "step " + std::to_string(latest) +
                       " had already run when the step was run again, and may have updated "
                       "the weights";
  sink.provenance_recorded(p);
  return p;
}

}  // namespace mantissa
