// Data-parallel training (PRECISION.md "Data-parallel training",
// docs/data-parallel.md): ranks in threads of this process, each with its own
// CPU backend, joined by Gloo over loopback TCP, against one process that
// accumulates the same shards in order (TrainingSpec::virtual_ranks). Every
// rank and the reference run one OpenMP thread, so that the kernels split
// their sums the same way.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <omp.h>

#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/train_step.hpp"
#include "recording_backend.hpp"
#include "train/checkpoint.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using testing::RecordingSink;

// Everything a run leaves that must match bit for bit.
struct Outcome {
  RecordingSink sink;
  RunSummary summary;
  std::vector<std::vector<std::uint8_t>> masters, moments;
  std::vector<std::vector<float>> buffers;  // BatchNorm running statistics
  StepState state{};
};

Outcome collect(Trainer& trainer, Backend& backend, RecordingSink&& sink, RunSummary summary,
                int slots) {
  Outcome o;
  o.sink = std::move(sink);
  o.summary = summary;
  const std::vector<std::uint8_t> blob = trainer.checkpoint();
  CheckpointReader r(blob);
  for (Param* p : trainer.graph().params()) {
    o.masters.push_back(p->master.to_host_bytes());
    for (int k = 1; k <= slots; ++k) {
      Tensor t = Tensor::empty(backend, p->master.shape(), DType::F32);
      r.read_tensor("moment" + std::to_string(k) + "/" + p->name, t);
      o.moments.push_back(t.to_host_bytes());
    }
  }
  o.state = r.read_step_state();
  for (Buffer* b : trainer.graph().buffers()) o.buffers.push_back(b->value.to_host());
  return o;
}

int slots_of(const Project& p) { return optimizer_slots(p.training.optimizer); }

// One process, `virtual_ranks` shards, one thread.
Outcome one_process(Project p, int virtual_ranks, TrainOptions options = {}) {
  p.training.virtual_ranks = virtual_ranks;
  Outcome out;
  std::thread t([&] {
    omp_set_num_threads(1);
    auto backend = create_backend("cpu");
    Trainer trainer(p, *backend, options);
    RecordingSink sink;
    TrainControl control;
    const RunSummary s = trainer.run(sink, control);
    out = collect(trainer, *backend, std::move(sink), s, slots_of(p));
  });
  t.join();
  return out;
}

// `world` ranks in threads; `adjust` may change a rank's project or options.
std::vector<Outcome> ranks(const Project& p, int world, ReduceOrder order,
                           const std::function<void(int, Project&, TrainOptions&)>& adjust = {}) {
  std::vector<std::unique_ptr<Collective>> group = gloo_group_in_process(world, std::chrono::seconds(20));
  std::vector<Outcome> out(static_cast<std::size_t>(world));
  std::vector<std::string> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      omp_set_num_threads(1);
      try {
        Project mine = p;
        TrainOptions options;
        options.collective = group[std::size_t(r)].get();
        options.reduce_order = order;
        if (adjust) adjust(r, mine, options);
        auto backend = create_backend("cpu");
        Trainer trainer(mine, *backend, options);
        RecordingSink sink;
        TrainControl control;
        const RunSummary s = trainer.run(sink, control);
        out[std::size_t(r)] = collect(trainer, *backend, std::move(sink), s, slots_of(mine));
      } catch (const std::exception& e) {
        errors[std::size_t(r)] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < world; ++r)
    if (!errors[std::size_t(r)].empty()) throw Error(errors[std::size_t(r)]);
  return out;
}

Project adam_spirals(Policy policy, std::int64_t steps, std::int64_t batch) {
  Project p = testing::spirals_project(policy, steps, batch);
  p.training.optimizer.kind = OptimizerKind::Adam;
  p.training.optimizer.lr = 0.01;
  return p;
}

