// RunStore: opening, schema migrations, refusing files it must not touch, and
// the runs table.
#include <cmath>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/test_store_util.hpp"
#include "mantissa/names.hpp"
#include "mantissa/recorder.hpp"
#include "store/sqlite.hpp"

namespace mantissa {
namespace {

using store_test::sample_run;
using store_test::sample_step;
using store_test::TempDir;

std::set<std::string> table_names(const std::filesystem::path& db_path) {
  sql::Connection db(db_path.string());
  sql::Statement q = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
  std::set<std::string> names;
  while (q.step()) names.insert(q.column_text(0));
  return names;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(StoreOpen, NewDatabaseIsMigratedToLatestVersionInWalMode) {
  TempDir dir;
  const auto path = dir / "nested" / "deeper" / "runs.db";  // parents are created
  {
    RunStore store(path);
    EXPECT_EQ(store.schema_version(), 10);
    EXPECT_EQ(RunStore::latest_schema_version(), 10);
    EXPECT_EQ(store.path(), path);
  }
  sql::Connection db(path.string());
  EXPECT_EQ(db.query_int("PRAGMA user_version"), 10);
  EXPECT_EQ(db.query_int("PRAGMA application_id"), 0x4D4E5453);
  sql::Statement mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_text(0), "wal");
  mode.reset();
  const auto tables = table_names(path);
  for (const char* t : {"runs", "step_metrics", "epoch_metrics", "events", "checkpoints"}) {
    EXPECT_TRUE(tables.count(t)) << t;
  }
}

TEST(StoreOpen, ReopenPreservesRunsAndMetrics) {
  TempDir dir;
  const auto path = dir / "runs.db";
  std::int64_t id = 0;
  {
    RunStore store(path);
    id = store.create_run(sample_run());
    for (int s = 1; s <= 20; ++s) store.append_step(id, sample_step(s));
    store.append_epoch(id, {.epoch = 0,
                            .step = 20,
                            .train_loss = 0.5,
                            .val_loss = 0.6,
                            .val_accuracy = 0.91,
                            .wall_time_s = 1.5});
    store.append_event(id, {.step = 7,
                            .kind = EventKind::Overflow,
                            .message = "overflow at step 7",
                            .scale_before = 65536,
                            .scale_after = 32768,
                            .tensor = "fc2.bias",
                            .wall_time_s = 0.02});
    store.set_summary(id, R"({"final_loss":0.125})");
    store.set_status(id, RunStatus::Finished);
  }
  RunStore store(path);
  EXPECT_EQ(store.schema_version(), 10);
  const RunRecord r = store.require_run(id);
  const NewRun expected = sample_run();
  EXPECT_EQ(r.name, expected.name);
  EXPECT_EQ(r.project_json, expected.project_json);
  EXPECT_EQ(r.loss_scale_json, expected.loss_scale_json);
  EXPECT_EQ(r.library_versions, expected.library_versions);
  EXPECT_EQ(r.seed, 1234u);
  EXPECT_EQ(r.status, RunStatus::Finished);
  EXPECT_FALSE(r.finished_at.empty());
  EXPECT_EQ(r.pid, static_cast<std::int64_t>(getpid()));
  EXPECT_EQ(r.summary_json, R"({"final_loss":0.125})");
  EXPECT_EQ(r.steps_recorded, 20);
  EXPECT_EQ(r.last_step, 20);
  EXPECT_EQ(r.skipped_total, 2);
  ASSERT_TRUE(r.final_loss);
  EXPECT_DOUBLE_EQ(*r.final_loss, 2.5 / 20);
  ASSERT_TRUE(r.best_val_accuracy);
  EXPECT_DOUBLE_EQ(*r.best_val_accuracy, 0.91);

  const auto steps = store.step_metrics(id);
  ASSERT_EQ(steps.size(), 20u);
  EXPECT_EQ(steps[6].step, 7);
  EXPECT_TRUE(steps[6].skipped);
  EXPECT_EQ(steps[6].grad_norm, 0.125 * 7);
  const auto events = store.events(id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::Overflow);
  EXPECT_EQ(events[0].tensor, "fc2.bias");
  EXPECT_EQ(events[0].scale_after, 32768);
  ASSERT_EQ(store.epoch_metrics(id).size(), 1u);
  EXPECT_EQ(store.epoch_metrics(id)[0].val_accuracy, 0.91);
}

// A database of version 5 (before the loss scaler's record) opens, gains the
// two columns, keeps its steps (read as not measured) and takes new ones.
TEST(StoreOpen, AVersion5DatabaseGainsTheScalerRecordAndTheFingerprint) {
  TempDir dir;
  const auto path = dir / "runs.db";
  std::int64_t id = 0;
  {
    RunStore store(path);
    id = store.create_run(sample_run());
    store.append_step(id, sample_step(1));
  }
  {
    sql::Connection db(path.string());
    db.exec("ALTER TABLE step_metrics DROP COLUMN unscaled_grad_amax");
    db.exec("ALTER TABLE step_metrics DROP COLUMN forward_nonfinite");
    db.exec("ALTER TABLE step_metrics DROP COLUMN update_norm");
    db.exec("ALTER TABLE step_metrics DROP COLUMN weight_norm");
    db.exec("ALTER TABLE step_metrics DROP COLUMN weights_checksum");
    db.exec("DROP TABLE run_weights");
    db.exec("DROP TABLE step_weight_norms");
    db.exec("DROP TABLE fix_trials");
    db.exec("ALTER TABLE step_metrics DROP COLUMN slowest_rank_s");
    db.exec("ALTER TABLE step_metrics DROP COLUMN reduce_time_s");
    db.exec("DROP TABLE run_ranks");
    db.exec("PRAGMA user_version = 5");
  }
  RunStore store(path);
  EXPECT_EQ(store.schema_version(), 10);
  StepMetrics measured = sample_step(2);
  measured.unscaled_grad_amax = 0.375;
  measured.forward_nonfinite = true;
  store.append_step(id, measured);
  const std::vector<StepMetrics> steps = store.step_metrics(id);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(std::isnan(steps[0].unscaled_grad_amax));
  EXPECT_FALSE(steps[0].forward_nonfinite);
  EXPECT_EQ(steps[0].loss, sample_step(1).loss);
  EXPECT_EQ(steps[1].unscaled_grad_amax, 0.375);
  EXPECT_TRUE(steps[1].forward_nonfinite);
  // ... and the weight fingerprint (version 7): old steps read 0 and no norms.
  EXPECT_EQ(steps[0].weights_checksum, 0);
  EXPECT_EQ(steps[0].update_norm, 0.0);
  EXPECT_TRUE(store.weight_norms(id).empty());
  EXPECT_TRUE(store.weight_names(id).empty());
  EXPECT_TRUE(store.fix_trials().empty());  // version 8
  EXPECT_FALSE(store.ranks(id));              // version 9: one rank
  EXPECT_EQ(steps[0].slowest_rank_s, 0.0);
}

// A data-parallel run keeps its ranks: world size, engine, order, devices.
TEST(StoreOpen, ADataParallelRunKeepsItsRanks) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const std::int64_t id = store.create_run(sample_run());
  EXPECT_FALSE(store.ranks(id));
  store.set_ranks(id, {2, "gloo", "rank", {"cpu Xeon (1 thread)", "cpu Xeon (1 thread)"}});
  const std::optional<RankLayout> r = store.ranks(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->world_size, 2);
  EXPECT_EQ(r->engine, "gloo");
  EXPECT_EQ(r->reduce_order, "rank");
  EXPECT_EQ(r->devices, (std::vector<std::string>{"cpu Xeon (1 thread)", "cpu Xeon (1 thread)"}));
  store.delete_run(id);
  EXPECT_FALSE(store.ranks(id));
}

// Version 10: a snapshot the studio stored with the device picker's "cpu*2"
// or "cuda*0,1" reads back with rank 0's device; others are left as they were.
TEST(StoreOpen, SnapshotsWithThePickersDeviceTakeRankZerosOnOpening) {
  TempDir dir;
  const auto path = dir / "runs.db";
  const std::vector<std::string> stored{"cpu*2", "cuda*0,1", "cuda*3", "cpu", "cuda:1"};
  std::vector<std::int64_t> ids;
  {
    RunStore store(path);
    for (const std::string& device : stored) {
      NewRun run = sample_run();
      run.project_json = R"({"name": "p", "training": {"policy": "float32", "backend": ")" +
                         device + R"("}})";
      ids.push_back(store.create_run(run));
    }
    NewRun broken = sample_run();
    broken.project_json = "not json {";
    ids.push_back(store.create_run(broken));
  }
  {
    sql::Connection db(path.string());
    db.exec("PRAGMA user_version = 9");
  }
  RunStore store(path);
  EXPECT_EQ(store.schema_version(), 10);
  const std::vector<std::string> expected{"cpu", "cuda:0", "cuda:3", "cpu", "cuda:1"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(store.require_run(ids[i]).project_json);
    EXPECT_EQ(j["training"]["backend"], expected[i]) << stored[i];
    EXPECT_EQ(j["training"]["policy"], "float32") << stored[i];
    EXPECT_EQ(j["name"], "p") << stored[i];
  }
  EXPECT_EQ(store.require_run(ids.back()).project_json, "not json {");
}

