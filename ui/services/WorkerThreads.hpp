#pragma once
// Background threads of a service: each runs one job and posts its result
// back with a queued call; for jobs that may overlap (a newer dataset load
// need not wait for an older one). Jobs that must run in order share a
// SerialWorker instead. Finished threads are joined whenever a new one starts,
// so a long-lived page does not collect them; the rest are joined on
// destruction (a job still running is waited for).
#include <atomic>
#include <functional>
#include <list>
#include <thread>

namespace mantissa::ui {

class WorkerThreads {
 public:
  WorkerThreads() = default;
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;
  ~WorkerThreads() {
    for (Worker& w : workers_) w.thread.join();
  }

  void start(std::function<void()> job) {
    reap();
    Worker& w = workers_.emplace_back();
    w.thread = std::thread([job = std::move(job), done = &w.done] {
      job();
      done->store(true, std::memory_order_release);
    });
  }

  std::size_t size() const { return workers_.size(); }

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void reap() {
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done.load(std::memory_order_acquire)) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::list<Worker> workers_;  // stable addresses for the done flags
};

}  // namespace mantissa::ui
