// One training step (see mantissa/train_step.hpp). The ops are the same
// whether a step runs eagerly or replays a recording: body() is the only
// place they are listed.
#include "mantissa/train_step.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "mantissa/error.hpp"
#include "mantissa/numerics_bits.hpp"
#include "optim/fingerprint_rule.hpp"

namespace mantissa {

namespace ssw = step_state_word;

// The data-parallel buckets' sums, one after another on a thread of their
// own, in the order they were started (the same on every rank), while the
// backward pass goes on. wait() returns when all started ones are done and
// rethrows the first failure.
class TrainingStep::Communicator {
 public:
  Communicator(Collective& c, ReduceOrder order) : collective_(c), order_(order) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Communicator() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void start(std::span<float> data) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(data);
      ++started_;
    }
    cv_.notify_all();
  }
  // Returns the seconds the sums took on their thread since the last wait().
  double wait() {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [&] { return finished_ == started_; });
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
    const double s = busy_s_;
    busy_s_ = 0;
    return s;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return quit_ || !queue_.empty(); });
      if (queue_.empty()) return;
      const std::span<float> data = queue_.front();
      queue_.pop_front();
      const bool skip = error_ != nullptr;  // after a failure the group is gone
      lock.unlock();
      const auto t0 = std::chrono::steady_clock::now();
      std::exception_ptr failed;
      if (!skip) {
        try {
          collective_.sum(data, order_);
        } catch (...) {
          failed = std::current_exception();
        }
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      lock.lock();
      busy_s_ += s;
      if (failed && !error_) error_ = failed;
      ++finished_;
      done_cv_.notify_all();
    }
  }

  Collective& collective_;
  ReduceOrder order_;
  std::mutex mutex_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::span<float>> queue_;
  std::uint64_t started_ = 0, finished_ = 0;
  double busy_s_ = 0;
  std::exception_ptr error_;
  bool quit_ = false;
  std::thread thread_;
};

RowRange shard_rows(std::int64_t n, std::int64_t world, std::int64_t rank) {
  MANTISSA_ASSERT(world >= 1 && rank >= 0 && rank < world && n >= 0,
                  "rank " + std::to_string(rank) + " of " + std::to_string(world));
  return {rank * n / world, (rank + 1) * n / world};
}

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
  if (options_.collective != nullptr && options_.collective->world() > 1) {
    if (virtual_ranks_ > 1)
      throw InputError("virtual ranks (" + std::to_string(virtual_ranks_) +
                       ") and several processes do not combine: use one or the other");
    collective_ = options_.collective;
    reduce_order_ = options_.reduce_order;
    sync_norms_ = t.sync_batch_norm && graph_.has_batch_norm();
    if (sync_norms_) {
      if (!backend_.host_memory())
        throw InputError("sync_batch_norm: synchronised BatchNorm statistics are summed in host "
                         "memory, on CPU ranks only (this rank trains on " + backend_.name() +
                         "); turn it off to keep per-rank statistics");
      rank_sum_ = [this](std::span<float> v) { collective_->sum(v, reduce_order_); };
    }
    // One flat buffer: the loss, then every gradient.
    std::int64_t total = 1;
    for (Param* p : params_) total += p->grad.numel();
    flat_ = Tensor::zeros(backend_, Shape{total}, DType::F32);
    std::vector<std::int64_t> offsets;
    std::int64_t at = 1;
    for (Param* p : params_) {
      offsets.push_back(at);
      accumulated_.push_back(flat_.slice(at, p->grad.shape()));
      at += p->grad.numel();
    }
    // Buckets from the end: the last layers' gradients are made first.
    // Synchronised BatchNorm sums between the backward pass's ops, which must
    // meet every rank's in the same order: then one sum after the pass.
    const bool overlap = backend_.host_memory() && options_.bucket_bytes > 0 &&
                         !sync_norms_;
    const std::int64_t per_bucket = overlap ? options_.bucket_bytes / 4 : total;
    std::int64_t end = total;
    for (std::size_t i = params_.size(); i-- > 0;) {
      if (end - offsets[i] >= per_bucket || i == 0) {
        const std::int64_t start = i == 0 ? 0 : offsets[i];
        buckets_.push_back({start, end - start, i});
        end = start;
      }
    }
    if (buckets_.empty()) buckets_.push_back({0, total, 0});
    param_nodes_ = graph_.param_nodes();
    if (backend_.host_memory()) comm_ = std::make_unique<Communicator>(*collective_, reduce_order_);
  }
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