TEST(StoreOpen, NewerSchemaVersionIsRefused) {
  TempDir dir;
  const auto path = dir / "runs.db";
  { RunStore store(path); }
  {
    sql::Connection db(path.string());
    db.exec("PRAGMA user_version = 11");
  }
  EXPECT_EQ(error_of([&] { RunStore store(path); }),
            path.string() + ": database schema version 11 is newer than this build supports (10)");
  sql::Connection db(path.string());
  EXPECT_EQ(db.query_int("PRAGMA user_version"), 11);  // left as it was
}

TEST(StoreOpen, GarbageFileIsRefusedAndLeftUntouched) {
  TempDir dir;
  const auto path = dir / "runs.db";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "this is a text file, not a database " << i << "\n";
  }
  const std::string before = store_test::read_bytes(path);
  EXPECT_EQ(error_of([&] { RunStore store(path); }),
            path.string() + ": not a Mantissa run database (file is not a database)");
  EXPECT_EQ(store_test::read_bytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path.string() + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path.string() + "-journal"));
}

TEST(StoreOpen, AnotherApplicationsDatabaseIsRefused) {
  TempDir dir;
  const auto path = dir / "other.db";
  {
    sql::Connection db(path.string());
    db.exec("CREATE TABLE contacts (name TEXT)");
  }
  EXPECT_EQ(
      error_of([&] { RunStore store(path); }),
      path.string() + ": not a Mantissa run database (it holds another application's tables)");
  EXPECT_EQ(table_names(path), std::set<std::string>{"contacts"});
}

