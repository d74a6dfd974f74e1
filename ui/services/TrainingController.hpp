#pragma once
// Owns the one worker thread that loads the dataset, builds the Trainer and
// runs it. Widgets never touch the engine: they call start/pause/resume/stop
// and listen to the signals below, which a ~30 Hz timer emits in batches on the
// GUI thread. Every signal carries the run's generation; a run that was
// replaced by a newer start() is dropped before it reaches any widget.
#include <QObject>
#include <QString>
#include <QTimer>
#include <QVector>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "MetricTypes.hpp"
#include "mantissa/model.hpp"
#include "mantissa/trainer.hpp"

namespace mantissa::ui {

class RunChannel;

// Runs started together (Compare Policies): the group they share and the
// sweep's first run, as `mantissa compare` records them.
struct RunLink {
  std::optional<std::string> group;
  std::optional<qint64> parent;
  std::optional<std::string> name;   // the new run's name (default: project and policy)
  std::optional<std::string> notes;  // its notes (a fix tried for its parent, say)
  // A branch of the parent: resumed from one of its checkpoints (its bytes),
  // with the scaler in another state (a what-if's branch to verify).
  std::optional<std::vector<std::uint8_t>> resume_from;
  std::optional<mantissa::TrainOptions::ScalerState> scaler_state;
  // A guided fix tried for the parent (stored as a FixTrial).
  std::optional<std::string> fix_rule, fix_title;
};

class TrainingController : public QObject {
  Q_OBJECT

 public:
  enum class State { Idle, Preparing, Running, Paused, Stopping };
  Q_ENUM(State)

  // Runs are recorded in the SQLite store at `databasePath`.
  explicit TrainingController(std::filesystem::path databasePath, QObject* parent = nullptr);
  ~TrainingController() override;

  const std::filesystem::path& databasePath() const { return databasePath_; }
  void setDatabasePath(std::filesystem::path path) { databasePath_ = std::move(path); }

  State state() const { return state_; }
  bool isBusy() const { return state_ != State::Idle; }
  quint64 generation() const { return generation_; }
  // Store id of the current run (or the last one); 0 until the worker has
  // created it.
  qint64 currentRunId() const { return runId_; }

  // Starts a run of `project` under `policy` on `device` ("cpu", "cuda:0").
  // A run already going is stopped first and its results are dropped. Returns
  // the new run's generation.
  // `link` groups the run with others (Compare Policies, as `mantissa compare`).
  quint64 start(const mantissa::Project& project, mantissa::Policy policy,
                const QString& device = QStringLiteral("cpu"), const RunLink& link = {});
  // Continues a stored run (stopped, interrupted or failed) from its newest
  // checkpoint that reads back whole, on the device it trained on; damaged
  // newer ones are reported as warning events. Returns the generation.
  quint64 resumeRun(qint64 runId);
  void pause();
  void resume();
  void stop();

  // Weights the next runs start from (TrainOptions::init_weights); nullopt: fresh.
  void setInitWeights(std::optional<std::filesystem::path> file) { initWeights_ = std::move(file); }
  const std::optional<std::filesystem::path>& initWeights() const { return initWeights_; }

  // How often the queue is drained (ms); ~30 Hz by default.
  void setDrainInterval(int ms) { timer_.setInterval(ms); }

 signals:
  void stateChanged(mantissa::ui::TrainingController::State state);
  void runStarted(quint64 generation, qint64 runId, const mantissa::RunStart& start);
  void stepsRecorded(quint64 generation, const QVector<mantissa::StepMetrics>& steps);
  void epochsRecorded(quint64 generation, const QVector<mantissa::EpochMetrics>& epochs);
  void eventsRecorded(quint64 generation, const QVector<mantissa::RunEvent>& events);
  // A skipped step traced to the tensor where it first went non-finite.
  void provenanceRecorded(quint64 generation, const mantissa::Provenance& provenance);
  // Any outcome (finished, stopped, failed) of a run that started; the store
  // already holds its final status when this arrives.
  void runFinished(quint64 generation, qint64 runId, const mantissa::RunSummary& summary);
  // The run could not start (bad project, missing dataset, store unavailable)
  // or failed while training. One line, ready to show.
  void runFailed(quint64 generation, const QString& message);

 private:
  struct Pending;
  void drain();
  void launch(const mantissa::Project& project, std::optional<qint64> resumeRunId = {},
              const RunLink& link = {});
  void reapThread();
  void setState(State s);

  std::filesystem::path databasePath_;
  QTimer timer_;
  State state_ = State::Idle;
  quint64 generation_ = 0;
  qint64 runId_ = 0;
  std::optional<std::filesystem::path> initWeights_;

  std::thread worker_;
  std::shared_ptr<RunChannel> channel_;        // drained; belongs to generation_
  std::shared_ptr<RunChannel> workerChannel_;  // the one worker_ writes to
  bool started_ = false;                       // the current run began stepping
  std::shared_ptr<mantissa::TrainControl> control_;
  std::unique_ptr<Pending> pending_;  // a start waiting for the old thread
};

}  // namespace mantissa::ui
