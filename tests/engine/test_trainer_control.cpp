// The trainer driven from another thread (pause, resume, stop while paused)
// and datasets whose labels do not fit the model, on the CPU backend.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {
using test_data::TempDir;
using test_data::write_text;
using testing::RecordingSink;
using testing::spirals_project;

std::vector<double> losses_of(const std::vector<StepMetrics>& steps) {
  std::vector<double> out;
  for (const auto& m : steps) out.push_back(m.loss);
  return out;
}

// Records steps under a lock and holds the trainer at `hold_at` until the
// test thread lets it go, so the test knows where the run is.
struct SteppingSink : RecordingSink {
  std::int64_t hold_at = 0;
  std::mutex mutex;
  std::condition_variable cv;
  bool reached = false, released = false;

  void step_recorded(const StepMetrics& m) override {
    std::unique_lock lock(mutex);
    RecordingSink::step_recorded(m);
    if (m.step != hold_at) return;
    reached = true;
    cv.notify_all();
    cv.wait(lock, [this] { return released; });
  }
  void wait_until_reached() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [this] { return reached; });
  }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    cv.notify_all();
  }
  std::size_t recorded() {
    std::lock_guard lock(mutex);
    return steps.size();
  }
};

// Pause and resume from another thread while run() works: the run waits at a
// step boundary, then completes every step, on the trajectory of a run that
// was never paused.
TEST(TrainerControl, PauseAndResumeFromAnotherThreadKeepTheTrajectory) {
  const std::int64_t total = 40, pause_after = 12;
  Project p = spirals_project(Policy::MixedFloat16, total);
  p.training.loss_scale.growth_interval = 4;  // the scale moves during the run
  auto backend = create_backend("cpu");

  Trainer straight(p, *backend);
  RecordingSink a;
  TrainControl ca;
  ASSERT_EQ(straight.run(a, ca).outcome, RunOutcome::Finished);

  Trainer paused(p, *backend);
  SteppingSink b;
  b.hold_at = pause_after;
  TrainControl cb;
  RunSummary s;
  std::thread worker([&] { s = paused.run(b, cb); });
  b.wait_until_reached();
  cb.pause();
  EXPECT_TRUE(cb.paused());
  b.release();
  // On the CPU a step is read before the next is enqueued, so nothing was in
  // flight when the pause came: the trainer waits right after step
  // pause_after. Give it time to (wrongly) go on.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(b.recorded(), std::size_t(pause_after)) << "steps were taken while paused";
  cb.resume();
  EXPECT_FALSE(cb.paused());
  worker.join();

  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  EXPECT_EQ(s.steps, total);
  ASSERT_EQ(b.steps.size(), std::size_t(total));
  for (std::size_t i = 0; i < b.steps.size(); ++i) {
    EXPECT_EQ(b.steps[i].step, std::int64_t(i) + 1);
    EXPECT_EQ(b.steps[i].loss_scale, a.steps[i].loss_scale) << "step " << i + 1;
  }
  EXPECT_EQ(losses_of(b.steps), losses_of(a.steps));
  EXPECT_EQ(s.final_loss_scale, a.summary.final_loss_scale);
  EXPECT_EQ(b.summary.steps, total);
}

// A stop requested while paused wakes the trainer and ends the run there,
// stopped, with a checkpoint at that step so it can be resumed.
TEST(TrainerControl, StopWhilePausedEndsTheRun) {
  const std::int64_t pause_after = 7;
  auto backend = create_backend("cpu");
  Trainer t(spirals_project(Policy::Float32, 30), *backend);
  SteppingSink sink;
  sink.hold_at = pause_after;
  TrainControl c;
  RunSummary s;
  std::thread worker([&] { s = t.run(sink, c); });
  sink.wait_until_reached();
  c.pause();
  sink.release();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.request_stop();
  worker.join();
  EXPECT_EQ(s.outcome, RunOutcome::Stopped);
  EXPECT_EQ(s.steps, pause_after);
  EXPECT_EQ(sink.steps.size(), std::size_t(pause_after));
  ASSERT_FALSE(sink.checkpoints.empty());
  EXPECT_EQ(sink.checkpoints.back().first, pause_after);
}

// A label past the model's last class is an InputError when the trainer is
// built, not an out-of-range read in the loss: it names the dataset, the
// classes its labels imply, and the layer whose outputs are too few.
TEST(TrainerInput, LabelBeyondTheModelsClassesIsOneClearError) {
  TempDir dir;
  write_text(dir / "labels.csv",
             "x,y,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,5\n0.7,0.8,1\n0.2,0.1,0\n");
  Project p = spirals_project(Policy::Float32, 5, 2);
  p.dataset = DatasetSpec{};
  p.dataset.kind = "csv";
  p.dataset.path = dir / "labels.csv";
  auto backend = create_backend("cpu");
  try {
    Trainer t(p, *backend);
    FAIL() << "a label of 5 for a model with 2 outputs was accepted";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("labels.csv"), std::string::npos) << what;
    EXPECT_NE(what.find("6 classes"), std::string::npos) << what;  // labels 0..5
    EXPECT_NE(what.find("'fc2'"), std::string::npos) << what;
    EXPECT_NE(what.find("2 outputs"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
  }

  // The same labels fit a model with 6 outputs and train.
  p.model.layers[3].out_features = 6;  // fc2
  Trainer t(p, *backend);
  RecordingSink sink;
  TrainControl c;
  EXPECT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
}

// Labels that are not class ids (negative) make regression targets, which a
// softmax cross-entropy cannot train on: one error naming the loss layer.
TEST(TrainerInput, NegativeLabelIsNotAClassId) {
  TempDir dir;
  write_text(dir / "neg.csv", "x,y,label\n0.1,0.2,0\n0.3,0.4,-1\n0.5,0.6,1\n0.7,0.8,1\n");
  Project p = spirals_project(Policy::Float32, 5, 2);
  p.dataset = DatasetSpec{};
  p.dataset.kind = "csv";
  p.dataset.path = dir / "neg.csv";
  auto backend = create_backend("cpu");
  try {
    Trainer t(p, *backend);
    FAIL() << "a label of -1 was taken as a class";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'loss'"), std::string::npos) << what;
    EXPECT_NE(what.find("neg.csv"), std::string::npos) << what;
    EXPECT_NE(what.find("regression targets"), std::string::npos) << what;
  }
}

// MSE on class labels trains against one-hot vectors of the model's width, so
// a label past the last output has no slot: it should be the same InputError.
// MSE trains class labels on one-hot targets: an output per class is needed,
// or the one-hot write would land past the end of its buffer.
TEST(TrainerInput, MseOnClassLabelsNeedsAnOutputPerClass) {
  TempDir dir;
  std::string csv = "x,y,label\n";
  for (int i = 0; i < 64; ++i) csv += "0.1,0.2," + std::to_string(i % 6) + "\n";
  write_text(dir / "six.csv", csv);
  Project p = spirals_project(Policy::Float32, 20, 8);
  p.dataset = DatasetSpec{};
  p.dataset.kind = "csv";
  p.dataset.path = dir / "six.csv";
  p.model.layers[4].kind = LayerKind::MSE;  // loss
  auto backend = create_backend("cpu");
  try {
    Trainer t(p, *backend);
    FAIL() << "labels 0..5 were accepted for an MSE on 2 outputs";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("six.csv"), std::string::npos) << what;
    EXPECT_NE(what.find("'fc2'"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace mantissa