TEST(StoreOpen, DirectoryInsteadOfFileIsRefused) {
  TempDir dir;
  std::filesystem::create_directory(dir / "runs.db");
  EXPECT_EQ(error_of([&] { RunStore store(dir / "runs.db"); }),
            (dir / "runs.db").string() + ": is a directory, not a database");
}

TEST(StoreOpen, DefaultPathFollowsEnvironment) {
  const auto saved = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto db = saved("MANTISSA_DB"), xdg = saved("XDG_DATA_HOME"), home = saved("HOME");
  setenv("MANTISSA_DB", "/data/my.db", 1);
  EXPECT_EQ(default_database_path(), "/data/my.db");
  unsetenv("MANTISSA_DB");
  setenv("XDG_DATA_HOME", "/xdg", 1);
  EXPECT_EQ(default_database_path(), "/xdg/mantissa/runs.db");
  setenv("XDG_DATA_HOME", "relative", 1);  // ignored, as the XDG spec says
  setenv("HOME", "/home/ada", 1);
  EXPECT_EQ(default_database_path(), "/home/ada/.local/share/mantissa/runs.db");
  const auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v)
      setenv(name, v->c_str(), 1);
    else
      unsetenv(name);
  };
  restore("MANTISSA_DB", db);
  restore("XDG_DATA_HOME", xdg);
  restore("HOME", home);
}

TEST(StoreRuns, CreateListFilterNewestFirst) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto a = store.create_run(sample_run("fp32", "mnist-mlp", "float32"));
  const auto b = store.create_run(sample_run("fp16", "mnist-mlp", "mixed_float16"));
  NewRun c_run = sample_run("", "cifar-cnn", "mixed_bfloat16");
  c_run.group_name = "compare-1";
  c_run.parent_run_id = a;
  const auto c = store.create_run(c_run);
  store.set_status(b, RunStatus::Failed, "loss became NaN at step 12");

  const auto all = store.list_runs();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, c);
  EXPECT_EQ(all[1].id, b);
  EXPECT_EQ(all[2].id, a);
  EXPECT_EQ(all[0].name, "run " + std::to_string(c));  // unnamed runs get a name
  EXPECT_EQ(all[0].group_name, "compare-1");
  EXPECT_EQ(all[0].parent_run_id, a);
  EXPECT_FALSE(all[2].group_name);
  EXPECT_EQ(all[2].status, RunStatus::Running);
  EXPECT_TRUE(all[2].finished_at.empty());
  EXPECT_EQ(all[1].error, "loss became NaN at step 12");
  EXPECT_EQ(all[1].steps_recorded, 0);
  EXPECT_FALSE(all[1].final_loss);

  const auto ids = [](const std::vector<RunRecord>& runs) {
    std::vector<std::int64_t> out;
    for (const auto& r : runs) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids(store.list_runs({.project_name = "mnist-mlp"})), (std::vector{b, a}));
  EXPECT_EQ(ids(store.list_runs({.policy = "float32"})), std::vector{a});
  EXPECT_EQ(ids(store.list_runs({.status = RunStatus::Failed})), std::vector{b});
  EXPECT_EQ(ids(store.list_runs({.group_name = "compare-1"})), std::vector{c});
  EXPECT_TRUE(store.list_runs({.project_name = "mnist-mlp", .policy = "mixed_bfloat16"}).empty());
}