void expect_bit_identical(const Outcome& a, const Outcome& b, const std::string& what) {
  ASSERT_EQ(a.summary.outcome, RunOutcome::Finished) << what << ": " << a.summary.error;
  ASSERT_EQ(b.summary.outcome, RunOutcome::Finished) << what << ": " << b.summary.error;
  ASSERT_EQ(a.sink.steps.size(), b.sink.steps.size()) << what;
  for (std::size_t i = 0; i < a.sink.steps.size(); ++i) {
    const StepMetrics &x = a.sink.steps[i], &y = b.sink.steps[i];
    EXPECT_EQ(std::bit_cast<std::uint64_t>(x.loss), std::bit_cast<std::uint64_t>(y.loss))
        << what << ", step " << i + 1 << ": loss " << x.loss << " against " << y.loss;
    EXPECT_EQ(x.loss_scale, y.loss_scale) << what << ", step " << i + 1;
    EXPECT_EQ(x.skipped, y.skipped) << what << ", step " << i + 1;
    EXPECT_EQ(x.weights_checksum, y.weights_checksum) << what << ", step " << i + 1;
  }
  EXPECT_TRUE(a.masters == b.masters) << what << ": masters differ";
  EXPECT_TRUE(a.moments == b.moments) << what << ": moments differ";
  EXPECT_EQ(a.state.scale, b.state.scale) << what;
  EXPECT_EQ(a.state.growth_tracker, b.state.growth_tracker) << what;
  EXPECT_EQ(a.state.skipped_total, b.state.skipped_total) << what;
  EXPECT_EQ(a.state.steps_taken, b.state.steps_taken) << what;
}

// ---- the sharding rule ----------------------------------------------------------

TEST(DataParallelShards, AreDisjointAndTogetherTheBatch) {
  for (std::int64_t n : {0, 1, 2, 3, 5, 7, 64, 100, 127, 128}) {
    for (std::int64_t w : {1, 2, 3, 4, 8}) {
      std::int64_t next = 0, largest = 0, smallest = n + 1;
      for (std::int64_t r = 0; r < w; ++r) {
        const RowRange rows = shard_rows(n, w, r);
        EXPECT_EQ(rows.lo, next) << n << " rows, rank " << r << " of " << w;  // contiguous, disjoint
        EXPECT_GE(rows.hi, rows.lo);
        next = rows.hi;
        largest = std::max(largest, rows.rows());
        smallest = std::min(smallest, rows.rows());
      }
      EXPECT_EQ(next, n) << n << " rows over " << w;  // the union is the batch
      EXPECT_LE(largest - smallest, 1) << n << " rows over " << w;  // balanced
    }
  }
  // A last partial batch of 3 rows over 4 ranks: one rank has none.
  EXPECT_EQ(shard_rows(3, 4, 0).rows(), 0);
  EXPECT_EQ(shard_rows(3, 4, 3).rows(), 1);
  EXPECT_EQ(shard_rows(128, 2, 1).lo, 64);
}

// ---- bit for bit against one process ----------------------------------------

// 2 ranks × 64 rows against 2 virtual ranks, 30 steps with a skipped step
// (an inf planted at step 5 on one rank), under each policy; and the same
// again, so that nothing depends on timing.
TEST(DataParallel, TwoRanksAreBitIdenticalToTwoVirtualRanks) {
  for (Policy policy : {Policy::Float32, Policy::MixedFloat16, Policy::MixedBFloat16}) {
    Project p = adam_spirals(policy, 30, 128);
    p.training.loss_scale.mode = LossScaleMode::Dynamic;
    p.training.loss_scale.growth_interval = 8;
    TrainOptions plant;  // one process is rank 0; its inf lands in the summed gradient
    plant.fault = {TrainOptions::Fault::Kind::Inf, 5, 0, 0};
    const Outcome reference = one_process(p, 2, plant);
    ASSERT_EQ(reference.sink.steps.size(), 30u);
    ASSERT_TRUE(reference.sink.steps[4].skipped) << policy_name(policy);
    for (int again = 0; again < 2; ++again) {
      const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring, [](int, Project&, TrainOptions& o) {
        o.fault = {TrainOptions::Fault::Kind::Inf, 5, 1, 0};
      });
      const std::string what = std::string(policy_name(policy)) + (again ? " (again)" : "");
      expect_bit_identical(dp[0], reference, what + ", rank 0");
      expect_bit_identical(dp[1], reference, what + ", rank 1");
    }
  }
}

