// TrainingController end to end on tiny projects: runs reach the signals in
// order and the store with their final status; stop, pause, replacement and
// bad input behave.
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "TestSupport.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/model.hpp"
#include "mantissa/store.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

std::vector<StepMetrics> collectSteps(const QSignalSpy& spy, quint64 generation) {
  std::vector<StepMetrics> out;
  for (const QList<QVariant>& args : spy) {
    if (args.at(0).toULongLong() != generation) continue;
    for (const StepMetrics& m : args.at(1).value<QVector<StepMetrics>>()) out.push_back(m);
  }
  return out;
}

}  // namespace

class ControllerTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  std::filesystem::path db() const {
    return dir_.filePath(QStringLiteral("runs.db")).toStdString();
  }
  Project spirals(qint64 steps, const QString& dataset = QString()) const {
    return parseProject(spiralsJson(steps, QStringLiteral("float32"), QString(), dataset),
                        dir_.filePath(QStringLiteral("spirals.json")));
  }

 private slots:
  // A studio killed during a data-parallel run leaves the ranks' copy of
  // its project in the temporary folder; the next controller removes the
  // copies whose studio is gone, and nothing else.
  void ranksFilesOfAGoneStudioAreRemoved() {
    QTemporaryDir tmp;
    const QByteArray oldTmp = qgetenv("TMPDIR");
    qputenv("TMPDIR", tmp.path().toLocal8Bit());
    const auto touch = [&](const QString& name) {
      QFile f(tmp.filePath(name));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("{}");
    };
    const QString mine = QStringLiteral("mantissa-ranks-%1-1.json").arg(QCoreApplication::applicationPid());
    // (no process has a number past the kernel's pid_max, 2^22 at most)
    const QString gone = QStringLiteral("mantissa-ranks-999999999-3.json");
    const QStringList kept = {mine, QStringLiteral("mantissa-ranks-notes.json"),
                              QStringLiteral("mantissa-ranks-999999999-3.json.bak"),
                              QStringLiteral("other.json")};
    for (const QString& name : kept) touch(name);
    touch(gone);
    { TrainingController c(db()); }
    if (oldTmp.isNull()) qunsetenv("TMPDIR");
    else qputenv("TMPDIR", oldTmp);
    QVERIFY2(!QFileInfo::exists(tmp.filePath(gone)), qPrintable(gone));
    for (const QString& name : kept) QVERIFY2(QFileInfo::exists(tmp.filePath(name)), qPrintable(name));
  }

  void finishedRunReachesSignalsAndStore() {
    TrainingController c(db());
    QSignalSpy started(&c, &TrainingController::runStarted);
    QSignalSpy steps(&c, &TrainingController::stepsRecorded);
    QSignalSpy epochs(&c, &TrainingController::epochsRecorded);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    QSignalSpy failed(&c, &TrainingController::runFailed);
    const quint64 gen = c.start(spirals(60), Policy::MixedBFloat16);
    QVERIFY(c.isBusy());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QTRY_COMPARE(c.state(), TrainingController::State::Idle);
    QCOMPARE(failed.count(), 0);
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).toULongLong(), gen);
    QCOMPARE(started.at(0).at(2).value<RunStart>().total_steps, qint64(60));

    const std::vector<StepMetrics> all = collectSteps(steps, gen);
    QCOMPARE(all.size(), std::size_t(60));
    for (std::size_t i = 0; i < all.size(); ++i) QCOMPARE(all[i].step, qint64(i) + 1);
    QVERIFY(steps.count() >= 1);
    QVERIFY(epochs.count() >= 1);

    const qint64 runId = finished.at(0).at(1).toLongLong();
    const RunSummary summary = finished.at(0).at(2).value<RunSummary>();
    QCOMPARE(summary.outcome, RunOutcome::Finished);
    QCOMPARE(summary.steps, qint64(60));
    QCOMPARE(runId, c.currentRunId());

    RunStore store(db());
    const RunRecord rec = store.require_run(runId);
    QCOMPARE(rec.status, RunStatus::Finished);
    QCOMPARE(rec.steps_recorded, qint64(60));
    QCOMPARE(rec.policy, std::string("mixed_bfloat16"));
    QCOMPARE(rec.backend, std::string("cpu"));
    QVERIFY(rec.summary_json.find("\"steps\":60") != std::string::npos);
  }

  // The device picker's "CPU × 2": the studio's trainer is rank 0,
  // the command line rank 1; the run records both ranks, and a stop reaches
  // both at the same step, after which no rank is left.
  void dataParallelDeviceTrainsOnTwoProcesses() {
    qputenv("MANTISSA_CLI", QByteArray(MANTISSA_CLI));
    TrainingController c(db());
    QSignalSpy finished(&c, &TrainingController::runFinished);
    QSignalSpy failed(&c, &TrainingController::runFailed);
    c.start(spirals(40), Policy::MixedFloat16, QStringLiteral("cpu*2"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, kRunTimeoutMs);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    const qint64 runId = finished.at(0).at(1).toLongLong();
    QCOMPARE(finished.at(0).at(2).value<RunSummary>().steps, 40);
    RunStore store(db());
    const std::optional<RankLayout> ranks = store.ranks(runId);
    QVERIFY(ranks);
    QCOMPARE(ranks->world_size, 2);
    QCOMPARE(ranks->engine, std::string("gloo"));
    QCOMPARE(store.require_run(runId).backend, std::string("cpu"));
    // Its snapshot is rank 0's project, which sample, evaluate, export and
    // resume read back: "cpu", not the picker's "cpu*2".
    const std::string snapshot = store.require_run(runId).project_json;
    try {
      QCOMPARE(parse_project(snapshot, "snapshot").training.backend, std::string("cpu"));
    } catch (const std::exception& e) {
      QFAIL(e.what());
    }

    QSignalSpy stopped(&c, &TrainingController::runFinished);
    QSignalSpy steps(&c, &TrainingController::stepsRecorded);
    c.start(spirals(1000000), Policy::Float32, QStringLiteral("cpu*2"));
    QTRY_VERIFY_WITH_TIMEOUT(steps.count() > 0, kRunTimeoutMs);
    c.stop();
    QTRY_COMPARE_WITH_TIMEOUT(stopped.count(), 1, kRunTimeoutMs);
    QCOMPARE(stopped.at(0).at(2).value<RunSummary>().outcome, RunOutcome::Stopped);
    QTRY_COMPARE(c.state(), TrainingController::State::Idle);
    // The command line's rank ended with it.
    QProcess ps;
    ps.start(QStringLiteral("pgrep"), {QStringLiteral("-f"), QStringLiteral("mantissa-ranks-")});
    ps.waitForFinished();
    QCOMPARE(QString::fromLocal8Bit(ps.readAllStandardOutput()).trimmed(), QString());

    // Without the command line, the run fails at once saying so (not after
    // the minute a rank that never joins would take).
    qputenv("MANTISSA_CLI", QByteArray("/nonexistent/mantissa"));
    QSignalSpy missing(&c, &TrainingController::runFailed);
    QElapsedTimer clock;
    clock.start();
    c.start(spirals(10), Policy::Float32, QStringLiteral("cpu*2"));
    QTRY_COMPARE_WITH_TIMEOUT(missing.count(), 1, 20000);
    QVERIFY2(missing.at(0).at(1).toString().contains(QStringLiteral("not there or not executable")),
             qPrintable(missing.at(0).at(1).toString()));
    QVERIFY(clock.elapsed() < 10000);
    qputenv("MANTISSA_CLI", QByteArray(MANTISSA_CLI));
  }

  void stopEndsTheRunAsStopped() {
    TrainingController c(db());
    QSignalSpy steps(&c, &TrainingController::stepsRecorded);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    c.start(spirals(5'000'000), Policy::Float32);
    QTRY_VERIFY_WITH_TIMEOUT(steps.count() > 0, kRunTimeoutMs);
    c.stop();
    QCOMPARE(c.state(), TrainingController::State::Stopping);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    const RunSummary s = finished.at(0).at(2).value<RunSummary>();
    QCOMPARE(s.outcome, RunOutcome::Stopped);
    QVERIFY(s.steps > 0 && s.steps < 5'000'000);
    QTRY_COMPARE(c.state(), TrainingController::State::Idle);
    RunStore store(db());
    QCOMPARE(store.require_run(finished.at(0).at(1).toLongLong()).status, RunStatus::Stopped);
  }

  void pauseHoldsTheRunAtAStepBoundary() {
    TrainingController c(db());
    QSignalSpy steps(&c, &TrainingController::stepsRecorded);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    const quint64 gen = c.start(spirals(5'000'000), Policy::Float32);
    QTRY_VERIFY_WITH_TIMEOUT(steps.count() > 0, kRunTimeoutMs);
    c.pause();
    QCOMPARE(c.state(), TrainingController::State::Paused);
    QTest::qWait(300);  // the step in flight lands and is drained
    const std::size_t held = collectSteps(steps, gen).size();
    QTest::qWait(400);
    QCOMPARE(collectSteps(steps, gen).size(), held);
    c.resume();
    QCOMPARE(c.state(), TrainingController::State::Running);
    QTRY_VERIFY_WITH_TIMEOUT(collectSteps(steps, gen).size() > held, kRunTimeoutMs);
    c.pause();
    c.stop();  // a stop wakes a paused run
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(finished.at(0).at(2).value<RunSummary>().outcome, RunOutcome::Stopped);
  }

  void badDatasetFailsWithItsMessage() {
    TrainingController c(db());
    QSignalSpy started(&c, &TrainingController::runStarted);
    QSignalSpy failed(&c, &TrainingController::runFailed);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    c.start(spirals(60, missingCsvDataset()), Policy::Float32);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kRunTimeoutMs);
    QVERIFY2(failed.at(0).at(1).toString().contains(QStringLiteral("missing-data.csv")),
             qPrintable(failed.at(0).at(1).toString()));
    QTRY_COMPARE(c.state(), TrainingController::State::Idle);
    QCOMPARE(started.count(), 0);
    QCOMPARE(finished.count(), 0);
    // Kept as a failed run, as the command line keeps it.
    RunStore store(db());
    QVERIFY(c.currentRunId() > 0);
    const RunRecord rec = store.require_run(c.currentRunId());
    QCOMPARE(rec.status, RunStatus::Failed);
    QVERIFY(rec.error.find("missing-data.csv") != std::string::npos);

    // The controller is still usable.
    c.start(spirals(20), Policy::Float32);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(finished.at(0).at(2).value<RunSummary>().outcome, RunOutcome::Finished);
  }

  void unusableDeviceFailsBeforeARunExists() {
    QTemporaryDir own;
    const std::filesystem::path path = own.filePath(QStringLiteral("runs.db")).toStdString();
    TrainingController c(path);
    QSignalSpy failed(&c, &TrainingController::runFailed);
    c.start(spirals(20), Policy::Float32, QStringLiteral("nodevice:3"));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kRunTimeoutMs);
    QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("nodevice")));
    QTRY_COMPARE(c.state(), TrainingController::State::Idle);
    RunStore store(path);
    QVERIFY(store.list_runs().empty());
  }

  void aReplacedRunIsDropped() {
    TrainingController c(db());
    QSignalSpy steps(&c, &TrainingController::stepsRecorded);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    QSignalSpy started(&c, &TrainingController::runStarted);
    const quint64 first = c.start(spirals(5'000'000), Policy::Float32);
    QTRY_VERIFY_WITH_TIMEOUT(steps.count() > 0, kRunTimeoutMs);
    const qint64 firstRun = c.currentRunId();
    steps.clear();
    const quint64 second = c.start(spirals(30), Policy::Float32);
    QVERIFY(second != first);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QTRY_COMPARE(c.state(), TrainingController::State::Idle);
    // Nothing of the first run arrived after the second was started.
    for (const QList<QVariant>& args : steps) QCOMPARE(args.at(0).toULongLong(), second);
    QCOMPARE(finished.at(0).at(0).toULongLong(), second);
    QCOMPARE(collectSteps(steps, second).size(), std::size_t(30));
    RunStore store(db());
    QCOMPARE(store.require_run(firstRun).status, RunStatus::Stopped);
    QCOMPARE(store.require_run(finished.at(0).at(1).toLongLong()).status, RunStatus::Finished);
  }
};

int runControllerTests(int argc, char** argv) {
  ControllerTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "ControllerTest.moc"