// A name is shown on one line of a table or a list: a line break, a tab or a
// terminal escape in it (or more than 200 bytes) is refused with where it is,
// and the stored name stays as it was; notes may span lines. A new run's
// name, which the program may build from a given one, is cut to fit instead.
TEST(StoreRuns, NamesAreOneLineOfPrintableText) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const auto id = store.create_run(sample_run());
  const std::string before = store.require_run(id).name;
  EXPECT_EQ(error_of([&] { store.rename_run(id, "evil\nname"); }),
            "run " + std::to_string(id) + ": the name holds a line break at byte 5");
  EXPECT_EQ(error_of([&] { store.rename_run(id, "x\x1b[2J"); }),
            "run " + std::to_string(id) + ": the name holds a terminal escape at byte 2");
  EXPECT_EQ(error_of([&] { store.rename_run(id, std::string(kMaxNameBytes + 1, 'a')); }),
            "run " + std::to_string(id) + ": the name is 201 bytes long (at most 200)");
  EXPECT_EQ(store.require_run(id).name, before);
  store.rename_run(id, "fp16 — warm-up, ünïcode");  // UTF-8 is text
  store.set_notes(id, "line one\nline two");
  EXPECT_EQ(store.require_run(id).notes, "line one\nline two");
  NewRun tabbed = sample_run();
  tabbed.name = "a\tb";
  EXPECT_EQ(error_of([&] { store.create_run(tabbed); }), "the run's name holds a tab at byte 2");
  EXPECT_EQ(error_of([&] { store.rename_run(id, "a\xc2\x9b" "2J"); }),
            "run " + std::to_string(id) + ": the name holds a terminal escape at byte 2");
  // 99 two-byte characters and one more would end mid-character at byte 200.
  NewRun built = sample_run();
  built.name = "x" + std::string();
  for (int i = 0; i < 120; ++i) built.name += "\xc3\xa9";  // é
  const std::string stored = store.require_run(store.create_run(built)).name;
  EXPECT_EQ(stored.size(), 199u) << "x and 99 é";
  EXPECT_EQ(stored, built.name.substr(0, 199));
}

TEST(StoreRuns, RenameNotesStatusAndMissingRuns) {
  TempDir dir;
  const auto path = dir / "runs.db";
  RunStore store(path);
  const auto id = store.create_run(sample_run());
  store.rename_run(id, "fp16 with warm-up");
  store.set_notes(id, "scale fell to 1 around step 300");
  store.set_status(id, RunStatus::Stopped);
  RunRecord r = store.require_run(id);
  EXPECT_EQ(r.name, "fp16 with warm-up");
  EXPECT_EQ(r.notes, "scale fell to 1 around step 300");
  EXPECT_EQ(r.status, RunStatus::Stopped);
  EXPECT_FALSE(r.finished_at.empty());
  store.set_status(id, RunStatus::Running);  // resumed
  EXPECT_TRUE(store.require_run(id).finished_at.empty());

  const std::string missing = "no run 999 in " + path.string();
  EXPECT_FALSE(store.get_run(999));
  EXPECT_THROW(store.require_run(999), InputError);
  EXPECT_EQ(error_of([&] { store.require_run(999); }), missing);
  EXPECT_EQ(error_of([&] { store.rename_run(999, "x"); }), missing);
  EXPECT_EQ(error_of([&] { store.set_notes(999, "x"); }), missing);
  EXPECT_EQ(error_of([&] { store.set_status(999, RunStatus::Finished); }), missing);
  EXPECT_EQ(error_of([&] { store.delete_run(999); }), missing);
  EXPECT_EQ(error_of([&] { store.metrics_csv(999); }), missing);
  NewRun orphan = sample_run();
  orphan.parent_run_id = 999;
  EXPECT_EQ(error_of([&] { store.create_run(orphan); }), missing);

  EXPECT_EQ(parse_run_status("interrupted"), RunStatus::Interrupted);
  EXPECT_EQ(run_status_name(RunStatus::Failed), "failed");
  EXPECT_THROW(parse_run_status("done"), InputError);
}