// Buckets change when each part of the sum starts, not what it gives: 2
// ranks with 64-byte buckets (several per step, started during the backward
// pass) are bit-identical to 2 virtual ranks too.
TEST(DataParallel, SmallBucketsGiveTheSameBits) {
  Project p = adam_spirals(Policy::MixedFloat16, 12, 128);
  const Outcome reference = one_process(p, 2);
  const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring, [](int, Project&, TrainOptions& o) {
    o.bucket_bytes = 64;
  });
  expect_bit_identical(dp[0], reference, "64-byte buckets");
}

// A stand-in for a second rank that computed the same gradients: every sum
// doubles, and each call is recorded (where it starts, how long it is).
struct DoublingPeer : Collective {
  std::vector<std::pair<const float*, std::size_t>> sums;
  int rank() const override { return 0; }
  int world() const override { return 2; }
  std::string engine() const override { return "test"; }
  std::chrono::milliseconds timeout() const override { return std::chrono::seconds(1); }
  void sum(std::span<float> data, ReduceOrder) override {
    sums.emplace_back(data.data(), data.size());
    for (float& v : data) v *= 2;
  }
  void max(std::span<float>) override {}
  void broadcast(std::vector<std::uint8_t>&, int) override {}
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine, mine}; }
};

// The flat buffer is summed in buckets from its end (the last layer's
// gradients) to its start (the first layer's and the loss), each once per
// step, together covering it exactly.
TEST(DataParallel, BucketsRunFromTheLastLayerToTheFirst) {
  Project p = adam_spirals(Policy::Float32, 1, 64);
  DoublingPeer peer;
  TrainOptions options;
  options.collective = &peer;
  options.bucket_bytes = 64;  // 16 floats: fc2's weights (32) and fc1's (32) each their own
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend, options);
  RecordingSink sink;
  TrainControl control;
  ASSERT_EQ(trainer.run(sink, control).outcome, RunOutcome::Finished);
  std::size_t total = 1;  // the loss
  for (Param* q : trainer.graph().params()) total += std::size_t(q->grad.numel());
  ASSERT_GE(peer.sums.size(), 3u);
  std::size_t covered = 0;
  for (std::size_t i = 0; i < peer.sums.size(); ++i) {
    covered += peer.sums[i].second;
    if (i > 0) {  // each starts where the one before began
      EXPECT_EQ(peer.sums[i].first + peer.sums[i].second, peer.sums[i - 1].first) << "bucket " << i;
    }
  }
  EXPECT_EQ(covered, total);
}

// With --reduce-order rank, 3 and 4 ranks are bit-identical to as many
// virtual ranks (a ring would sum them in another order).
TEST(DataParallel, RankOrderMakesThreeAndFourRanksBitIdentical) {
  for (int world : {3, 4}) {
    Project p = adam_spirals(Policy::MixedBFloat16, 12, 128);
    const Outcome reference = one_process(p, world);
    const std::vector<Outcome> dp = ranks(p, world, ReduceOrder::Rank, [](int, Project&, TrainOptions& o) {
      o.bucket_bytes = 100;  // buckets that do not divide by the ranks
    });
    for (int r = 0; r < world; ++r)
      expect_bit_identical(dp[std::size_t(r)], reference,
                           std::to_string(world) + " ranks, rank " + std::to_string(r));
  }
}

// PRECISION.md: float32, 2 × 64 against 1 × 128 over 10 steps, within 1e-5.
TEST(DataParallel, Float32IsCloseToTheFullBatch) {
  const Project p = adam_spirals(Policy::Float32, 10, 128);
  const Outcome full = one_process(p, 1);
  const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring);
  ASSERT_EQ(dp[0].summary.outcome, RunOutcome::Finished) << dp[0].summary.error;
  for (std::size_t k = 0; k < full.masters.size(); ++k) {
    std::vector<float> a(full.masters[k].size() / 4), b(a.size());
    std::memcpy(a.data(), full.masters[k].data(), full.masters[k].size());
    std::memcpy(b.data(), dp[0].masters[k].data(), dp[0].masters[k].size());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      norm += double(a[i]) * a[i];
    }
    EXPECT_LT(std::sqrt(diff), 1e-5 * std::sqrt(norm)) << "master " << k;
  }
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(dp[0].sink.steps[i].loss, full.sink.steps[i].loss,
                1e-5 * std::abs(full.sink.steps[i].loss));
}

