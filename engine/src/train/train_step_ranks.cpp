// The data-parallel side of a training step (mantissa/train_step.hpp):
// shards of one process (virtual ranks), and the passes, bucketed sums and
// agreement of a rank among several processes. PRECISION.md's
// "Data-parallel training" fixes what they compute.
#include <chrono>
#include <functional>

#include "mantissa/error.hpp"
#include "mantissa/train_step.hpp"
#include "train/step_communicator.hpp"

namespace mantissa {

RowRange shard_rows(std::int64_t n, std::int64_t world, std::int64_t rank) {
  MANTISSA_ASSERT(world >= 1 && rank >= 0 && rank < world && n >= 0,
                  "rank " + std::to_string(rank) + " of " + std::to_string(world));
  return {rank * n / world, (rank + 1) * n / world};
}

// The flat gradient buffer, its buckets and the thread that sums them, for
// a run of several processes (the constructor's part for data parallelism).
void TrainingStep::set_up_ranks(const TrainingSpec& t) {
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

}  // namespace mantissa
