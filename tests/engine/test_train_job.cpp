// The train job (mantissa/train_job.hpp) both faces call: the new run's
// record, the scaler settings as stored, a run recorded end to end, a run
// whose trainer cannot start kept as failed, and a resumed run continuing
// its record.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/test_store_util.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/train_job.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using store_test::TempDir;

TEST(TrainJob, NewRunRecordHoldsTheSnapshotAndTheScalerThatApplies) {
  Project p = testing::spirals_project(Policy::MixedFloat16, 5);
  p.training.loss_scale.init_scale = 1024;
  const NewRun r = new_run_record(p, "tiny fp16");
  EXPECT_EQ(r.name, "tiny fp16");
  EXPECT_EQ(r.project_name, "tiny-spirals");
  EXPECT_EQ(r.policy, "mixed_float16");
  EXPECT_EQ(r.seed, p.training.seed);
  EXPECT_FALSE(r.library_versions.empty());
  EXPECT_EQ(parse_project(r.project_json, "snapshot").training.policy, Policy::MixedFloat16);
  const auto scale = nlohmann::json::parse(r.loss_scale_json);
  EXPECT_EQ(scale["mode"], "dynamic");
  EXPECT_EQ(scale["init_scale"], 1024.0);
  EXPECT_TRUE(scale.contains("growth_interval"));
  // Under float32 the scaler does not apply: only the mode is stored.
  p.training.policy = Policy::Float32;
  EXPECT_EQ(loss_scale_json(p.training), R"({"mode":"none"})");
  const std::string group = comparison_group(p);
  EXPECT_EQ(group.rfind("tiny-spirals 20", 0), 0u) << group;
  EXPECT_EQ(group.back(), 'Z') << group;
}

// The stored snapshot has no project file to be relative to: its dataset
// paths are absolute, each resolved as the trainer resolves it (relative to
// the project's folder, as the studio's dataset page leaves a typed name).
TEST(TrainJob, TheSnapshotsDatasetPathsAreAbsoluteAsTheTrainerReadsThem) {
  Project p = testing::spirals_project(Policy::Float32, 5);
  p.dataset.kind = "csv";
  p.file = "/data/projects/p.json";
  p.dataset.path = "tables/train.csv";
  p.dataset.validation_path = "../held/valid.csv";
  const Project back = parse_project(new_run_record(p, "csv").project_json, "snapshot");
  EXPECT_EQ(back.dataset.path, std::filesystem::path("/data/projects/tables/train.csv"));
  EXPECT_EQ(back.dataset.validation_path, std::filesystem::path("/data/held/valid.csv"));
  // Without a project file (the command line makes its paths absolute
  // first): relative to the working directory.
  p.file.clear();
  const Project cwd = parse_project(new_run_record(p, "csv").project_json, "snapshot");
  EXPECT_EQ(cwd.dataset.path, std::filesystem::current_path() / "tables/train.csv");
}

TEST(TrainJob, RecordsARunAndKeepsOneThatCannotStartAsFailed) {
  TempDir dir;
  auto backend = create_backend("cpu");
  TrainRequest ok;
  ok.project = testing::spirals_project(Policy::Float32, 6);
  ok.backend = "cpu";
  ok.database = dir / "runs.db";
  ok.new_run = new_run_record(ok.project, "ok");
  testing::RecordingSink sink;
  TrainControl control;
  std::int64_t id = 0;
  const RunSummary done =
      run_training(ok, *backend, sink, control, [&](std::int64_t i) { id = i; });
  EXPECT_EQ(done.outcome, RunOutcome::Finished);
  ASSERT_GT(id, 0);
  EXPECT_EQ(sink.steps.size(), 6u) << "the face hears every step";

  TrainRequest bad = ok;
  bad.project.dataset.kind = "idx";
  bad.project.dataset.images = dir / "missing-images.idx";
  bad.project.dataset.labels = dir / "missing-labels.idx";
  bad.new_run = new_run_record(bad.project, "bad");
  std::int64_t bad_id = 0;
  const RunSummary failed =
      run_training(bad, *backend, sink, control, [&](std::int64_t i) { bad_id = i; });
  EXPECT_EQ(failed.outcome, RunOutcome::Failed);
  EXPECT_NE(failed.error.find("missing-images.idx"), std::string::npos) << failed.error;

  RunStore store(dir / "runs.db", StoreOptions::reading());
  EXPECT_EQ(store.require_run(id).status, RunStatus::Finished);
  EXPECT_EQ(store.require_run(id).steps_recorded, 6);
  EXPECT_EQ(store.require_run(id).backend, "cpu");
  EXPECT_EQ(store.require_run(bad_id).status, RunStatus::Failed);
}

TEST(TrainJob, ResumeRequestContinuesAStoppedRun) {
  TempDir dir;
  auto backend = create_backend("cpu");
  TrainRequest first;
  first.project = testing::spirals_project(Policy::Float32, 12);
  first.project.training.checkpoint_every = 4;
  first.backend = "cpu";
  first.database = dir / "runs.db";
  first.new_run = new_run_record(first.project, "stopped");
  struct StopAfter : testing::RecordingSink {
    TrainControl* control = nullptr;
    void step_recorded(const StepMetrics& m) override {
      RecordingSink::step_recorded(m);
      if (m.step == 5) control->request_stop();
    }
  } sink;
  TrainControl control;
  sink.control = &control;
  std::int64_t id = 0;
  EXPECT_EQ(run_training(first, *backend, sink, control, [&](std::int64_t i) { id = i; }).outcome,
            RunOutcome::Stopped);

  TrainRequest again;
  {
    RunStore store(dir / "runs.db");
    again = resume_request(store, id);
  }
  EXPECT_EQ(again.resume_run, id);
  EXPECT_GE(again.resume_step, 4);
  again.database = dir / "runs.db";
  testing::RecordingSink rest;
  TrainControl go;
  std::int64_t resumed = 0;
  EXPECT_EQ(run_training(again, *backend, rest, go, [&](std::int64_t i) { resumed = i; }).outcome,
            RunOutcome::Finished);
  EXPECT_EQ(resumed, id);
  RunStore store(dir / "runs.db", StoreOptions::reading());
  EXPECT_EQ(store.require_run(id).status, RunStatus::Finished);
  EXPECT_EQ(store.step_metrics(id).back().step, 12);
}

}  // namespace
}  // namespace mantissa