// A batch of 3 rows over 4 ranks: rank 0 has none, contributes zeros and
// still joins every collective; the run matches 4 virtual ranks (whose empty
// shard adds nothing).
TEST(DataParallel, ARankWithoutRowsStillJoinsEveryStep) {
  const Project p = adam_spirals(Policy::MixedBFloat16, 6, 3);
  const Outcome reference = one_process(p, 4);
  const std::vector<Outcome> dp = ranks(p, 4, ReduceOrder::Rank);
  for (int r = 0; r < 4; ++r)
    expect_bit_identical(dp[std::size_t(r)], reference, "3 rows over 4 ranks, rank " + std::to_string(r));
}

// A NaN planted in rank 1's gradient at step 5: every rank skips step 5,
// halves S the same way and keeps the step-4 masters.
TEST(DataParallel, ANaNOnOneRankSkipsTheStepOnEveryRank) {
  Project p = adam_spirals(Policy::MixedFloat16, 8, 128);
  const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring, [](int, Project&, TrainOptions& o) {
    o.fault = {TrainOptions::Fault::Kind::NaN, 5, 1, 0};
  });
  for (int r = 0; r < 2; ++r) {
    const std::vector<StepMetrics>& s = dp[std::size_t(r)].sink.steps;
    ASSERT_EQ(s.size(), 8u) << "rank " << r;
    for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i].skipped, i == 4) << "rank " << r << ", step " << i + 1;
    EXPECT_EQ(s[4].weights_checksum, s[3].weights_checksum) << "rank " << r;  // step-4 masters kept
    EXPECT_EQ(s[5].loss_scale, s[4].loss_scale / 2) << "rank " << r;
    EXPECT_EQ(s[4].update_norm, 0.0);
    // One overflow event, on each rank's own record (rank 0's is stored).
    int overflows = 0;
    for (const RunEvent& e : dp[std::size_t(r)].sink.events) overflows += e.kind == EventKind::Overflow;
    EXPECT_EQ(overflows, 1) << "rank " << r;
  }
  EXPECT_EQ(dp[0].masters, dp[1].masters);
}

// The ranks must train the same thing: a rank with another policy, seed or
// model is refused before step 1, naming the field and the rank.
TEST(DataParallel, AMismatchedRankIsRefusedNamingTheField) {
  const Project p = adam_spirals(Policy::Float32, 3, 64);
  const auto refused = [&](const std::function<void(Project&)>& change, const std::string& field) {
    try {
      ranks(p, 2, ReduceOrder::Ring, [&](int r, Project& mine, TrainOptions&) {
        if (r == 1) change(mine);
      });
      ADD_FAILURE() << field << ": a mismatched rank was accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("disagree on the " + field), std::string::npos) << m;
      EXPECT_NE(m.find("rank 1"), std::string::npos) << m;
    }
  };
  refused([](Project& q) { q.training.policy = Policy::MixedBFloat16; }, "policy");
  refused([](Project& q) { q.training.seed = 99; }, "seed");
  refused([](Project& q) { q.training.batch_size = 32; }, "batch size");
  refused([](Project& q) { q.model.layers[1].out_features = 8; }, "parameter shapes");
  refused([](Project& q) { q.training.optimizer.lr = 0.5; }, "project");
}

// Rank 0's weights reach every rank: a rank that started from other weights
// (another init seed is refused, so other weights by hand) trains rank 0's.
TEST(DataParallel, RankZerosStateIsBroadcastAtStart) {
  Project p = adam_spirals(Policy::Float32, 2, 64);
  const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring, [](int r, Project&, TrainOptions& o) {
    if (r == 1) o.noise_twin = true;  // every initial weight one ulp up on rank 1 only
  });
  ASSERT_EQ(dp[1].summary.outcome, RunOutcome::Finished) << dp[1].summary.error;
  EXPECT_EQ(dp[0].masters, dp[1].masters);
  EXPECT_EQ(dp[0].sink.steps[0].weights_checksum, dp[1].sink.steps[0].weights_checksum);
}

