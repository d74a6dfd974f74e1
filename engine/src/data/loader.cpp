// DataLoader: a prefetch thread filling a bounded ring of reusable batches.
//
// Slots move between three owners: free_ (the producer may fill them), ready_
// (filled, waiting in stream order) and held_ (the one the consumer is
// reading). There are prefetch + 1 slots, so at most `prefetch` batches are
// assembled ahead and no buffer is allocated once every slot has been filled
// with a full batch.
#include <algorithm>
#include <numeric>

#include "data/random.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

void gather_batch(const Dataset& data, std::span<const std::int64_t> rows, Batch& batch) {
  const std::size_t f = std::size_t(data.sample_numel());
  const std::size_t t = std::size_t(data.target_dim);
  batch.size = std::int64_t(rows.size());
  batch.x.resize(rows.size() * f);
  batch.y.resize(rows.size() * t);
  batch.samples.assign(rows.begin(), rows.end());
  const float* features = data.features.data();
  const float* targets = data.targets.data();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::size_t r = std::size_t(rows[i]);
    std::copy_n(features + r * f, f, batch.x.data() + i * f);
    std::copy_n(targets + r * t, t, batch.y.data() + i * t);
  }
}

DataLoader::DataLoader(const Dataset& data, std::int64_t batch_size, bool shuffle,
                       std::uint64_t seed, bool drop_last)
    : DataLoader(data, LoaderOptions{.batch_size = batch_size,
                                     .shuffle = shuffle,
                                     .seed = seed,
                                     .drop_last = drop_last}) {}

DataLoader::DataLoader(const Dataset& data, LoaderOptions options)
    : data_(data), options_(std::move(options)) {
  const std::int64_t n = data_.size();
  const std::int64_t bs = options_.batch_size;
  if (bs <= 0) throw InputError("training.batch_size: must be positive, got " + std::to_string(bs));
  if (n == 0) throw InputError("dataset '" + data_.name + "' has no samples to load");
  MANTISSA_ASSERT(std::int64_t(data_.features.size()) == n * data_.sample_numel(),
                  "dataset features do not match size() × sample_numel()");
  MANTISSA_ASSERT(options_.prefetch >= 1, "prefetch depth must be at least 1");
  batches_per_epoch_ = options_.drop_last ? n / bs : (n + bs - 1) / bs;
  if (batches_per_epoch_ == 0)
    throw InputError("training.batch_size: " + std::to_string(bs) + " is larger than dataset '" +
                     data_.name + "' (" + std::to_string(n) +
                     " samples) and the last partial batch is dropped");

  const std::size_t full = std::size_t(std::min(bs, n));
  slots_.resize(std::size_t(options_.prefetch) + 1);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].x.reserve(full * std::size_t(data_.sample_numel()));
    slots_[i].y.reserve(full * std::size_t(data_.target_dim));
    slots_[i].samples.reserve(full);
    free_.push_back(int(i));
  }
  thread_ = std::thread([this] { produce(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  producer_cv_.notify_all();
  thread_.join();
}

namespace {

// The visiting order of one epoch, written into `order` so the producer can
// reuse one buffer for every epoch.
void fill_order(std::vector<std::int64_t>& order, std::int64_t n, bool shuffle, std::uint64_t seed,
                std::int64_t epoch) {
  order.resize(std::size_t(n));
  std::iota(order.begin(), order.end(), std::int64_t(0));
  if (shuffle) {
    data::Rng rng(data::stream_key(seed, data::kPurposeEpoch, std::uint64_t(epoch)));
    data::shuffle(order, rng);
  }
}

}  // namespace

std::vector<std::int64_t> DataLoader::epoch_order(std::int64_t epoch) const {
  std::vector<std::int64_t> order;
  fill_order(order, data_.size(), options_.shuffle, options_.seed, epoch);
  return order;
}

void DataLoader::assemble(Batch& batch, std::int64_t epoch, std::int64_t index,
                          const std::vector<std::int64_t>& order) const {
  const std::int64_t bs = options_.batch_size;
  const std::int64_t begin = index * bs;
  const std::int64_t end = std::min<std::int64_t>(begin + bs, std::int64_t(order.size()));
  gather_batch(data_, std::span(order).subspan(std::size_t(begin), std::size_t(end - begin)),
               batch);
  batch.epoch = epoch;
  batch.index = index;
  if (options_.transform) options_.transform(batch);
}

void DataLoader::produce() {
  std::vector<std::int64_t> order;
  std::int64_t order_epoch = -1;
  std::unique_lock lock(mutex_);
  for (;;) {
    producer_cv_.wait(lock, [&] { return stop_ || (!error_ && !free_.empty()); });
    if (stop_) return;
    const int slot = free_.back();
    free_.pop_back();
    const std::uint64_t generation = generation_;
    const std::int64_t epoch = next_epoch_, index = next_index_;
    if (++next_index_ == batches_per_epoch_) {
      next_index_ = 0;
      ++next_epoch_;
    }
    lock.unlock();

    // Assembly runs unlocked so the consumer can take ready batches meanwhile.
    std::exception_ptr failure;
    try {
      if (epoch != order_epoch) {
        fill_order(order, data_.size(), options_.shuffle, options_.seed, epoch);
        order_epoch = epoch;
      }
      assemble(slots_[std::size_t(slot)], epoch, index, order);
    } catch (...) {
      failure = std::current_exception();
    }

    lock.lock();
    if (generation != generation_) {  // a seek() made this batch stale
      free_.push_back(slot);
      continue;
    }
    if (failure) {
      // Batches already queued are still delivered; the error comes after them.
      error_ = failure;
      free_.push_back(slot);
    } else {
      ready_.push_back(slot);
    }
    consumer_cv_.notify_one();
  }
}

const Batch& DataLoader::next() {
  std::unique_lock lock(mutex_);
  if (held_ >= 0) {
    free_.push_back(held_);
    held_ = -1;
    producer_cv_.notify_one();
  }
  consumer_cv_.wait(lock, [&] { return !ready_.empty() || error_; });
  if (ready_.empty()) std::rethrow_exception(error_);
  held_ = ready_.front();
  ready_.pop_front();
  return slots_[std::size_t(held_)];
}

void DataLoader::seek(std::int64_t epoch, std::int64_t batch_index) {
  if (epoch < 0 || batch_index < 0)
    throw InputError("cannot resume the data stream at epoch " + std::to_string(epoch) +
                     ", batch " + std::to_string(batch_index));
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    for (int slot : ready_) free_.push_back(slot);
    ready_.clear();
    next_epoch_ = epoch + batch_index / batches_per_epoch_;
    next_index_ = batch_index % batches_per_epoch_;
    error_ = nullptr;
  }
  producer_cv_.notify_all();
}

}  // namespace mantissa
