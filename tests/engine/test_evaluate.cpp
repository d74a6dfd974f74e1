// The evaluate job (mantissa/evaluate.hpp): a stored run's checkpoint on its
// validation split gives exactly the trainer's validation loss and accuracy
// for the same weights, a confusion matrix that accounts for every sample,
// and clear errors for runs it cannot evaluate.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/test_store_util.hpp"
#include "mantissa/evaluate.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"
#include "train/validation.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using store_test::TempDir;

// Trains `p` into `db` (checkpoints into the store) and returns the run id.
std::int64_t train_into(const std::filesystem::path& db, const Project& p) {
  RunStore store(db);
  NewRun rec;
  rec.name = "eval";
  rec.project_name = p.name;
  rec.policy = std::string(policy_name(p.training.policy));
  rec.backend = "cpu";
  rec.project_json = project_to_json(p);
  const std::int64_t id = store.create_run(rec);
  struct Sink : MetricsSink {
    RunStore& store;
    std::int64_t id;
    std::vector<EpochMetrics> epochs;
    Sink(RunStore& s, std::int64_t i) : store(s), id(i) {}
    void step_recorded(const StepMetrics& m) override { store.append_step(id, m); }
    void epoch_recorded(const EpochMetrics& m) override {
      store.append_epoch(id, m);
      epochs.push_back(m);
    }
    void event_recorded(const RunEvent& e) override { store.append_event(id, e); }
    void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind kind,
                            const std::vector<std::uint8_t>& blob) override {
      store.add_checkpoint(id, step, epoch, blob, kind);
    }
    void run_finished(const RunSummary&) override {}
  } sink(store, id);
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend);
  TrainControl control;
  trainer.run(sink, control);
  store.flush();
  return id;
}

TEST(EvaluateJob, MatchesTheTrainersValidationAndCountsEverySample) {
  TempDir dir;
  Project p = testing::spirals_project(Policy::MixedBFloat16, 0);
  p.training.steps.reset();
  p.training.epochs = 2;
  p.dataset.validation_fraction = 0.25;
  const std::int64_t id = train_into(dir / "runs.db", p);

  RunStore store(dir / "runs.db", StoreOptions::reading());
  const std::vector<EpochMetrics> epochs = store.epoch_metrics(id);
  ASSERT_EQ(epochs.size(), 2u);
  const Evaluation e = evaluate_run(store, id);
  EXPECT_EQ(e.step, epochs.back().step) << "the newest checkpoint is the run's end";
  EXPECT_TRUE(e.classification);
  EXPECT_EQ(e.samples, 64);  // a quarter of 256
  // The same weights, batches and fp32 loss as the trainer's validation.
  EXPECT_DOUBLE_EQ(e.loss, epochs.back().val_loss);
  EXPECT_DOUBLE_EQ(e.accuracy(), epochs.back().val_accuracy);
  ASSERT_EQ(e.num_classes, 2);
  ASSERT_EQ(e.confusion.size(), 4u);
  EXPECT_EQ(std::accumulate(e.confusion.begin(), e.confusion.end(), std::int64_t(0)), e.samples);
  EXPECT_EQ(e.confusion[0] + e.confusion[3], e.correct);
  EXPECT_EQ(std::int64_t(e.misclassified.size()), std::min<std::int64_t>(32, e.samples - e.correct));
  for (const MisclassifiedSample& m : e.misclassified) {
    EXPECT_NE(m.truth, m.predicted);
    ASSERT_LT(m.row, e.data->size());
    EXPECT_EQ(int(e.data->targets[std::size_t(m.row)]), m.truth);
  }
  const std::vector<double> per_class = e.per_class_accuracy();
  ASSERT_EQ(per_class.size(), 2u);
  for (int c = 0; c < 2; ++c) {
    const double row = double(e.confusion[std::size_t(c * 2)] + e.confusion[std::size_t(c * 2 + 1)]);
    EXPECT_DOUBLE_EQ(per_class[std::size_t(c)], double(e.confusion[std::size_t(c * 3)]) / row);
  }

  // An earlier checkpoint by step; a step without one names those it has.
  const Evaluation first = evaluate_run(store, id, {.checkpoint_step = epochs.front().step});
  EXPECT_EQ(first.step, epochs.front().step);
  EXPECT_DOUBLE_EQ(first.loss, epochs.front().val_loss);
  try {
    evaluate_run(store, id, {.checkpoint_step = 3});
    FAIL() << "evaluated a checkpoint that does not exist";
  } catch (const InputError& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("run " + std::to_string(id) + " has no checkpoint at step 3"),
              std::string::npos) << what;
    EXPECT_NE(what.find("(stored: " + std::to_string(epochs.back().step) + ", "),
              std::string::npos) << what;
  }
  EXPECT_THROW(evaluate_run(store, id + 7), InputError);
  EXPECT_THROW(evaluate_run(store, id, {.backend = "tpu"}), InputError);
}

TEST(EvaluateJob, ARunWithoutACheckpointIsNamed) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  const std::int64_t id = store.create_run(store_test::sample_run());
  try {
    evaluate_run(store, id);
    FAIL();
  } catch (const InputError& err) {
    EXPECT_EQ(std::string(err.what()), "run " + std::to_string(id) +
                                           " has no checkpoint to evaluate (status running, 0 "
                                           "steps recorded)");
  }
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// The validation pass weights each batch's mean loss by its size, so the
// split into batches (a short last one included) does not change the mean.
TEST(ValidationPass, MeanLossAndCountDoNotDependOnTheBatchSplit) {
  const Project p = testing::spirals_project(Policy::Float32, 1);
  const DatasetSplit data = load_dataset(p.dataset);
  ASSERT_GT(data.validation.size(), 40);
  ASSERT_NE(data.validation.size() % 28, 0) << "the test needs a short last batch";
  auto backend = create_backend("cpu");
  Graph graph(p.model, *backend, Policy::Float32, 7);
  const ValidationResult whole = validate(graph, *backend, data.validation, data.validation.size());
  const ValidationResult split = validate(graph, *backend, data.validation, 28);
  const ValidationResult single = validate(graph, *backend, data.validation, 1);
  EXPECT_GT(whole.loss, 0);
  EXPECT_NEAR(split.loss, whole.loss, 1e-6 * whole.loss);
  EXPECT_NEAR(single.loss, whole.loss, 1e-6 * whole.loss);
  EXPECT_EQ(split.correct, whole.correct);
  EXPECT_EQ(single.correct, whole.correct);
}

}  // namespace
}  // namespace mantissa