// A pause on rank 0 holds every rank at the same step boundary (rank 1
// waits without timing out, though the pause outlasts its 1 s timeout), and
// a stop then ends both ranks after the same step.
TEST(DataParallel, PauseAndStopReachEveryRankAtTheSameStep) {
  const Project p = adam_spirals(Policy::Float32, 100000, 64);
  std::vector<std::unique_ptr<Collective>> group = gloo_group_in_process(2, std::chrono::seconds(1));
  std::array<TrainControl, 2> controls;
  std::array<RecordingSink, 2> sinks;
  std::array<RunSummary, 2> summaries;
  std::atomic<bool> paused_seen{false};
  struct PauseAt : RecordingSink {
    TrainControl* control = nullptr;
    std::atomic<bool>* seen = nullptr;
    void step_recorded(const StepMetrics& m) override {
      RecordingSink::step_recorded(m);
      if (m.step == 5 && control) {
        control->pause();
        *seen = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      omp_set_num_threads(1);
      TrainOptions o;
      o.collective = group[std::size_t(r)].get();
      auto backend = create_backend("cpu");
      Trainer trainer(p, *backend, o);
      PauseAt sink;
      if (r == 0) {
        sink.control = &controls[0];
        sink.seen = &paused_seen;
      }
      summaries[std::size_t(r)] = trainer.run(sink, controls[std::size_t(r)]);
      sinks[std::size_t(r)].steps = sink.steps;
    });
  while (!paused_seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // longer than the timeout
  controls[0].request_stop();
  controls[0].resume();
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(summaries[std::size_t(r)].outcome, RunOutcome::Stopped)
        << "rank " << r << ": " << summaries[std::size_t(r)].error;
    EXPECT_EQ(summaries[std::size_t(r)].steps, summaries[0].steps) << "rank " << r;
  }
  EXPECT_LE(summaries[0].steps, 8) << "the ranks went on while paused";
  EXPECT_GE(summaries[1].wall_time_s, 1.4) << "rank 1 was not held by rank 0's pause";
}

// spirals with a BatchNorm between the first Linear and its activation (the
// Linear without a bias: BatchNorm takes out the mean, and Adam would turn the
// bias's rounding-noise gradient into full-size steps).
Project with_batch_norm(Project p) {
  p.model.layers[1].bias = false;
  LayerSpec bn;
  bn.id = "bn1";
  bn.kind = LayerKind::BatchNorm;
  bn.inputs = {"fc1"};
  p.model.layers.insert(p.model.layers.begin() + 2, bn);
  p.model.layers[3].inputs = {"bn1"};  // act1 reads the normalised rows
  return p;
}

// The largest relative L2 distance between a's and b's masters, and between
// their BatchNorm running statistics.
std::pair<double, double> relative_distance(const Outcome& a, const Outcome& b) {
  const auto rel = [](const std::vector<float>& x, const std::vector<float>& y) {
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      diff += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
      norm += double(x[i]) * x[i];
    }
    return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
  };
  double masters = 0, buffers = 0;
  for (std::size_t k = 0; k < a.masters.size(); ++k) {
    std::vector<float> x(a.masters[k].size() / 4), y(x.size());
    std::memcpy(x.data(), a.masters[k].data(), a.masters[k].size());
    std::memcpy(y.data(), b.masters[k].data(), b.masters[k].size());
    masters = std::max(masters, rel(x, y));
  }
  for (std::size_t k = 0; k < a.buffers.size(); ++k) buffers = std::max(buffers, rel(a.buffers[k], b.buffers[k]));
  return {masters, buffers};
}

