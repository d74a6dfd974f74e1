// The studio's services on their own: answers come from worker threads, only
// the newest request of a kind is answered, and writes run in the order asked
// for.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include "TestSupport.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"
#include "services/DatasetService.hpp"
#include "services/EvaluationService.hpp"
#include "services/RunLibrary.hpp"
#include "services/SerialWorker.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

// Two runs of the tiny spirals project, the second with a checkpoint.
QVector<qint64> writeRuns(const QString& db) {
  RunStore store(db.toStdString());
  QVector<qint64> ids;
  for (const char* name : {"first", "second"}) {
    NewRun n;
    n.name = name;
    n.project_name = "tiny-spirals";
    n.project_json = spiralsJson(5).toStdString();
    n.policy = "float32";
    n.backend = "cpu";
    const std::int64_t id = store.create_run(n);
    StepMetrics m;
    m.step = 1;
    m.loss = 1.0;
    store.append_step(id, m);
    ids << id;
  }
  const Project project = parseProject(spiralsJson(5), QStringLiteral("tiny.json"));
  auto backend = create_backend("cpu");
  Trainer trainer(project, *backend);
  store.add_checkpoint(ids[1], 0, 0, trainer.checkpoint());
  store.flush();
  return ids;
}

class ServicesTest : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

 private slots:
  void serialWorkerRunsJobsInOrderOffTheCallingThread() {
    QVector<int> order;
    QThread* worker = nullptr;
    {
      SerialWorker jobs;
      for (int i = 0; i < 20; ++i)
        jobs.post([&order, &worker, i] {
          order << i;
          worker = QThread::currentThread();
        });
    }  // destruction runs what was posted, then joins
    QCOMPARE(order.size(), 20);
    for (int i = 0; i < 20; ++i) QCOMPARE(order[i], i);
    QVERIFY(worker != nullptr && worker != QThread::currentThread());
  }

  void onlyTheNewestLoadIsAnswered() {
    const QString db = dir_.filePath(QStringLiteral("load.db"));
    const QVector<qint64> ids = writeRuns(db);
    RunLibrary library;
    QSignalSpy loaded(&library, &RunLibrary::runsLoaded);
    QSignalSpy listed(&library, &RunLibrary::runsListed);
    const quint64 first = library.load(db, {ids[0]});
    const quint64 second = library.load(db, {ids[1]});
    QVERIFY(second != first);
    QCOMPARE(library.latestRequest(), second);
    // A list asked for after both loads is answered after them (one thread,
    // in order): by then the first load's answer would have come.
    library.listRuns(db);
    QVERIFY(listed.wait(10000));
    QCOMPARE(loaded.count(), 1);
    QCOMPARE(loaded.at(0).at(0).value<quint64>(), second);
    const auto runs = loaded.at(0).at(1).value<QVector<StoredRun>>();
    QCOMPARE(runs.size(), 1);
    QCOMPARE(runs[0].record.id, ids[1]);
    QCOMPARE(runs[0].steps.size(), 1);
  }

  void writesAreSeenByTheReadsAfterThem() {
    const QString db = dir_.filePath(QStringLiteral("write.db"));
    const QVector<qint64> ids = writeRuns(db);
    RunLibrary library;
    QSignalSpy edited(&library, &RunLibrary::runEdited);
    QSignalSpy deleted(&library, &RunLibrary::runsDeleted);
    QSignalSpy listed(&library, &RunLibrary::runsListed);
    library.renameRun(db, ids[1], QStringLiteral("renamed"));
    library.setRunNotes(db, ids[1], QStringLiteral("noted"));
    library.deleteRuns(db, {ids[0], ids[0] + 1000});
    library.listRuns(db);
    QVERIFY(listed.wait(10000));
    QCOMPARE(edited.count(), 2);
    QCOMPARE(edited.at(1).at(1).value<RunRecord>().notes, std::string("noted"));
    QCOMPARE(deleted.count(), 1);
    QCOMPARE(deleted.at(0).at(0).value<QVector<qint64>>(), QVector<qint64>{ids[0]});
    QCOMPARE(deleted.at(0).at(1).toStringList().size(), 1);  // the run that was not there
    const RunList list = listed.at(0).at(1).value<RunList>();
    QVERIFY(list.exists && list.error.isEmpty());
    QCOMPARE(list.runs.size(), 1);
    QCOMPARE(list.runs[0].name, std::string("renamed"));
    QCOMPARE(list.runs[0].notes, std::string("noted"));
  }

  void readsNeverCreateADatabase() {
    const QString missing = dir_.filePath(QStringLiteral("missing.db"));
    RunLibrary library;
    QSignalSpy listed(&library, &RunLibrary::runsListed);
    QSignalSpy loaded(&library, &RunLibrary::runsLoaded);
    QSignalSpy checkpoints(&library, &RunLibrary::checkpointsRead);
    library.listRuns(missing);
    library.load(missing, {1});
    library.readCheckpoints(missing, 1);
    QVERIFY(checkpoints.wait(10000));
    QCOMPARE(listed.count(), 1);
    QVERIFY(!listed.at(0).at(1).value<RunList>().exists);
    QCOMPARE(loaded.count(), 1);
    QVERIFY(loaded.at(0).at(3).toString().contains(QStringLiteral("no run database")));
    QVERIFY(!checkpoints.at(0).at(2).value<RunCheckpoints>().error.isEmpty());
    QVERIFY(!QFile::exists(missing));
  }

  void checkpointsAndCsvExport() {
    const QString db = dir_.filePath(QStringLiteral("ck.db"));
    const QVector<qint64> ids = writeRuns(db);
    RunLibrary library;
    QSignalSpy checkpoints(&library, &RunLibrary::checkpointsRead);
    QSignalSpy exported(&library, &RunLibrary::metricsExported);
    library.readCheckpoints(db, ids[1]);
    const QString csv = dir_.filePath(QStringLiteral("m.csv"));
    library.exportMetricsCsv(db, ids[1], csv);
    library.exportMetricsCsv(db, ids[1], dir_.filePath(QStringLiteral("no/such/dir/m.csv")));
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 2, 10000);
    QCOMPARE(checkpoints.count(), 1);
    const RunCheckpoints c = checkpoints.at(0).at(2).value<RunCheckpoints>();
    QCOMPARE(c.projectName, QStringLiteral("tiny-spirals"));
    QCOMPARE(c.steps, QVector<qint64>{0});
    QVERIFY(exported.at(0).at(2).toString().isEmpty());
    QVERIFY(QFile::exists(csv));
    QVERIFY(exported.at(1).at(2).toString().contains(QStringLiteral("cannot be written")));
  }

  void onlyTheNewestEvaluationIsAnswered() {
    const QString db = dir_.filePath(QStringLiteral("eval.db"));
    const QVector<qint64> ids = writeRuns(db);
    EvaluationService service;
    QSignalSpy evaluated(&service, &EvaluationService::runEvaluated);
    QSignalSpy failed(&service, &EvaluationService::evaluationFailed);
    service.evaluate(db, ids[0]);  // no checkpoint: fails at once, and is dropped
    const quint64 second = service.evaluate(db, ids[1]);
    QVERIFY(evaluated.wait(kRunTimeoutMs));
    QCOMPARE(evaluated.at(0).at(0).value<quint64>(), second);
    QCOMPARE(evaluated.at(0).at(1).value<RunEvaluation>().runId, ids[1]);
    QCOMPARE(failed.count(), 0);
  }

  void labelColumnsAreReadOnAWorker() {
    const QString csv = writeFile(dir_, QStringLiteral("cols.csv"),
                                  QStringLiteral("\n\"x, one\",2.5,label\n1,2,0\n"));
    QCOMPARE(csvLabelColumns(csv),
             (QStringList{QStringLiteral("x, one"), QStringLiteral("1"), QStringLiteral("label")}));
    QVERIFY(csvLabelColumns(dir_.filePath(QStringLiteral("none.csv"))).isEmpty());
    DatasetService service;
    QSignalSpy read(&service, &DatasetService::labelColumnsRead);
    service.readLabelColumns(csv);
    QVERIFY(read.wait(10000));
    QCOMPARE(read.at(0).at(2).toStringList().size(), 3);
  }
};

}  // namespace

int runServicesTests(int argc, char** argv) {
  ServicesTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "ServicesTest.moc"
