// RunStore metrics: batched commits, reading back, CSV export, checkpoints.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <thread>

#include "engine/test_store_util.hpp"
#include "mantissa/metric_fields.hpp"
#include "store/sqlite.hpp"

namespace mantissa {
namespace {

using namespace std::chrono_literals;
using store_test::sample_run;
using store_test::sample_step;
using store_test::TempDir;

TEST(StoreMetrics, ThousandStepsCommitInAFewTransactions) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  const std::int64_t commits_before = store.commit_count();
  for (int s = 1; s <= 1000; ++s) store.append_step(id, sample_step(s));
  store.flush();
  const std::int64_t commits = store.commit_count() - commits_before;
  EXPECT_GE(commits, 1);
  EXPECT_LT(commits, 5);
  EXPECT_EQ(store.buffered_rows(), 0u);

  const auto steps = store.step_metrics(id);
  ASSERT_EQ(steps.size(), 1000u);
  for (int s = 1; s <= 1000; ++s) {
    const StepMetrics expected = sample_step(s);
    const StepMetrics& got = steps[static_cast<size_t>(s - 1)];
    ASSERT_EQ(got.step, s);
    EXPECT_EQ(got.epoch, expected.epoch);
    EXPECT_EQ(got.loss, expected.loss);  // doubles stored exactly
    EXPECT_EQ(got.skipped, expected.skipped);
    EXPECT_EQ(got.skipped_total, expected.skipped_total);
    EXPECT_EQ(got.memory_peak, expected.memory_peak);
    EXPECT_EQ(got.wall_time_s, expected.wall_time_s);
  }
}

TEST(StoreMetrics, BatchCommitsOnItsOwnAfterTheIntervalAndOtherConnectionsSeeIt) {
  TempDir dir;
  const auto path = dir / "runs.db";
  RunStore store(path, {.batch_interval = 100ms});
  const auto id = store.create_run(sample_run());
  store.flush();
  store.append_step(id, sample_step(1));
  store.append_step(id, sample_step(2));
  EXPECT_EQ(store.buffered_rows(), 2u);  // within the interval: still in memory
  RunStore reader(path);
  EXPECT_TRUE(reader.step_metrics(id).empty());

  std::this_thread::sleep_for(120ms);
  store.append_step(id, sample_step(3));  // the interval has passed: this append commits
  EXPECT_EQ(store.buffered_rows(), 0u);
  EXPECT_EQ(reader.step_metrics(id).size(), 3u);
  EXPECT_EQ(reader.require_run(id).last_step, 3);
}

TEST(StoreMetrics, FullBufferCommitsEarly) {
  TempDir dir;
  RunStore store(dir / "runs.db", {.batch_interval = 1h, .max_buffered_rows = 100});
  const auto id = store.create_run(sample_run());
  for (int s = 1; s <= 250; ++s) store.append_step(id, sample_step(s));
  EXPECT_EQ(store.buffered_rows(), 50u);
}

TEST(StoreMetrics, DestructionAndMoveAssignmentCommitBufferedRows) {
  TempDir dir;
  const auto path = dir / "runs.db";
  std::int64_t id = 0;
  {
    RunStore store(path, {.batch_interval = 1h});
    id = store.create_run(sample_run());
    store.append_step(id, sample_step(1));
    store = RunStore(dir / "other.db");  // the store it replaces commits its buffer
    RunStore moved(std::move(store));
    moved.append_step(moved.create_run(sample_run()), sample_step(1));
  }
  EXPECT_EQ(RunStore(path).step_metrics(id).size(), 1u);
  RunStore other(dir / "other.db");
  EXPECT_EQ(other.list_runs().at(0).steps_recorded, 1);
}

TEST(StoreMetrics, NonFiniteValuesRoundTrip) {
  // SQLite stores a NaN REAL as NULL; the store reads NULL back as NaN.
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  StepMetrics m = sample_step(1);
  m.loss = std::numeric_limits<double>::quiet_NaN();
  m.grad_norm = std::numeric_limits<double>::infinity();
  m.skipped = true;
  store.append_step(id, m);
  const auto steps = store.step_metrics(id);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_TRUE(std::isnan(steps[0].loss));
  EXPECT_TRUE(std::isinf(steps[0].grad_norm));
  const RunRecord r = store.require_run(id);
  ASSERT_TRUE(r.final_loss);
  EXPECT_TRUE(std::isnan(*r.final_loss));
}

TEST(StoreMetrics, StepWrittenAgainReplacesTheOldRow) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  for (int s = 1; s <= 10; ++s) store.append_step(id, sample_step(s));
  store.flush();
  StepMetrics again = sample_step(5);  // resumed from a checkpoint at step 4
  again.loss = 0.75;
  store.append_step(id, again);
  const auto steps = store.step_metrics(id);
  ASSERT_EQ(steps.size(), 10u);
  EXPECT_EQ(steps[4].loss, 0.75);
}