// PRECISION.md: only synchronised BatchNorm statistics equal one process with
// the whole batch. float32, 2 × 64 rows against 1 × 128 over 10 steps: with
// sync_batch_norm the masters and the running statistics agree within 1e-5
// relative; per rank they do not.
TEST(DataParallel, SynchronisedBatchNormIsCloseToTheFullBatch) {
  Project p = with_batch_norm(adam_spirals(Policy::Float32, 10, 128));
  p.training.sync_batch_norm = true;
  const Outcome full = one_process(p, 1);
  const std::vector<Outcome> synced = ranks(p, 2, ReduceOrder::Ring);
  ASSERT_EQ(synced[0].summary.outcome, RunOutcome::Finished) << synced[0].summary.error;
  ASSERT_EQ(full.buffers.size(), 2u);  // running mean and variance
  const auto [masters, buffers] = relative_distance(full, synced[0]);
  EXPECT_LT(masters, 1e-5);
  EXPECT_LT(buffers, 1e-5);
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(synced[0].sink.steps[i].loss, full.sink.steps[i].loss,
                1e-5 * std::abs(full.sink.steps[i].loss));
  // Rank 1 normalised with the same statistics: its running ones are rank 0's.
  EXPECT_EQ(synced[1].buffers, synced[0].buffers);

  p.training.sync_batch_norm = false;
  const std::vector<Outcome> per_rank = ranks(p, 2, ReduceOrder::Ring);
  ASSERT_EQ(per_rank[0].summary.outcome, RunOutcome::Finished) << per_rank[0].summary.error;
  const auto [masters_apart, buffers_apart] = relative_distance(full, per_rank[0]);
  EXPECT_GT(masters_apart, 1e-3) << "per-rank statistics should not match the full batch";
  EXPECT_GT(buffers_apart, 1e-3);
}

// A batch of 3 rows over 4 ranks: rank 0 has none and still joins each
// BatchNorm's sums with zeros; the statistics are the 3 rows'.
TEST(DataParallel, SynchronisedBatchNormWithARankWithoutRows) {
  Project p = with_batch_norm(adam_spirals(Policy::Float32, 6, 3));
  p.training.sync_batch_norm = true;
  const Outcome full = one_process(p, 1);
  const std::vector<Outcome> synced = ranks(p, 4, ReduceOrder::Rank);
  for (int r = 0; r < 4; ++r)
    ASSERT_EQ(synced[std::size_t(r)].summary.outcome, RunOutcome::Finished)
        << "rank " << r << ": " << synced[std::size_t(r)].summary.error;
  const auto [masters, buffers] = relative_distance(full, synced[0]);
  EXPECT_LT(masters, 1e-5);
  EXPECT_LT(buffers, 1e-5);
}

// One process cuts its batch into shards that run one after another: no
// BatchNorm can see them together, and the combination is refused.
TEST(DataParallel, SynchronisedBatchNormRefusesVirtualRanks) {
  Project p = with_batch_norm(adam_spirals(Policy::Float32, 2, 64));
  p.training.sync_batch_norm = true;
  p.training.virtual_ranks = 2;
  auto backend = create_backend("cpu");
  try {
    Trainer trainer(p, *backend);
    FAIL() << "sync_batch_norm with virtual ranks was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sync_batch_norm and virtual ranks (2) do not combine"),
              std::string::npos)
        << e.what();
  }
}

// Ranks whose tensors are not host memory (GPU ranks; here a wrapper that
// says so) refuse synchronised BatchNorm before any step, naming the backend.
TEST(DataParallel, SynchronisedBatchNormIsRefusedWhereTensorsAreNotHostMemory) {
  Project p = with_batch_norm(adam_spirals(Policy::Float32, 2, 64));
  p.training.sync_batch_norm = true;
  std::vector<std::unique_ptr<Collective>> group = gloo_group_in_process(2, std::chrono::seconds(5));
  testing::RecordingBackend device(create_backend("cpu"));
  ASSERT_FALSE(device.host_memory());
  Graph graph(p.model, device, p.training.policy, p.training.seed);
  try {
    TrainingStep step(graph, device, p.training, 2, StepOptions{.collective = group[0].get()});
    FAIL() << "synchronised BatchNorm was accepted on a rank without host memory";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("on CPU ranks only (this rank trains on recording-cpu)"),
              std::string::npos)
        << e.what();
  }
  // Per-rank statistics need no host memory: the same rank starts.
  p.training.sync_batch_norm = false;
  EXPECT_NO_THROW(TrainingStep(graph, device, p.training, 2, StepOptions{.collective = group[0].get()}));
}