// PRECISION.md "Data-parallel training", in one process: shard r of the n
// rows is [floor(r n / K), floor((r + 1) n / K)); its loss (the mean over its
// m rows) and its gradient are weighted by m / n through the scale it is
// multiplied by, so that their sum is the batch's mean; the scaled
// gradients are summed in fp32 in shard order (the first shard copied, each
// later one added). A shard with no rows adds nothing. Shard r > 0 draws its
// dropout from the run's seed mixed with r.
void TrainingStep::sharded_passes(const Tensor& x, const Tensor& y, std::uint64_t dropout_seed,
                                  const Tensor& scale, Tensor& loss) {
  const std::int64_t n = x.dim(0);
  const std::int64_t x_row = n > 0 ? x.numel() / n : 0, y_row = n > 0 ? y.numel() / n : 0;
  const auto rows_shape = [](const Shape& s, std::int64_t m) {
    std::vector<std::int64_t> d = s.dims();
    d[0] = m;
    return Shape(d);
  };
  backend_.fill(loss, 0.0f);
  bool first = true;
  for (std::int64_t r = 0; r < virtual_ranks_; ++r) {
    const auto [lo, hi] = shard_rows(n, virtual_ranks_, r);
    const std::int64_t m = hi - lo;
    if (m == 0) continue;
    const float weight = float(double(m) / double(n));
    backend_.cast(scale, shard_scale_);
    backend_.scale(shard_scale_, weight);
    const std::uint64_t seed =
        r == 0 ? dropout_seed : dropout_seed ^ (std::uint64_t(r) * 0x9E3779B97F4A7C15ull);
    ExecContext ctx{backend_, true, seed, &state_};
    graph_.forward(ctx, x.slice(lo * x_row, rows_shape(x.shape(), m)));
    graph_.loss_and_backward(ctx, y.slice(lo * y_row, rows_shape(y.shape(), m)), shard_scale_,
                             shard_loss_);
    backend_.scale(shard_loss_, weight);
    backend_.accumulate(shard_loss_, loss);
    for (std::size_t i = 0; i < grads_.size(); ++i) {
      if (first) backend_.cast(grads_[i], accumulated_[i]);
      else backend_.accumulate(grads_[i], accumulated_[i]);
    }
    first = false;
  }
  if (first)  // no rows at all: nothing to add
    for (Tensor& a : accumulated_) backend_.fill(a, 0.0f);
}

// PRECISION.md "Data-parallel training": this rank's rows of the global
// batch (cut by enqueue()) run forward and backward with the scale times
// m / n, as a virtual rank's shard does, and the dropout of rank r mixes r
// into the seed likewise; the scaled gradients are cast into the flat fp32
// buffer, the loss after them, and the buffer is summed over ranks. A rank
// without rows contributes zeros, and still joins the sum.
void TrainingStep::data_parallel_pass(Tensor x, const Tensor& y, std::uint64_t dropout_seed,
                                      const Tensor& scale, Tensor& loss) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::int64_t m = x.defined() ? x.dim(0) : 0;
  Tensor flat_loss = flat_.slice(0, Shape{1});
  next_bucket_ = 0;
  lowest_ready_ = params_.size();
  if (m > 0) {
    const float weight = float(double(m) / double(global_rows_));
    backend_.cast(scale, shard_scale_);
    backend_.scale(shard_scale_, weight);
    const auto r = std::uint64_t(collective_->rank());
    const std::uint64_t seed = r == 0 ? dropout_seed : dropout_seed ^ (r * 0x9E3779B97F4A7C15ull);
    ExecContext ctx{backend_, true, seed, &state_};
    if (sync_norms_) ctx.rank_sum = &rank_sum_;
    // As each layer's backward pass ends, its gradients go into the flat
    // buffer and every bucket they complete starts its sum.
    const std::function<void(int)> done = [&](int node) {
      for (std::size_t k = lowest_ready_; k-- > 0 && param_nodes_[k] == node;) {
        backend_.cast(grads_[k], accumulated_[k]);
        lowest_ready_ = k;
      }
      start_buckets(false);
    };
    if (comm_) ctx.backward_done = &done;
    graph_.forward(ctx, std::move(x));
    graph_.loss_and_backward(ctx, y, shard_scale_, shard_loss_);
    for (std::size_t k = lowest_ready_; k-- > 0;) backend_.cast(grads_[k], accumulated_[k]);
    lowest_ready_ = 0;
    backend_.scale(shard_loss_, weight);
    backend_.cast(shard_loss_, flat_loss);
  } else {
    // No rows: still every synchronised BatchNorm's sums, in the order the
    // passes make them.
    if (sync_norms_) {
      ExecContext ctx{backend_, true, dropout_seed, &state_};
      ctx.rank_sum = &rank_sum_;
      graph_.batch_norm_without_rows(ctx);
    }
    backend_.fill(flat_, 0.0f);
    lowest_ready_ = 0;
  }
  if (planted_) {  // the first gradient element, before any bucket that holds it starts
    Tensor first = flat_.slice(params_.empty() ? 0 : 1, Shape{1});
    backend_.fill(first, *planted_);
    planted_.reset();
  }
  const auto t1 = Clock::now();
  pass_seconds_ = std::chrono::duration<double>(t1 - t0).count();
  if (comm_) {
    start_buckets(true);
    agreed_.comm_s = comm_->wait();
  } else {
    if (!backend_.host_memory() && !device_sum_) backend_.synchronize();
    sum_in_place(flat_);
    agreed_.comm_s = std::chrono::duration<double>(Clock::now() - t1).count();
  }
  agreed_.reduce_s = std::chrono::duration<double>(Clock::now() - t1).count();
  backend_.cast(flat_loss, loss);
}