TEST(StoreMetrics, EventsKeepTheirOrderAndKinds) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  store.append_event(id, {.step = 9, .kind = EventKind::Info, .message = "resumed"});
  store.append_event(id, {.step = 3, .kind = EventKind::Error, .message = "device lost"});
  store.append_event(id, {.step = 4, .kind = EventKind::Warning, .message = "scale below 1"});
  const auto events = store.events(id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].message, "resumed");
  EXPECT_EQ(events[1].kind, EventKind::Error);
  EXPECT_EQ(events[2].kind, EventKind::Warning);
  EXPECT_EQ(events[2].step, 4);
}

TEST(StoreMetrics, CsvHasHeaderAndOneRowPerStep) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  for (int s = 1; s <= 3; ++s) store.append_step(id, sample_step(s));
  StepMetrics overflow = sample_step(4);
  overflow.loss = std::numeric_limits<double>::quiet_NaN();
  overflow.grad_norm = std::numeric_limits<double>::infinity();
  overflow.forward_nonfinite = true;
  store.append_step(id, overflow);

  std::istringstream csv(store.metrics_csv(id));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "step,epoch,loss,loss_scale,skipped,skipped_total,growth_tracker,grad_norm,lr,"
            "step_time_s,samples_per_s,memory_in_use,memory_peak,driver_memory_in_use,wall_time_s,"
            "unscaled_grad_amax,forward_nonfinite,update_norm,weight_norm,weights_checksum,"
            "slowest_rank_s,reduce_time_s");
  EXPECT_EQ(lines[2], "2,0,1.25,65536,0,0,2,0.25,0.05,0.003,42666.5,1048576,3145728,0,0.006,nan,0,0,0,0,0,0");
  EXPECT_EQ(lines[4], "4,0,nan,65536,0,0,4,inf,0.05,0.003,42666.5,1048576,3145728,0,0.012,nan,1,0,0,0,0,0");
  // Shortest round-trip formatting: the text parses back to the stored double.
  EXPECT_EQ(std::stod(lines[3].substr(lines[3].find(',', 2) + 1)), 2.5 / 3);
}

// The metrics table (metric_fields.hpp) is the schema: the step_metrics
// columns after run_id are its fields, in order, and every field survives a
// round trip through the database with a value of its own.
TEST(StoreMetrics, StepColumnsAreTheMetricsTableAndEveryFieldRoundTrips) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  {
    sql::Connection db((dir / "runs.db").string());
    sql::Statement q = db.prepare("SELECT name FROM pragma_table_info('step_metrics') ORDER BY cid");
    std::vector<std::string> columns;
    while (q.step()) columns.push_back(q.column_text(0));
    std::vector<std::string> expected{"run_id"};
    for (const StepField& f : kStepFields) expected.emplace_back(f.name);
    EXPECT_EQ(columns, expected) << "a metric needs its row in kStepFields and a migration";
  }
  // Every row names a member of its own (a row pointing at another's member
  // would store one value twice and lose the other).
  for (std::size_t i = 0; i < kStepFields.size(); ++i)
    for (std::size_t j = i + 1; j < kStepFields.size(); ++j)
      EXPECT_NE(kStepFields[i].member, kStepFields[j].member)
          << kStepFields[i].name << " and " << kStepFields[j].name;
  StepMetrics m;
  int n = 0;
  for (const StepField& f : kStepFields) {
    ++n;
    EXPECT_FALSE(f.description.empty()) << f.name;
    visit_field(f, m, [&](auto& value) {
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, bool>)
        value = true;
      else
        value = T(n * 3 + 1) / T(f.name == "step" || f.name == "epoch" ? 1 : 2);
    });
  }
  store.append_step(id, m);
  const std::vector<StepMetrics> back = store.step_metrics(id);
  ASSERT_EQ(back.size(), 1u);
  for (const StepField& f : kStepFields)
    visit_field(f, m, [&](const auto& want) {
      visit_field(f, back[0], [&](const auto& got) { EXPECT_EQ(got, want) << f.name; });
    });
}

