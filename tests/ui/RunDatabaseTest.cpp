// The studio and its run database: which database it opens (command line,
// then $MANTISSA_DB, then the one remembered), that it says which in the
// window, switching databases, resuming runs from History and from the
// start-up offer, and closing the window during a run.
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "EventLog.hpp"
#include "HistoryPage.hpp"
#include "InlineMessage.hpp"
#include "MainWindow.hpp"
#include "StudioSettings.hpp"
#include "TestSupport.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/store.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

constexpr int kRunMs = 120000;

bool idle(MainWindow& w) {
  return w.controller()->state() == TrainingController::State::Idle;
}

// Opens `path` as the run database (checked on the run library's worker);
// the error, empty when the window switched to it.
QString openDatabase(MainWindow& w, const QString& path, bool create) {
  QSignalSpy opened(&w, &MainWindow::runDatabaseOpened);
  if (!w.openRunDatabase(path, create)) return w.messageBar()->text();
  if (!opened.wait(10000)) return QStringLiteral("no answer");
  return opened.at(0).at(1).toString();
}

RunRecord runIn(const QString& db, qint64 id) {
  RunStore store(db.toStdString());
  return store.require_run(id);
}

// Environment variable set for the lifetime of the object.
struct ScopedEnv {
  QByteArray name, old;
  bool had;
  ScopedEnv(const char* n, const QString& value) : name(n), old(qgetenv(n)), had(qEnvironmentVariableIsSet(n)) {
    if (value.isNull()) qunsetenv(n); else qputenv(n, value.toUtf8());
  }
  ~ScopedEnv() {
    if (had) qputenv(name.constData(), old); else qunsetenv(name.constData());
  }
};

}  // namespace

class RunDatabaseTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;

  StudioOptions options(const QString& db, const QString& json = spiralsJson(60)) {
    StudioOptions o;
    o.databasePath = db;
    o.settingsFile = dir_.filePath(QStringLiteral("studio.ini"));
    o.projectPath = writeFile(dir_, QStringLiteral("project.json"), json);
    o.restoreWindowState = false;
    return o;
  }

 private slots:
  void commandLineThenEnvironmentThenTheRememberedOne() {
    const QString remembered = dir_.filePath(QStringLiteral("remembered.db"));
    const QString fromEnv = dir_.filePath(QStringLiteral("env.db"));
    const QString given = dir_.filePath(QStringLiteral("given.db"));
    {
      StudioSettings s(dir_.filePath(QStringLiteral("studio.ini")));
      s.setLastDatabase(remembered);
      s.sync();
    }
    {
      ScopedEnv env("MANTISSA_DB", fromEnv);
      MainWindow w(options(given));
      QCOMPARE(w.runDatabasePath(), given);
      MainWindow v(options(QString()));
      QCOMPARE(v.runDatabasePath(), fromEnv);
    }
    ScopedEnv env("MANTISSA_DB", QString());
    MainWindow w(options(QString()));
    QCOMPARE(w.runDatabasePath(), remembered);
  }

  void theWindowAndHistorySayWhichDatabaseIsOpen() {
    const QString db = dir_.filePath(QStringLiteral("shown.db"));
    MainWindow w(options(db));
    auto* status = w.findChild<QLabel*>(QStringLiteral("runDatabaseLabel"));
    QVERIFY(status != nullptr);
    QVERIFY2(status->text().contains(db), qPrintable(status->text()));
    auto* header = w.findChild<QLabel*>(QStringLiteral("historyDatabaseLabel"));
    QVERIFY(header != nullptr);
    QVERIFY2(header->text().contains(db), qPrintable(header->text()));
  }

  void switchingDatabasesRecordsTheNextRunInTheNewOne() {
    const QString first = dir_.filePath(QStringLiteral("first.db"));
    const QString second = dir_.filePath(QStringLiteral("second.db"));
    MainWindow w(options(first));
    QVERIFY(!openDatabase(w, dir_.filePath(QStringLiteral("missing.db")), false).isEmpty());
    QVERIFY(w.messageBar()->text().contains(QStringLiteral("no such file")));
    const QString notADb = writeFile(dir_, QStringLiteral("notes.db"), QStringLiteral("hello"));
    QVERIFY(!openDatabase(w, notADb, false).isEmpty());
    QVERIFY2(w.messageBar()->text().contains(QStringLiteral("not a Mantissa run database")),
             qPrintable(w.messageBar()->text()));
    QCOMPARE(w.runDatabasePath(), first);

    QCOMPARE(openDatabase(w, second, true), QString());
    QCOMPARE(w.runDatabasePath(), second);
    QVERIFY(w.findChild<QLabel*>(QStringLiteral("runDatabaseLabel"))->text().contains(second));
    w.startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunMs);
    QCOMPARE(RunStore(second.toStdString()).list_runs().size(), std::size_t(1));
    QVERIFY(!QFileInfo::exists(first));
    QVERIFY(openDatabase(w, second, true).contains(QStringLiteral("already exists")));
  }

  void historyResumesAStoppedRunToTheEnd() {
    const QString db = dir_.filePath(QStringLiteral("resume.db"));
    MainWindow w(options(db, spiralsJson(3000)));
    w.startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(w.controller()->currentRunId() > 0 &&
                                 runIn(db, w.controller()->currentRunId()).steps_recorded > 0,
                             kRunMs);
    const qint64 id = w.controller()->currentRunId();
    w.controller()->stop();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunMs);
    const RunRecord stopped = runIn(db, id);
    QCOMPARE(stopped.status, RunStatus::Stopped);
    QVERIFY(stopped.last_step < 3000);

    auto* history = w.findChild<HistoryPage*>();
    history->reload();
    QTRY_VERIFY(history->canResume(id));  // the list is read on the run library's worker
    QSignalSpy started(w.controller(), &TrainingController::runStarted);
    history->requestResume(id);  // its curve so far is read on the worker first
    QVERIFY(started.wait(kRunMs));
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunMs);
    const RunRecord done = runIn(db, id);
    QCOMPARE(done.status, RunStatus::Finished);
    QCOMPARE(done.last_step, std::int64_t(3000));
    QCOMPARE(done.steps_recorded, std::int64_t(3000));
    history->reload();
    QTRY_VERIFY(!history->canResume(id));  // finished
  }

  void closingDuringARunAsksAndStopsWithACheckpoint() {
    const QString db = dir_.filePath(QStringLiteral("close.db"));
    auto* w = new MainWindow(options(db, spiralsJson(200000)));
    w->setAttribute(Qt::WA_DeleteOnClose, false);
    w->show();
    w->startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(w->controller()->currentRunId() > 0 &&
                                 runIn(db, w->controller()->currentRunId()).steps_recorded > 0,
                             kRunMs);
    const qint64 id = w->controller()->currentRunId();
    int asked = 0;
    w->confirmStopOnClose = [&] {
      ++asked;
      return false;
    };
    QVERIFY(!w->close());
    QCOMPARE(asked, 1);
    QVERIFY(!idle(*w));
    w->confirmStopOnClose = [&] {
      ++asked;
      return true;
    };
    QVERIFY(w->close());
    QCOMPARE(asked, 2);
    delete w;  // waits for the trainer
    const RunRecord r = runIn(db, id);
    QCOMPARE(r.status, RunStatus::Stopped);
    RunStore store(db.toStdString());
    const std::vector<CheckpointInfo> c = store.checkpoints(id);
    QVERIFY(!c.empty());
    QCOMPARE(c.front().step, r.last_step);  // nothing trained is lost
  }

  void startUpOffersToResumeAnInterruptedRun() {
    const QString db = dir_.filePath(QStringLiteral("offer.db"));
    qint64 id = 0;
    {
      MainWindow w(options(db, spiralsJson(3000)));
      w.startTraining();
      QTRY_VERIFY_WITH_TIMEOUT(w.controller()->currentRunId() > 0 &&
                                   runIn(db, w.controller()->currentRunId()).steps_recorded > 0,
                               kRunMs);
      id = w.controller()->currentRunId();
      w.controller()->stop();
      QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunMs);
    }
    // As a run whose process was killed is found at the next start.
    RunStore(db.toStdString()).set_status(id, RunStatus::Interrupted, "process 1 ended");

    MainWindow w(options(db, spiralsJson(3000)));
    QSignalSpy offered(&w, &MainWindow::interruptedRunsOffered);
    w.offerToResumeInterruptedRuns();
    QVERIFY(offered.wait(10000));
    QCOMPARE(offered.at(0).at(0).toInt(), 1);
    QVERIFY2(w.messageBar()->isVisibleTo(&w) || w.messageBar()->text().contains(QString::number(id)),
             qPrintable(w.messageBar()->text()));
    QVERIFY(w.messageBar()->text().contains(QStringLiteral("interrupted")));
    QPushButton* button = w.resumeOfferButton();
    QVERIFY(button != nullptr);
    QCOMPARE(button->text(), QStringLiteral("Resume Run %1").arg(id));
    QSignalSpy started(w.controller(), &TrainingController::runStarted);
    QTest::mouseClick(button, Qt::LeftButton);
    QVERIFY(started.wait(kRunMs));
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunMs);
    QCOMPARE(runIn(db, id).status, RunStatus::Finished);
    QCOMPARE(runIn(db, id).last_step, std::int64_t(3000));
  }
};

int runRunDatabaseTests(int argc, char** argv) {
  RunDatabaseTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "RunDatabaseTest.moc"
