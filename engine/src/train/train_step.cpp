// One training step (see mantissa/train_step.hpp). The ops are the same
// whether a step runs eagerly or replays a recording: body() is the only
// place they are listed.
#include "mantissa/train_step.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "optim/fingerprint_rule.hpp"
#include "train/step_communicator.hpp"

namespace mantissa {

namespace ssw = step_state_word;

TrainingStep::TrainingStep(Graph& graph, Backend& backend, const TrainingSpec& t,
                           std::int64_t total_steps, StepOptions options)
    : graph_(graph), backend_(backend), options_(options), full_batch_(t.batch_size) {
  params_ = graph_.params();
  for (Param* p : params_) {
    grads_.push_back(p->grad);
    masters_.push_back(p->master);
    decay_.push_back(p->decay ? 1 : 0);
  }
  // The optimizer's state, slot by slot (Backend::optimizer_step's layout).
  slots_per_param_ = optimizer_slots(t.optimizer);
  for (int k = 0; k < slots_per_param_; ++k)
    for (Param* p : params_)
      slots_.push_back(Tensor::zeros(backend_, p->master.shape(), p->master.dtype()));
  fingerprint_ = Tensor::zeros(
      backend_, Shape{rules::fingerprint_words(std::int64_t(params_.size()))}, DType::F32);
  for (Param* p : params_)
    previous_.push_back(Tensor::empty(backend_, p->master.shape(), p->master.dtype()));
  virtual_ranks_ = std::max(1, t.virtual_ranks);
  if (t.sync_batch_norm && virtual_ranks_ > 1 && graph_.has_batch_norm())
    throw InputError("sync_batch_norm and virtual ranks (" + std::to_string(virtual_ranks_) +
                     ") do not combine: the shards of one process run one after another, so "
                     "BatchNorm cannot see them together; use several processes, or turn "
                     "sync_batch_norm off");
  if (options_.collective != nullptr && options_.collective->world() > 1) set_up_ranks(t);
  if (virtual_ranks_ > 1) {
    for (Param* p : params_) accumulated_.push_back(Tensor::zeros(backend_, p->grad.shape(), DType::F32));
  }
  if (virtual_ranks_ > 1 || collective_ != nullptr) {
    shard_loss_ = Tensor::zeros(backend_, Shape{1}, DType::F32);
    shard_scale_ = Tensor::zeros(backend_, Shape{1}, DType::F32);
  }
  StepState init{};
  init.scale = float(initial_scale(t.policy, t.loss_scale));
  state_ = make_step_state(backend_, init);
  scaler_ = make_scaler_rule(t.policy, t.loss_scale);
  optimizer_.optimizer = t.optimizer;
  optimizer_.schedule = t.schedule;
  optimizer_.total_steps = total_steps;
  optimizer_.clip_grad_norm = t.clip_grad_norm.value_or(0.0);
  optimizer_.skip_on_nonfinite = scaler_.skips();
  // The fixed input tensors a recording reads are part of the step's state,
  // allocated up front like the weights.
  capturable_ = decide_capture();
  if (options_.numerics) {
    namespace nb = numerics_bits;
    const auto slots = std::int64_t(graph_.numerics_slots().size());
    numerics_.stats = Tensor::zeros(backend_, Shape{slots * nb::kWords}, DType::F32);
    // Histograms only where one read can bring them back.
    if (std::size_t(slots * nb::kBins * 4) <= Backend::kMaxAsyncReadBytes)
      numerics_.histograms = Tensor::zeros(backend_, Shape{slots * nb::kBins}, DType::F32);
    numerics_.enable = Tensor::zeros(backend_, Shape{1}, DType::F32);
    graph_.attach_numerics(&numerics_);
    // Weight gradients are counted in the unscale pass, which reads them anyway.
    graph_.defer_weight_grad_stats(true);
    grad_stats_ = graph_.weight_grad_targets(grad_stat_targets_);
  }
  if (capturable_) {
    static_x_ = Tensor::empty(backend_, input_batch_shape(full_batch_), DType::F32);
    static_y_ = Tensor::empty(backend_, target_batch_shape(full_batch_), DType::F32);
  }
}

TrainingStep::~TrainingStep() {
  graph_.attach_numerics(nullptr);
  graph_.defer_weight_grad_stats(false);
  discard_capture();
}

std::vector<TensorStats> StepNumerics::decoded() const {
  namespace nb = numerics_bits;
  std::vector<TensorStats> out;
  for (std::size_t i = 0; i + nb::kWords <= stats.size(); i += nb::kWords)
    out.push_back(decode_stats(std::span(stats).subspan(i, nb::kWords)));
  return out;
}

std::vector<Histogram> StepNumerics::decoded_histograms() const {
  namespace nb = numerics_bits;
  std::vector<Histogram> out;
  for (std::size_t i = 0; i + nb::kBins <= histograms.size(); i += nb::kBins) {
    Histogram h{};
    std::copy_n(histograms.begin() + std::ptrdiff_t(i), nb::kBins, h.begin());
    out.push_back(h);
  }
  return out;
}

double StepFingerprint::weight_norm() const {
  double sq = 0;
  for (double n : weight_norms) sq += n * n;
  return std::sqrt(sq);
}

Shape TrainingStep::input_batch_shape(std::int64_t n) const {
  std::vector<std::int64_t> d{n};
  for (auto v : graph_.input_shape().dims()) d.push_back(v);
  return Shape(d);
}

Shape TrainingStep::target_batch_shape(std::int64_t n) const {
  if (graph_.loss_kind() == LayerKind::SoftmaxCrossEntropy)
    return graph_.positions() == 1 ? Shape{n} : Shape{n, graph_.positions()};
  return Shape{n, graph_.output_shape().numel()};
}

void TrainingStep::body(Tensor x, const Tensor& y, std::uint64_t dropout_seed) {
  Tensor scale = state_.slice(ssw::kScale, Shape{1});
  Tensor found_inf = state_.slice(ssw::kFoundInf, Shape{1});
  Tensor loss = state_.slice(ssw::kLoss, Shape{1});
  Tensor grad_sq = state_.slice(ssw::kGradSumSquares, Shape{1});
  ExecContext ctx{backend_, true, dropout_seed, &state_};
  // ---- per-tensor numerics: a slot a step does not produce reads as count 0 ----
  if (numerics_.stats.defined()) backend_.fill(numerics_.stats, 0.0f);
  // ---- cast fp32 masters to their compute copies, once per step ----
  graph_.prepare_step();
  backend_.fill(found_inf, 0.0f);
  if (collective_ != nullptr) {
    data_parallel_pass(std::move(x), y, dropout_seed, scale, loss);
  } else if (virtual_ranks_ > 1) {
    sharded_passes(x, y, dropout_seed, scale, loss);
  } else {
    // ---- forward; layers keep what backward needs (a 16-bit copy under mixed policies) ----
    // (an eager step's fp32 batch goes with its last reader; a captured
    // step's fixed one stays)
    graph_.forward(ctx, std::move(x));
    // ---- loss (fp32) × S, backward: every Param::grad is overwritten ----
    graph_.loss_and_backward(ctx, y, scale, loss);
  }
  std::vector<Tensor>& grads = accumulated_.empty() ? grads_ : accumulated_;
  if (planted_ && !grads.empty()) {  // (data parallel: planted before the sum)
    Tensor first = grads.front().slice(0, Shape{1});
    backend_.fill(first, *planted_);
    planted_.reset();
  }
  // ---- unscale every gradient in place, note the first non-finite one,
  //      and the global norm of the unscaled gradients (one pass) ----
  backend_.unscale_check_and_norm_stats(grads, scale, found_inf, grad_sq, grad_stats_);
  // ---- data parallel: every rank takes the same decision ----
  if (collective_ != nullptr) agree(found_inf, grad_sq);
  // ---- clip + optimizer; skipped on device when found_inf is set ----
  backend_.optimizer_step(masters_, grads, slots_, decay_, state_, optimizer_);
  // ---- loss-scale update: backoff on overflow, growth after N clean steps ----
  backend_.update_loss_scale(state_, scaler_);
  // ---- the weight fingerprint: checksum, norms and the update's norm ----
  backend_.weight_fingerprint(masters_, previous_, fingerprint_);
  graph_.clear_saved();
}

// Whether this run may capture at all: decided once, with the reason when not.
// (Dropout is no obstacle: its mask follows the step counter on the device.)
bool TrainingStep::decide_capture() {
  if (!options_.capture) {
    capture_note_ = "capture is off for this run";
    return false;
  }
  if (options_.collective != nullptr && options_.collective->world() > 1) {
    capture_note_ = "data-parallel steps reduce through the host between their ops";
    return false;
  }
  if (!backend_.can_capture()) {
    capture_note_ = "backend " + backend_.name() + " runs every op as it is called";
    return false;
  }
  return true;
}

bool TrainingStep::capture_allowed(std::int64_t n) const {
  return n == full_batch_ && (captured_ || (capturable_ && !capture_failed_));
}

void TrainingStep::enqueue(std::span<const float> x, std::span<const float> y, std::int64_t n,
                           std::uint64_t dropout_seed) {
  const Shape xs = input_batch_shape(n), ys = target_batch_shape(n);
  MANTISSA_ASSERT(std::int64_t(x.size()) == xs.numel() && std::int64_t(y.size()) == ys.numel(),
                  "batch of " + std::to_string(n) + " samples with " + std::to_string(x.size()) +
                      " features and " + std::to_string(y.size()) + " targets");
  // The histogram flag is an input of the step like the batch: a replayed
  // recording reads it from the device.
  histograms_last_ = histograms_next_ && numerics_.histograms.defined();
  if (numerics_.enable.defined()) {
    const std::uint32_t flag = histograms_last_ ? 1u : 0u;
    backend_.upload(numerics_.enable.data(), &flag, sizeof flag);
  }
  if (!previous_set_) {  // the weights the first step starts from (resumed ones included)
    for (std::size_t k = 0; k < masters_.size(); ++k) backend_.cast(masters_[k], previous_[k]);
    previous_set_ = true;
  }
  if (collective_ != nullptr) {
    // This rank's rows [floor(r n / W), floor((r + 1) n / W)) of the global batch.
    const RowRange rows = shard_rows(n, collective_->world(), collective_->rank());
    const std::int64_t lo = rows.lo, m = rows.rows();
    const std::size_t x_row = n > 0 ? x.size() / std::size_t(n) : 0;
    const std::size_t y_row = n > 0 ? y.size() / std::size_t(n) : 0;
    global_rows_ = n;
    Tensor tx, ty;
    if (m > 0) {
      tx = Tensor::empty(backend_, input_batch_shape(m), DType::F32);
      backend_.upload(tx.data(), x.data() + std::size_t(lo) * x_row, tx.bytes());
      ty = Tensor::empty(backend_, target_batch_shape(m), DType::F32);
      backend_.upload(ty.data(), y.data() + std::size_t(lo) * y_row, ty.bytes());
    }
    body(std::move(tx), ty, dropout_seed);
    return;
  }
  if (!capture_allowed(n)) {
    Tensor tx = Tensor::empty(backend_, xs, DType::F32);
    backend_.upload(tx.data(), x.data(), tx.bytes());
    Tensor ty = Tensor::empty(backend_, ys, DType::F32);
    backend_.upload(ty.data(), y.data(), ty.bytes());
    body(std::move(tx), ty, dropout_seed);
    return;
  }
  // Full-size steps read the fixed input tensors, recorded or not.
  backend_.upload(static_x_.data(), x.data(), static_x_.bytes());
  backend_.upload(static_y_.data(), y.data(), static_y_.bytes());
  if (captured_) {
    backend_.replay();
    ++replays_;
    return;
  }
  if (eager_full_steps_ == 0) {
    // Warm-up: plans, handles, workspaces and pointer tables are created
    // here, outside any recording.
    body(static_x_, static_y_, dropout_seed);
    ++eager_full_steps_;
    return;
  }
  try {
    backend_.begin_capture();
    body(static_x_, static_y_, dropout_seed);
    backend_.end_capture();
  } catch (const Error& e) {
    // Nothing ran: drop what the half-recorded step left and run it eagerly.
    graph_.clear_saved();
    backend_.discard_capture();
    if (dynamic_cast<const OutOfMemoryError*>(&e) != nullptr) throw;
    capture_failed_ = true;
    capture_note_ = std::string("capture failed, steps run op by op: ") + e.what();
    body(static_x_, static_y_, dropout_seed);
    return;
  }
  captured_ = true;
  capture_note_ = "captured";
  backend_.replay();
  ++replays_;
}

void TrainingStep::discard_capture() {
  if (!captured_) return;
  backend_.discard_capture();
  captured_ = false;
  eager_full_steps_ = 0;
}

std::uint64_t TrainingStep::begin_read() {
  OpenRead r;
  r.state = backend_.begin_download(state_.data(), sizeof(StepState));
  r.fingerprint = backend_.begin_download(fingerprint_.data(), fingerprint_.bytes());
  if (numerics_.stats.defined()) {
    r.stats = backend_.begin_download(numerics_.stats.data(), numerics_.stats.bytes());
    if (histograms_last_)
      r.histograms = backend_.begin_download(numerics_.histograms.data(), numerics_.histograms.bytes());
  }
  open_reads_.push_back(r);
  return r.state;
}

bool TrainingStep::read_ready(std::uint64_t ticket) {
  return backend_.download_ready(ticket);
}

StepState TrainingStep::finish_read(std::uint64_t ticket) {
  StepState s{};
  backend_.finish_download(ticket, &s);
  const auto it = std::find_if(open_reads_.begin(), open_reads_.end(),
                               [&](const OpenRead& r) { return r.state == ticket; });
  if (it == open_reads_.end()) return s;
  const OpenRead r = *it;
  open_reads_.erase(it);
  numerics_read_.stats.clear();
  numerics_read_.histograms.clear();
  if (r.stats != 0) {
    numerics_read_.stats.resize(std::size_t(numerics_.stats.numel()));
    backend_.finish_download(r.stats, numerics_read_.stats.data());
  }
  if (r.histograms != 0) {
    numerics_read_.histograms.resize(std::size_t(numerics_.histograms.numel()));
    backend_.finish_download(r.histograms, numerics_read_.histograms.data());
  }
  std::vector<float> words(std::size_t(fingerprint_.numel()));
  backend_.finish_download(r.fingerprint, words.data());
  std::uint32_t lo = 0, hi = 0;
  std::memcpy(&lo, &words[rules::kFingerprintChecksumLo], 4);
  std::memcpy(&hi, &words[rules::kFingerprintChecksumHi], 4);
  fingerprint_read_.checksum = (std::uint64_t(hi) << 32) | lo;
  fingerprint_read_.update_norm = std::sqrt(double(words[rules::kFingerprintUpdate]));
  fingerprint_read_.weight_norms.clear();
  for (std::size_t k = rules::kFingerprintNorms; k < words.size(); ++k)
    fingerprint_read_.weight_norms.push_back(std::sqrt(double(words[k])));
  return s;
}

StepState TrainingStep::run(std::span<const float> x, std::span<const float> y, std::int64_t n,
                            std::uint64_t dropout_seed) {
  enqueue(x, y, n, dropout_seed);
  return finish_read(begin_read());
}

}  // namespace mantissa