TEST(StoreMetrics, CheckpointsKeepTheNewestThree) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  for (int s = 100; s <= 500; s += 100) {
    std::vector<std::uint8_t> blob(1000 + static_cast<size_t>(s), static_cast<std::uint8_t>(s));
    store.add_checkpoint(id, s, s / 200, blob);
  }
  const auto infos = store.checkpoints(id);
  ASSERT_EQ(infos.size(), 3u);
  EXPECT_EQ(infos[0].step, 500);
  EXPECT_EQ(infos[1].step, 400);
  EXPECT_EQ(infos[2].step, 300);
  EXPECT_EQ(infos[0].bytes, 1500);

  const auto latest = store.latest_checkpoint(id);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->step, 500);
  EXPECT_EQ(latest->epoch, 2);
  EXPECT_EQ(latest->data, std::vector<std::uint8_t>(1500, static_cast<std::uint8_t>(500)));
  const auto at300 = store.checkpoint(id, 300);
  ASSERT_TRUE(at300);
  EXPECT_EQ(at300->data.size(), 1300u);
  EXPECT_FALSE(store.checkpoint(id, 200));
  EXPECT_FALSE(store.latest_checkpoint(id + 1));

  store.add_checkpoint(id, 600, 3, {});  // an empty checkpoint is still a checkpoint
  ASSERT_TRUE(store.latest_checkpoint(id));
  EXPECT_TRUE(store.latest_checkpoint(id)->data.empty());
  EXPECT_EQ(store.checkpoints(id).size(), 3u);
  EXPECT_THROW(store.add_checkpoint(id + 1, 1, 0, std::vector<std::uint8_t>{1}), InputError);
}

TEST(StoreMetrics, CheckpointFlushesBufferedMetricsFirst) {
  TempDir dir;
  const auto path = dir / "runs.db";
  RunStore store(path, {.batch_interval = 1h});
  const auto id = store.create_run(sample_run());
  for (int s = 1; s <= 10; ++s) store.append_step(id, sample_step(s));
  store.add_checkpoint(id, 10, 0, std::vector<std::uint8_t>{7});
  EXPECT_EQ(store.buffered_rows(), 0u);
  RunStore reader(path);
  EXPECT_EQ(reader.step_metrics(id).size(), 10u);
}

TEST(StoreMetrics, AppendCostIsMicroseconds) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  constexpr int kSteps = 20000;
  const auto start = std::chrono::steady_clock::now();
  for (int s = 1; s <= kSteps; ++s) store.append_step(id, sample_step(s));
  store.flush();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double us_per_step = seconds * 1e6 / kSteps;
  std::printf("[ store    ] %d steps appended and committed: %.2f us per step\n", kSteps,
              us_per_step);
  RecordProperty("us_per_step", std::to_string(us_per_step));
  EXPECT_EQ(store.require_run(id).steps_recorded, kSteps);
  // Generous bound for a shared machine; a transaction per step would cost milliseconds.
  EXPECT_LT(us_per_step, 100.0);
}

}  // namespace
}  // namespace mantissa