TEST(StoreRuns, DeleteCascadesToMetricsEventsAndCheckpoints) {
  TempDir dir;
  const auto path = dir / "runs.db";
  RunStore store(path);
  const auto gone = store.create_run(sample_run("gone"));
  const auto kept = store.create_run(sample_run("kept"));
  for (const auto id : {gone, kept}) {
    for (int s = 1; s <= 5; ++s) store.append_step(id, sample_step(s));
    store.append_epoch(id, {.epoch = 0, .step = 5});
    store.append_event(id, {.step = 3, .kind = EventKind::Warning, .message = "slow"});
    store.add_checkpoint(id, 5, 0, std::vector<std::uint8_t>{1, 2, 3});
  }
  store.append_step(gone, sample_step(6));  // still buffered when the run goes
  store.delete_run(gone);
  store.flush();

  EXPECT_FALSE(store.get_run(gone));
  sql::Connection db(path.string());
  for (const char* table : {"step_metrics", "epoch_metrics", "events", "checkpoints"}) {
    EXPECT_EQ(db.query_int(std::string("SELECT count(*) FROM ") + table +
                           " WHERE run_id = " + std::to_string(gone)),
              0)
        << table;
  }
  EXPECT_EQ(store.step_metrics(kept).size(), 5u);
  EXPECT_EQ(store.events(kept).size(), 1u);
  EXPECT_TRUE(store.latest_checkpoint(kept));
}

TEST(StoreRuns, MetricsOfADeletedRunAreDroppedNotFatal) {
  // The studio deletes a run from its own connection while the trainer still
  // buffers metrics for it: the trainer's next commit must not fail for good.
  TempDir dir;
  const auto path = dir / "runs.db";
  RunStore trainer(path);
  const auto doomed = trainer.create_run(sample_run("doomed"));
  const auto other = trainer.create_run(sample_run("other"));
  trainer.append_step(doomed, sample_step(1));
  trainer.append_step(other, sample_step(1));
  {
    RunStore studio(path);
    studio.delete_run(doomed);
  }
  trainer.flush();
  EXPECT_EQ(trainer.buffered_rows(), 0u);
  EXPECT_EQ(trainer.step_metrics(other).size(), 1u);
  EXPECT_TRUE(trainer.step_metrics(doomed).empty());
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// The summary the recorder writes is read back typed, field for field; a
// non-finite value comes back empty, and a damaged text gives no summary.
TEST(StoreSummary, RecordedSummaryReadsBackTyped) {
  RunSummary s;
  s.steps = 120;
  s.skipped_steps = 3;
  s.final_loss_scale = 32768;
  s.final_train_loss = 0.25;
  s.final_val_loss = std::numeric_limits<double>::quiet_NaN();
  s.final_val_accuracy = 0.875;
  s.wall_time_s = 12.5;
  s.samples_per_s = 4096;
  s.peak_memory = std::int64_t(1) << 33;
  const StoredSummary back = parse_stored_summary(run_summary_json(s));
  EXPECT_EQ(back.steps, 120);
  EXPECT_EQ(back.skipped_steps, 3);
  EXPECT_EQ(back.final_loss_scale, 32768.0);
  EXPECT_EQ(back.final_train_loss, 0.25);
  EXPECT_FALSE(back.final_val_loss.has_value()) << "NaN is stored as null";
  EXPECT_EQ(back.final_val_accuracy, 0.875);
  EXPECT_EQ(back.peak_memory, std::int64_t(1) << 33);
  EXPECT_EQ(parse_stored_summary(stored_summary_json(back)).final_val_accuracy, 0.875);
  EXPECT_FALSE(parse_stored_summary("").steps.has_value());
  EXPECT_FALSE(parse_stored_summary("{not json").steps.has_value());
  EXPECT_FALSE(parse_stored_summary("[1, 2]").steps.has_value());

  store_test::TempDir dir;
  RunStore store(dir / "runs.db");
  const std::int64_t id = store.create_run(store_test::sample_run());
  EXPECT_FALSE(store.require_run(id).summary.steps.has_value()) << "running: no summary";
  store.set_summary(id, run_summary_json(s));
  EXPECT_EQ(store.require_run(id).summary.samples_per_s, 4096.0);
}

}  // namespace
}  // namespace mantissa