// PRECISION.md: a run with BatchNorm says that its statistics are per rank.
TEST(DataParallel, ARunWithBatchNormSaysItsStatisticsArePerRank) {
  Project p = with_batch_norm(adam_spirals(Policy::Float32, 2, 64));
  const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring);
  ASSERT_EQ(dp[0].summary.outcome, RunOutcome::Finished) << dp[0].summary.error;
  bool said = false;
  for (const RunEvent& e : dp[0].sink.events)
    said = said || (e.message.find("BatchNorm statistics are per rank") != std::string::npos &&
                    e.message.find("bn1") != std::string::npos);
  EXPECT_TRUE(said);
  const Outcome one = one_process(p, 1);
  for (const RunEvent& e : one.sink.events)
    EXPECT_EQ(e.message.find("BatchNorm statistics"), std::string::npos) << "one process: " << e.message;
  // ... and, when they are synchronised, that they are.
  p.training.sync_batch_norm = true;
  const std::vector<Outcome> synced = ranks(p, 2, ReduceOrder::Ring);
  bool said_synced = false;
  for (const RunEvent& e : synced[0].sink.events)
    said_synced = said_synced ||
                  e.message.find("BatchNorm statistics are synchronised over the 2 ranks") !=
                      std::string::npos;
  EXPECT_TRUE(said_synced);
  // The manifest says so too (Compare lists it among the numerical differences).
  const nlohmann::json dp_synced = nlohmann::json::parse(synced[0].sink.manifest)["data_parallel"];
  EXPECT_EQ(dp_synced["ranks"], 2);
  EXPECT_EQ(dp_synced["batch_norm"], "synchronised");
  EXPECT_EQ(dp_synced["reduce_order"], "ring");
  EXPECT_EQ(nlohmann::json::parse(dp[0].sink.manifest)["data_parallel"]["batch_norm"], "per rank");
}

// A straggler shows: rank 1 held up 0.3 s before step 3 makes rank 0 wait
// that long for step 3's gradient sum (its reduce_time_s), and only there;
// every step reports the slowest rank's passes.
TEST(DataParallel, AStragglerShowsInTheStepMetrics) {
  const Project p = adam_spirals(Policy::Float32, 5, 64);
  const std::vector<Outcome> dp = ranks(p, 2, ReduceOrder::Ring, [](int, Project&, TrainOptions& o) {
    o.fault = {TrainOptions::Fault::Kind::Stall, 3, 1, 0.3};
  });
  const std::vector<StepMetrics>& s = dp[0].sink.steps;
  ASSERT_EQ(s.size(), 5u);
  EXPECT_GE(s[2].reduce_time_s, 0.25);
  EXPECT_LT(s[3].reduce_time_s, 0.2);
  for (const StepMetrics& m : s) EXPECT_GT(m.slowest_rank_s, 0.0) << "step " << m.step;
}

// Virtual ranks and several processes do not combine.
TEST(DataParallel, RefusesVirtualRanksOnTop) {
  Project p = adam_spirals(Policy::Float32, 2, 64);
  p.training.virtual_ranks = 2;
  EXPECT_THROW(ranks(p, 2, ReduceOrder::Ring), Error);
}

TEST(DataParallel, FaultsParseAndRefuseNonsense) {
  const TrainOptions::Fault f = parse_fault("stall@7:2/1.5", "MANTISSA_FAULT");
  EXPECT_EQ(f.kind, TrainOptions::Fault::Kind::Stall);
  EXPECT_EQ(f.step, 7);
  EXPECT_EQ(f.rank, 2);
  EXPECT_EQ(f.seconds, 1.5);
  EXPECT_EQ(parse_fault("inf@3", "x").rank, 0);
  for (const char* bad : {"inf", "boom@3", "inf@", "inf@0", "inf@3:", "inf@3/2", "kill@2:x", "stall@1/-1"})
    EXPECT_THROW(parse_fault(bad, "MANTISSA_FAULT"), InputError) << bad;
}

}  // namespace
}  // namespace mantissa