// Starts, in order, the buckets whose gradients are all in the flat buffer;
// the one with the loss (offset 0) only when `all` (the passes are done).
void TrainingStep::start_buckets(bool all) {
  while (next_bucket_ < buckets_.size()) {
    const Bucket& b = buckets_[next_bucket_];
    const bool ready = all || (b.offset > 0 && lowest_ready_ <= b.first_param);
    if (!ready) return;
    // A planted fault waits for the passes: the bucket holding it starts then.
    if (!all && planted_ && b.offset <= 1) return;
    comm_->start(std::span(static_cast<float*>(flat_.data()) + b.offset, std::size_t(b.count)));
    ++next_bucket_;
  }
}

// The 8-byte MAX all-reduce of PRECISION.md (found_inf and the norm, already
// equal on every rank since they come from the same summed bits), with the
// step's sequence number (as it and its negation, so that the maximum of
// both tells whether every rank was at the same step), the control words
// and the time each rank's passes took.
void TrainingStep::agree(Tensor& found_inf, Tensor& grad_sq) {
  ++reductions_;
  const auto seq = float(reductions_ % (1u << 24));
  std::vector<float> words(6);
  if (backend_.host_memory()) {
    words[0] = *static_cast<const float*>(found_inf.data());
    words[1] = *static_cast<const float*>(grad_sq.data());
  } else {
    backend_.download(&words[0], found_inf.data(), 4);
    backend_.download(&words[1], grad_sq.data(), 4);
  }
  words[2] = seq;
  words[3] = -seq;
  words[4] = control_;
  words[5] = float(pass_seconds_);
  collective_->max(words);
  if (words[2] != -words[3])
    throw Error("rank " + std::to_string(collective_->rank()) +
                ": the ranks are out of step: reductions " + std::to_string(std::int64_t(-words[3])) +
                " to " + std::to_string(std::int64_t(words[2])) +
                " met in one all-reduce (this rank is at " + std::to_string(std::int64_t(seq)) + ")");
  if (backend_.host_memory()) {
    *static_cast<float*>(found_inf.data()) = words[0];
    *static_cast<float*>(grad_sq.data()) = words[1];
  } else {
    backend_.upload(found_inf.data(), &words[0], 4);
    backend_.upload(grad_sq.data(), &words[1], 4);
    backend_.synchronize();
  }
  agreed_.control = words[4];
  agreed_.slowest_pass_s = words[5];
}

std::string TrainingStep::join_device_sum() {
  if (collective_ == nullptr) return "";
  if (backend_.host_memory()) return collective_->engine();
  if (reduce_order_ != ReduceOrder::Ring) {
    device_note_ = "the rank-ordered sum runs on the host";
    return collective_->engine();
  }
  device_sum_ = backend_.join_device_collective(*collective_, &device_note_);
  return device_sum_ ? device_sum_->engine() + " + " + collective_->engine()
                     : collective_->engine() + " through host memory (" + device_note_ + ")";
}

void TrainingStep::sum_in_place(Tensor& t) {
  const auto n = std::size_t(t.numel());
  if (device_sum_) {  // on the stream, after the passes; waits (or throws) like the host sum
    device_sum_->sum(t.data(), t.numel());
    return;
  }
  if (backend_.host_memory()) {
    collective_->sum(std::span<float>(static_cast<float*>(t.data()), n), reduce_order_);
    return;
  }
  staging_.resize(n);
  backend_.download(staging_.data(), t.data(), n * 4);
  collective_->sum(staging_, reduce_order_);
  backend_.upload(t.data(), staging_.data(), n * 4);
  backend_.synchronize();
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
