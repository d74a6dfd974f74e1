#pragma once
// The step `mantissa bench` times, for the policy comparison (cmd_bench.cpp)
// and for data-parallel scaling (bench_scaling.cpp).
#include <cstdint>
#include <optional>

#include "mantissa/collective.hpp"
#include "mantissa/data.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/train_step.hpp"

namespace mantissa::cli {

// The Trainer's step (mantissa/train_step.hpp) on its own graph, without a
// dataset, evaluation, checkpoints or metrics. Like the Trainer, it collects
// step t's scalars after step t + 1 has been enqueued.
class BenchStep {
 public:
  BenchStep(const Project& p, Backend& backend, Collective* ranks = nullptr,
            std::int64_t bucket_bytes = StepOptions{}.bucket_bytes)
      : graph_(p.model, backend, p.training.policy, p.training.seed),
        step_(graph_, backend, p.training, /*total_steps=*/0,
              StepOptions{.capture = p.training.capture_graphs,
                          .numerics = p.training.numerics.enabled,
                          .collective = ranks,
                          .bucket_bytes = bucket_bytes}),
        sample_every_(p.training.numerics.sample_every) {}

  void enqueue(const Batch& batch) {
    // Histograms on the Trainer's default sampling.
    step_.set_histograms(++steps_ % sample_every_ == 0);
    step_.enqueue(batch.x, batch.y, batch.size, 0);
    const std::uint64_t ticket = step_.begin_read();
    if (pending_) state_ = step_.finish_read(*pending_);
    pending_ = ticket;
  }
  // Waits for the last step and returns its scalars.
  const StepState& drain() {
    if (pending_) state_ = step_.finish_read(*pending_);
    pending_.reset();
    return state_;
  }
  const TrainingStep& step() const { return step_; }

 private:
  Graph graph_;
  TrainingStep step_;
  std::int64_t sample_every_ = 50;
  std::int64_t steps_ = 0;
  std::optional<std::uint64_t> pending_;
  StepState state_{};
};

}  // namespace mantissa::cli
