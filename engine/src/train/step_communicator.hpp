#pragma once
// The thread that runs a data-parallel step's bucket sums (TrainingStep's,
// train_step.cpp and train_step_ranks.cpp).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <thread>

#include "mantissa/collective.hpp"
#include "mantissa/train_step.hpp"

namespace mantissa {

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

}  // namespace mantissa
