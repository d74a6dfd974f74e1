// History and Compare over a temporary store holding three runs under
// float32, mixed float16 and mixed bfloat16, written with RunStore directly.
#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QHeaderView>
#include <QScrollBar>
#include <QFileInfo>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <string_view>

#include "CompareDiff.hpp"
#include "ComparePage.hpp"
#include "Format.hpp"
#include "HistoryPage.hpp"
#include "InlineMessage.hpp"
#include "LivePlots.hpp"
#include "MainWindow.hpp"
#include "ModelTable.hpp"
#include "PolicyColors.hpp"
#include "RunTableModel.hpp"
#include "TestSupport.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

struct SampleRun {
  const char* name;
  const char* policy;
  double samplesPerS;
  std::int64_t peakMemory;
};

constexpr SampleRun kRuns[] = {
    {"alpha", "float32", 1000.0, 4000},
    {"beta", "mixed_float16", 1500.0, 3000},
    {"gamma", "mixed_bfloat16", 2000.0, 2500},
};
constexpr int kSteps = 20;

// The three runs; returns their ids in kRuns order.
QVector<qint64> writeRuns(const QString& db) {
  RunStore store(db.toStdString());
  QVector<qint64> ids;
  for (const SampleRun& s : kRuns) {
    NewRun n;
    n.name = s.name;
    n.project_name = "tiny-spirals";
    n.project_json = spiralsJson(kSteps, QString::fromLatin1(s.policy)).toStdString();
    n.policy = s.policy;
    n.loss_scale_json = R"({"mode":"none"})";
    n.backend = "cpu";
    const std::int64_t id = store.create_run(n);
    // The fp16 run ends at 2^22, which the summary must not write as 4.1943e+06.
    const double finalScale = std::string_view(s.policy) == "mixed_float16" ? 4194304.0 : 1.0;
    for (int step = 1; step <= kSteps; ++step) {
      StepMetrics m;
      m.step = step;
      m.loss = 1.0 / step;
      m.loss_scale = finalScale;
      m.samples_per_s = s.samplesPerS;
      m.memory_in_use = s.peakMemory / 2;
      m.memory_peak = s.peakMemory;
      m.wall_time_s = step * 0.01;
      store.append_step(id, m);
    }
    EpochMetrics e;
    e.epoch = 0;
    e.step = kSteps;
    e.train_loss = 0.2;
    e.val_loss = 0.25;
    e.val_accuracy = 0.9;
    store.append_epoch(id, e);
    RunSummary summary;
    summary.steps = kSteps;
    summary.final_val_accuracy = 0.9;
    summary.final_train_loss = 0.05;
    summary.wall_time_s = 0.2;
    summary.samples_per_s = s.samplesPerS;
    summary.peak_memory = s.peakMemory;
    summary.final_loss_scale = finalScale;
    store.set_status(id, RunStatus::Finished);
    store.set_summary(id, run_summary_json(summary));
    ids << id;
  }
  return ids;
}

// A run killed before its summary was written: steps only, 0.01 s apart.
qint64 writeUnfinishedRun(const QString& db, const char* name, const char* policy) {
  RunStore store(db.toStdString());
  NewRun n;
  n.name = name;
  n.project_name = "tiny-spirals";
  n.project_json = spiralsJson(kSteps, QString::fromLatin1(policy)).toStdString();
  n.policy = policy;
  n.loss_scale_json = R"({"mode":"none"})";
  n.backend = "cpu";
  const std::int64_t id = store.create_run(n);
  for (int step = 1; step <= kSteps; ++step) {
    StepMetrics m;
    m.step = step;
    m.loss = 2.0 / step;
    m.loss_scale = 1;
    m.samples_per_s = 800;
    m.wall_time_s = step * 0.15;
    store.append_step(id, m);
  }
  return id;
}

QString cellText(QAbstractItemModel* m, int row, int column) {
  return m->index(row, column).data().toString();
}

// History reads its list on the run library's worker: waits for the answer
// to the read the page asked for last.
bool listed(HistoryPage& page) {
  QSignalSpy spy(&page, &HistoryPage::runsListed);
  return spy.wait(10000);
}

}  // namespace

class HistoryTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  QString db_;
  QVector<qint64> ids_;

 private slots:
  void init() {
    db_ = dir_.filePath(QStringLiteral("runs-%1.db").arg(QTest::currentTestFunction()));
    ids_ = writeRuns(db_);
  }

  void emptyStoreShowsWhatToDo() {
    const QString missing = dir_.filePath(QStringLiteral("missing.db"));
    HistoryPage page(missing, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    QVERIFY(page.showsEmptyState());
    QCOMPARE(page.model()->rowCount(), 0);
    QVERIFY(!QFileInfo::exists(missing));  // looking does not create a database
  }

  // Another process (the command line) writes a run into the database the
  // studio shows: History lists it when shown again, or on F5, keeping the
  // selection.
  void runsWrittenByAnotherProcessAppearWhenShownAgain() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QTRY_COMPARE(page.model()->rowCount(), 3);
    page.selectRuns({ids_[1]});
    {
      RunStore other(db_.toStdString());
      NewRun n;
      n.name = "from the command line";
      other.create_run(n);
    }
    QTest::qWait(50);
    QCOMPARE(page.model()->rowCount(), 3);  // nothing reads it by itself
    page.hide();
    page.show();
    QTRY_COMPARE(page.model()->rowCount(), 4);
    QCOMPARE(page.selectedRunIds(), QVector<qint64>{ids_[1]});
    {
      RunStore other(db_.toStdString());
      other.create_run(NewRun{});
    }
    auto* reload = page.findChild<QAction*>(QStringLiteral("reloadRunsAction"));
    QVERIFY(reload);
    QVERIFY(reload->shortcuts().contains(QKeySequence(Qt::Key_F5)));
    reload->trigger();
    QTRY_COMPARE(page.model()->rowCount(), 5);
  }

  void listsSortsAndFilters() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    QVERIFY(!page.showsEmptyState());
    QCOMPARE(page.proxy()->rowCount(), 3);
    QCOMPARE(page.model()->columnCount(), int(RunTableModel::ColumnCount));
    // The disk each run takes: its metric rows (no checkpoints here).
    for (int row = 0; row < 3; ++row) {
      const RunRecord& r = page.model()->run(row);
      QVERIFY(r.checkpoint_bytes == 0 && r.metrics_bytes > 0);
      QCOMPARE(cellText(page.model(), row, RunTableModel::Disk), formatBytes(double(r.disk_bytes())));
    }

    page.table()->sortByColumn(RunTableModel::Policy, Qt::AscendingOrder);
    QCOMPARE(cellText(page.proxy(), 0, RunTableModel::Policy), QStringLiteral("FP32"));
    QCOMPARE(cellText(page.proxy(), 1, RunTableModel::Policy), QStringLiteral("FP16 (mixed)"));
    QCOMPARE(cellText(page.proxy(), 2, RunTableModel::Policy), QStringLiteral("BF16 (mixed)"));
    page.table()->sortByColumn(RunTableModel::Policy, Qt::DescendingOrder);
    QCOMPARE(cellText(page.proxy(), 0, RunTableModel::Policy), QStringLiteral("BF16 (mixed)"));
    // The badge is the policy's colour.
    QCOMPARE(page.proxy()->index(0, RunTableModel::Policy).data(Qt::DecorationRole).value<QColor>(),
             policyColor(Policy::MixedBFloat16));

    page.table()->sortByColumn(RunTableModel::SamplesPerS, Qt::DescendingOrder);
    QCOMPARE(cellText(page.proxy(), 0, RunTableModel::Name), QStringLiteral("gamma"));
    QCOMPARE(cellText(page.proxy(), 0, RunTableModel::SamplesPerS), QStringLiteral("2,000"));
    QCOMPARE(cellText(page.proxy(), 0, RunTableModel::ValAccuracy), QStringLiteral("90.0 %"));

    page.filterEdit()->setText(QStringLiteral("bf16"));
    QCOMPARE(page.proxy()->rowCount(), 1);
    QCOMPARE(cellText(page.proxy(), 0, RunTableModel::Name), QStringLiteral("gamma"));
    page.filterEdit()->setText(QStringLiteral("finished"));
    QCOMPARE(page.proxy()->rowCount(), 3);
    page.filterEdit()->setText(QStringLiteral("beta"));
    QCOMPARE(page.proxy()->rowCount(), 1);
    page.filterEdit()->clear();
    QCOMPARE(page.proxy()->rowCount(), 3);
  }

  // A run that failed before validating shows no accuracy, not "0.0 %".
  void aRunThatNeverValidatedShowsNoAccuracy() {
    {
      RunStore store(db_.toStdString());
      NewRun n;
      n.name = "broken";
      n.project_name = "tiny-spirals";
      n.project_json = spiralsJson(kSteps, QStringLiteral("float32")).toStdString();
      n.policy = "float32";
      n.loss_scale_json = R"({"mode":"none"})";
      n.backend = "cpu";
      const std::int64_t id = store.create_run(n);
      RunSummary summary;  // what a failed run stores: accuracy 0, never measured
      summary.outcome = RunOutcome::Failed;
      summary.error = "dataset 'x': no such file";
      store.set_status(id, RunStatus::Failed);
      store.set_summary(id, run_summary_json(summary));
    }
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    int failedRow = -1;
    for (int row = 0; row < page.model()->rowCount(); ++row)
      if (cellText(page.model(), row, RunTableModel::Name) == QLatin1String("broken")) failedRow = row;
    QVERIFY(failedRow >= 0);
    QCOMPARE(cellText(page.model(), failedRow, RunTableModel::ValAccuracy), QString());
    for (int row = 0; row < page.model()->rowCount(); ++row)
      if (row != failedRow)
        QCOMPARE(cellText(page.model(), row, RunTableModel::ValAccuracy), QStringLiteral("90.0 %"));
  }

  void renameNotesAndDeleteWriteTheStore() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    const int row = page.model()->rowOfRun(ids_[1]);
    QVERIFY(row >= 0);
    QSignalSpy edited(&page, &HistoryPage::runEdited);
    QSignalSpy deleted(&page, &HistoryPage::runsDeleted);
    QVERIFY(page.model()->setData(page.model()->index(row, RunTableModel::Name),
                                  QStringLiteral("renamed")));
    QVERIFY(page.setRunNotes(ids_[1], QStringLiteral("a note")));
    QVERIFY(page.deleteRuns({ids_[2]}));
    // Written on the run library's worker, in the order asked for.
    QVERIFY(deleted.wait(10000));
    QCOMPARE(edited.count(), 2);
    for (const QList<QVariant>& e : edited) {
      QCOMPARE(e.at(0).toLongLong(), ids_[1]);
      QVERIFY2(e.at(1).toString().isEmpty(), qPrintable(e.at(1).toString()));
    }
    QCOMPARE(deleted.at(0).at(0).value<QVector<qint64>>(), QVector<qint64>{ids_[2]});
    QVERIFY(listed(page));  // the list read again after the delete
    QCOMPARE(page.proxy()->rowCount(), 2);
    QCOMPARE(page.model()->rowOfRun(ids_[2]), -1);
    const RunRecord& shown = page.model()->run(page.model()->rowOfRun(ids_[1]));
    QCOMPARE(QString::fromStdString(shown.name), QStringLiteral("renamed"));
    QCOMPARE(QString::fromStdString(shown.notes), QStringLiteral("a note"));

    RunStore store(db_.toStdString());
    QCOMPARE(QString::fromStdString(store.require_run(ids_[1]).name), QStringLiteral("renamed"));
    QCOMPARE(QString::fromStdString(store.require_run(ids_[1]).notes), QStringLiteral("a note"));
    QVERIFY(!store.get_run(ids_[2]));
    QCOMPARE(store.list_runs().size(), std::size_t(2));
  }

  void renameThroughThePageAndARefusedWrite() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    QSignalSpy edited(&page, &HistoryPage::runEdited);
    QVERIFY(page.renameRun(ids_[0], QStringLiteral("first")));
    QVERIFY(edited.wait(10000));
    QVERIFY(edited.at(0).at(1).toString().isEmpty());
    QCOMPARE(QString::fromStdString(RunStore(db_.toStdString()).require_run(ids_[0]).name),
             QStringLiteral("first"));
    QVERIFY(!page.renameRun(ids_[0] + 1000, QStringLiteral("nobody")));  // not listed

    // A run deleted behind the page's back: the store refuses, the page says
    // so inline and shows what is stored again.
    RunStore(db_.toStdString()).delete_run(ids_[1]);
    QVERIFY(page.setRunNotes(ids_[1], QStringLiteral("too late")));
    QVERIFY(edited.wait(10000));
    QVERIFY(!edited.at(1).at(1).toString().isEmpty());
    QVERIFY(page.messageBar()->isVisibleTo(&page));
    QVERIFY(listed(page));
    QCOMPARE(page.model()->rowOfRun(ids_[1]), -1);
  }

  // Renamed in the table (F2, type, Enter): the open run's header in History,
  // its plots' header, and the Training tab's plots showing the same run
  // take the new name; plots of another run do not.
  void aRenameReachesEveryViewOfTheRun() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    page.resize(1000, 800);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QSignalSpy opened(&page, &HistoryPage::runOpened);
    QVERIFY(page.openRun(ids_[1]));
    QVERIFY(opened.wait(10000));
    QVERIFY(page.openedRunTitle().contains(QStringLiteral("beta")));
    LivePlots training, other;  // the Training tab, once it knows its stored run
    training.beginRun(Policy::MixedFloat16, QStringLiteral("tiny-spirals · FP16 (mixed)"));
    training.setStoredRun(db_, ids_[1]);
    other.beginRun(Policy::Float32, QStringLiteral("tiny-spirals · FP32"));
    other.setStoredRun(db_, ids_[0]);

    const QModelIndex cell =
        page.proxy()->mapFromSource(page.model()->index(page.model()->rowOfRun(ids_[1]), RunTableModel::Name));
    page.table()->setFocus();
    page.table()->setCurrentIndex(cell);
    QSignalSpy renamed(RunNotices::instance(), &RunNotices::runRenamed);
    QTest::keyClick(page.table(), Qt::Key_F2);
    QWidget* editor = page.table()->focusWidget();
    QVERIFY(editor && editor != page.table());
    QTest::keyClick(editor, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(editor, QStringLiteral("fp16 baseline"));
    QTest::keyClick(editor, Qt::Key_Return);
    QVERIFY(renamed.wait(10000));
    QCOMPARE(renamed.at(0).at(2).toString(), QStringLiteral("fp16 baseline"));
    QCOMPARE(training.runLabelText(), QStringLiteral("fp16 baseline · FP16 (mixed)"));
    QCOMPARE(other.runLabelText(), QStringLiteral("tiny-spirals · FP32"));
    QVERIFY2(page.runPlots()->runLabelText().contains(QStringLiteral("fp16 baseline")),
             qPrintable(page.runPlots()->runLabelText()));
    QTRY_VERIFY2(page.openedRunTitle().contains(QStringLiteral("fp16 baseline")),
                 qPrintable(page.openedRunTitle()));
    QCOMPARE(cellText(page.model(), page.model()->rowOfRun(ids_[1]), RunTableModel::Name),
             QStringLiteral("fp16 baseline"));
  }

  void aNewerListOrOpenWins() {
    const QString other = dir_.filePath(QStringLiteral("other.db"));
    {
      RunStore store(other.toStdString());
      NewRun n;
      n.name = "solo";
      n.project_json = spiralsJson(kSteps).toStdString();
      n.policy = "float32";
      n.backend = "cpu";
      store.create_run(n);
    }
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    // Two switches in a row: only the second database's list reaches the table.
    QSignalSpy lists(&page, &HistoryPage::runsListed);
    page.setDatabasePath(other);
    page.setDatabasePath(db_);
    QVERIFY(lists.wait(10000));
    QCOMPARE(lists.at(0).at(0).toInt(), 3);
    QCOMPARE(page.proxy()->rowCount(), 3);

    // Opening run 1, then run 2 before the first is read: only run 2 is shown.
    QSignalSpy opened(&page, &HistoryPage::runOpened);
    QVERIFY(page.openRun(ids_[1]));
    QVERIFY(page.openRun(ids_[2]));
    QVERIFY(opened.wait(10000));
    QCOMPARE(opened.at(0).at(0).toLongLong(), ids_[2]);
    QCOMPARE(page.openedRunId(), ids_[2]);
    // A list asked for after the opens comes back after them: the first
    // open's answer, had it been delivered, would have come before it.
    page.reload();
    QVERIFY(listed(page));
    QCOMPARE(opened.count(), 1);
  }

  void openingARunShowsItsCurvesAndSettings() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QSignalSpy opened(&page, &HistoryPage::runOpened);
    QVERIFY(page.openRun(ids_[1]));
    QVERIFY(page.isOpening());  // read on the run library's worker, not here
    QVERIFY(opened.wait(10000));
    QCOMPARE(page.openedRunId(), ids_[1]);
    QCOMPARE(page.runPlots()->stepCount(), qsizetype(kSteps));
    QCOMPARE(page.runPlots()->pointCount(LivePlots::Series::TrainLoss), kSteps);
    const QStringList settings = page.openedRunSettings();
    QVERIFY2(settings.contains(QStringLiteral("Policy: mixed_float16")),
             qPrintable(settings.join('\n')));
    QVERIFY(settings.join('\n').contains(QStringLiteral("type: sgd")));
    QVERIFY2(!settings.join('\n').contains(QStringLiteral("Ranks")), "a one-process run has no ranks");
    // A data-parallel run shows its ranks.
    {
      RunStore store(db_.toStdString());
      store.set_ranks(ids_[0], {2, "gloo", "rank", {"cpu A", "cpu B"}});
    }
    QVERIFY(page.openRun(ids_[0]));
    QVERIFY(opened.wait(10000));
    QVERIFY2(page.openedRunSettings().contains(QStringLiteral("Ranks: 2 (gloo, rank order): cpu A; cpu B")),
             qPrintable(page.openedRunSettings().join('\n')));
    // Its model as trained: the snapshot's five layers, fc1 with its 48 parameters.
    QTableWidget* model = page.runModel()->table();
    QCOMPARE(model->rowCount(), 5);
    bool fc1 = false;
    for (int row = 0; row < model->rowCount(); ++row)
      if (model->item(row, 0) && model->item(row, 0)->text() == QStringLiteral("fc1")) {
        fc1 = true;
        bool params = false;
        for (int c = 0; c < model->columnCount(); ++c)
          params = params || (model->item(row, c) && model->item(row, c)->text() == "48");
        QVERIFY(params);
      }
    QVERIFY(fc1);
  }

  void exportsMetricsCsv() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    const QString file = dir_.filePath(QStringLiteral("m.csv"));
    QSignalSpy exported(&page, &HistoryPage::metricsExported);
    QVERIFY(page.exportMetricsCsv(ids_[0], file));
    QVERIFY(exported.wait(10000));
    QVERIFY(exported.at(0).at(2).toString().isEmpty());
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll().count('\n'), kSteps + 1);
  }

  void weightsWithoutCheckpointFailInline() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QSignalSpy spy(&page, &HistoryPage::weightsExported);
    page.exportWeights(ids_[0], dir_.filePath(QStringLiteral("w.safetensors")));
    QTRY_COMPARE_WITH_TIMEOUT(spy.count(), 1, 30000);
    QVERIFY(spy.at(0).at(2).toString().contains(QStringLiteral("no checkpoint")));
  }

  void mainWindowListsRunsAndRefreshesAfterTraining() {
    StudioOptions o;
    o.databasePath = db_;
    o.settingsFile = dir_.filePath(QStringLiteral("studio.ini"));
    o.projectPath = writeFile(dir_, QStringLiteral("spirals.json"), spiralsJson(30));
    o.restoreWindowState = false;
    MainWindow w(o);
    auto* history = w.findChild<HistoryPage*>();
    auto* compare = w.findChild<ComparePage*>();
    QVERIFY(history && compare);
    QTRY_COMPARE(history->proxy()->rowCount(), 3);  // read on the run library's worker
    history->selectRuns(ids_);
    history->compareAction()->trigger();
    QTRY_COMPARE(compare->lossPlot()->graphCount(), 3);  // read on the run library's worker
    QVERIFY(w.tabs()->currentWidget()->isAncestorOf(compare));

    w.trainAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(history->proxy()->rowCount(), 4, kRunTimeoutMs);
    QTRY_COMPARE(w.controller()->state(), TrainingController::State::Idle);
  }

  void compareActionNeedsTwoToSixRuns() {
    HistoryPage page(db_, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(page));
    QSignalSpy spy(&page, &HistoryPage::compareRequested);
    page.selectRuns({ids_[0]});
    QVERIFY(!page.compareAction()->isEnabled());
    page.selectRuns(ids_);
    QVERIFY(page.compareAction()->isEnabled());
    page.compareAction()->trigger();
    QCOMPARE(spy.count(), 1);
    auto chosen = spy.at(0).at(0).value<QVector<qint64>>();
    std::sort(chosen.begin(), chosen.end());
    QCOMPARE(chosen, ids_);
  }
};

class CompareTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;

 private slots:
  void overlaysSummarisesAndDiffs() {
    const QString db = dir_.filePath(QStringLiteral("runs.db"));
    const QVector<qint64> ids = writeRuns(db);
    ComparePage page(db);
    QVERIFY(page.showsEmptyState());
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns(ids));
    QVERIFY(page.isLoading());
    QVERIFY(shown.wait(10000));
    QCOMPARE(shown.at(0).at(0).toInt(), 3);
    QVERIFY(!page.showsEmptyState());

    QCOMPARE(page.lossPlot()->graphCount(), 3);
    QCOMPARE(page.accuracyPlot()->graphCount(), 3);
    QCOMPARE(page.scalePlot()->graphCount(), 3);
    const Policy policies[] = {Policy::Float32, Policy::MixedFloat16, Policy::MixedBFloat16};
    for (int i = 0; i < 3; ++i) {
      // Each run its own colour, its policy the dash: fp32 solid, fp16
      // dashed, bf16 dotted.
      QCOMPARE(page.lossPlot()->graph(i)->pen().color(), ComparePage::colorOfRun(i));
      QCOMPARE(page.lossPlot()->graph(i)->pen().style(), policyLineStyle(policies[i]));
      QCOMPARE(page.scalePlot()->graph(i)->pen(), page.lossPlot()->graph(i)->pen());
      QCOMPARE(page.lossPlot()->graph(i)->dataCount(), kSteps);
      QCOMPARE(page.throughputPlot()->graph(i)->dataCount(), kSteps);
    }
    // By wall time: the same curves keyed by seconds.
    const double lastStepKey = page.lossPlot()->graph(0)->data()->at(kSteps - 1)->key;
    page.setXAxis(ComparePage::XAxis::WallTime);
    QCOMPARE(page.lossPlot()->graphCount(), 3);
    const double lastWallKey = page.lossPlot()->graph(0)->data()->at(kSteps - 1)->key;
    QVERIFY2(lastWallKey < lastStepKey / 50, qPrintable(QString::number(lastWallKey)));
    QCOMPARE(page.lossPlot()->xAxis->label(), QStringLiteral("wall time (s)"));
    page.setXAxis(ComparePage::XAxis::Step);
    QCOMPARE(page.lossPlot()->graph(0)->data()->at(kSteps - 1)->key, lastStepKey);

    QTableWidget* t = page.summaryTable();
    QCOMPARE(t->rowCount(), 3);
    QCOMPARE(t->item(0, ComparePage::SpeedUp)->text(), QStringLiteral("1.00×"));
    QCOMPARE(t->item(0, ComparePage::SpeedUp)->data(ComparePage::kValueRole).toDouble(), 1.0);
    QCOMPARE(t->item(1, ComparePage::SpeedUp)->text(), QStringLiteral("1.50×"));
    QCOMPARE(t->item(2, ComparePage::SpeedUp)->data(ComparePage::kValueRole).toDouble(), 2.0);
    QCOMPARE(t->item(1, ComparePage::MemorySaving)->data(ComparePage::kValueRole).toDouble(), 0.25);
    QCOMPARE(t->item(0, ComparePage::MemorySaving)->text(), QStringLiteral("0.0 %"));
    QCOMPARE(t->item(2, ComparePage::FinalValAccuracy)->text(), QStringLiteral("90.0 %"));
    QCOMPARE(t->item(0, ComparePage::FinalScale)->text(), QStringLiteral("1"));
    // Wall time in seconds for a short run, not "0:00" for every run.
    QCOMPARE(t->item(0, ComparePage::WallTime)->text(), QStringLiteral("0.20 s"));
    QCOMPARE(formatDuration(42.04), QStringLiteral("42.0 s"));
    QCOMPARE(formatDuration(187), QStringLiteral("3:07"));
    QCOMPARE(formatDuration(3725), QStringLiteral("1:02:05"));
    QCOMPARE(t->item(1, ComparePage::FinalScale)->text(), QStringLiteral("2²²"));
    QCOMPARE(t->item(1, ComparePage::FinalScale)->data(ComparePage::kValueRole).toDouble(),
             4194304.0);

    QTableWidget* d = page.diffTable();
    QStringList fields;
    for (int r = 0; r < d->rowCount(); ++r) fields << d->item(r, 0)->text();
    QVERIFY2(fields.contains(QStringLiteral("training.policy")), qPrintable(fields.join(',')));
    QVERIFY(!fields.contains(QStringLiteral("training.batch_size")));
    QVERIFY(!fields.contains(QStringLiteral("name")));
    QCOMPARE(fields.size(), 1);
    QCOMPARE(d->columnCount(), 4);
    QCOMPARE(d->item(0, 3)->text(), QStringLiteral("mixed_bfloat16"));

    page.removeRuns({ids[2]});
    QCOMPARE(page.lossPlot()->graphCount(), 2);
    QCOMPARE(page.diffTable()->rowCount(), 1);
  }

  // Where a layer is drawn is no difference between runs; its parameters are.
  void nodePositionsAreNoSettingsDifference() {
    const auto a = flattenJson(
        R"({"model": {"nodes": [{"id": "fc", "position": [0, 0], "params": {"out_features": 4}}]}})");
    const auto b = flattenJson(
        R"({"model": {"nodes": [{"id": "fc", "position": [90, 40], "params": {"out_features": 8}}]}})");
    const QVector<SettingsDifference> diff = settingsDiff({a, b});
    QCOMPARE(diff.size(), 1);
    QCOMPARE(diff.front().field, QStringLiteral("model.nodes[0].params.out_features"));
  }

  // Manifest differences come most consequential first, each with what it
  // does to the numbers; differing kernel lists are one row; equal fields
  // are left out.
  void numericsDifferencesComeWithTheirConsequences() {
    const auto a = flattenJson(
        R"({"mantissa_version": "0.1.0", "dataset_fingerprint": "ab12", "cpu": {"threads": 2},
            "op_paths": ["matmul [1]: brg:avx512_core", "softmax [2]: jit:avx512_core"]})");
    const auto b = flattenJson(
        R"({"mantissa_version": "0.1.0", "dataset_fingerprint": "ff00", "cpu": {"threads": 4},
            "op_paths": ["matmul [1]: brg:avx2", "softmax [2]: jit:avx2"]})");
    const QVector<NumericsDifference> diff = numericsDiff({a, b});
    QCOMPARE(diff.size(), 3);
    QCOMPARE(diff[0].field, QStringLiteral("dataset_fingerprint"));
    QCOMPARE(diff[0].consequence, QStringLiteral("trained on different data"));
    QCOMPARE(diff[0].values, (QStringList{QStringLiteral("ab12"), QStringLiteral("ff00")}));
    QCOMPARE(diff[1].field, QStringLiteral("op_paths"));
    QVERIFY(diff[1].consequence.contains(QStringLiteral("algorithms")));
    QCOMPARE(diff[2].field, QStringLiteral("cpu.threads"));
    QVERIFY(diff[2].consequence.contains(QStringLiteral("order")));

    // Two processes with synchronised BatchNorm against one: the BatchNorm
    // row comes right after the precision settings, the ranks' after kernels.
    const auto one = flattenJson(R"({"policy": "float32", "data_parallel": {"ranks": 1}})");
    const auto two = flattenJson(
        R"({"policy": "float32", "data_parallel": {"ranks": 2, "engine": "gloo",
            "reduce_order": "ring", "batch_norm": "synchronised"}})");
    const QVector<NumericsDifference> ranks = numericsDiff({one, two});
    QCOMPARE(ranks.size(), 4);
    QCOMPARE(ranks[0].field, QStringLiteral("data_parallel.batch_norm"));
    QVERIFY(ranks[0].consequence.contains(QStringLiteral("whole batch")));
    QCOMPARE(ranks[0].values, (QStringList{QString(), QStringLiteral("synchronised")}));
    QCOMPARE(ranks[1].field, QStringLiteral("data_parallel.ranks"));
    QCOMPARE(ranks[1].values, (QStringList{QStringLiteral("1"), QStringLiteral("2")}));
    QCOMPARE(ranks[2].field, QStringLiteral("data_parallel.reduce_order"));
    QCOMPARE(ranks[3].field, QStringLiteral("data_parallel.engine"));
  }

  // Two float32 runs: each its own colour, both solid, and the legend says
  // which run and which policy each line is.
  void runsOfOnePolicyHaveTheirOwnColours() {
    const QString db = dir_.filePath(QStringLiteral("same.db"));
    const QVector<qint64> ids = writeRuns(db);
    const qint64 delta = writeUnfinishedRun(db, "delta", "float32");
    ComparePage page(db);
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns({ids[0], delta, ids[1]}));
    QVERIFY(shown.wait(10000));
    QCustomPlot* loss = page.lossPlot();
    QCOMPARE(loss->graphCount(), 3);
    QVERIFY(loss->graph(0)->pen().color() != loss->graph(1)->pen().color());
    QVERIFY(loss->graph(2)->pen().color() != loss->graph(1)->pen().color());
    QCOMPARE(loss->graph(0)->pen().style(), Qt::SolidLine);
    QCOMPARE(loss->graph(1)->pen().style(), Qt::SolidLine);
    QCOMPARE(loss->graph(2)->pen().style(), Qt::DashLine);
    // Markers by policy in the accuracy plot: circles for fp32, triangles for fp16.
    QCOMPARE(page.accuracyPlot()->graph(0)->scatterStyle().shape(), QCPScatterStyle::ssCircle);
    QCOMPARE(page.accuracyPlot()->graph(2)->scatterStyle().shape(), QCPScatterStyle::ssTriangle);
    QCOMPARE(loss->legend->itemCount(), 3);
    QStringList legend;
    for (int i = 0; i < 3; ++i)
      legend << static_cast<QCPPlottableLegendItem*>(loss->legend->item(i))->plottable()->name();
    QCOMPARE(legend.at(0), QStringLiteral("%1 · alpha — FP32").arg(ids[0]));
    QCOMPARE(legend.at(1), QStringLiteral("%1 · delta — FP32").arg(delta));
    QCOMPARE(legend.at(2), QStringLiteral("%1 · beta — FP16 (mixed)").arg(ids[1]));
    // The summary's badge is the run's colour.
    QTableWidget* t = page.summaryTable();
    for (int row = 0; row < 3; ++row)
      QCOMPARE(t->item(row, ComparePage::Run)->data(Qt::DecorationRole).value<QColor>(),
               loss->graph(row)->pen().color());
    // A run that ended without a summary has its last step's wall time.
    QCOMPARE(t->item(1, ComparePage::WallTime)->text(), QStringLiteral("3.00 s"));
  }

  // In a narrow window the summary scrolls sideways; no column is squeezed
  // under its header or its cells.
  void summaryScrollsSideways() {
    const QString db = dir_.filePath(QStringLiteral("narrow.db"));
    const QVector<qint64> ids = writeRuns(db);
    ComparePage page(db);
    page.resize(520, 700);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns(ids));
    QVERIFY(shown.wait(10000));
    QTableWidget* t = page.summaryTable();
    QHeaderView* header = t->horizontalHeader();
    // A larger font after the table was filled (the system's, or a zoom)
    // widens the columns with it.
    QFont larger = page.font();
    larger.setPointSizeF(larger.pointSizeF() * 1.6);
    page.setFont(larger);
    QTRY_VERIFY(t->horizontalScrollBar()->maximum() > 0);
    for (int c = 0; c < ComparePage::SummaryColumnCount; ++c) {
      int need = header->sectionSizeHint(c);
      for (int row = 0; row < t->rowCount(); ++row)
        need = std::max(need, t->fontMetrics().horizontalAdvance(t->item(row, c)->text()));
      QVERIFY2(header->sectionSize(c) >= need,
               qPrintable(QStringLiteral("column %1: %2 < %3").arg(c).arg(header->sectionSize(c)).arg(need)));
    }
  }

  // Hovering a plot reads out the step and every run's value there.
  void hoverReadsOutEveryRun() {
    const QString db = dir_.filePath(QStringLiteral("hover.db"));
    const QVector<qint64> ids = writeRuns(db);
    ComparePage page(db);
    page.resize(1100, 800);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns(ids));
    QVERIFY(shown.wait(10000));
    QCustomPlot* loss = page.lossPlot();
    loss->replot();
    const QPoint at(int(loss->xAxis->coordToPixel(10)), loss->axisRect()->rect().center().y());
    QTest::mouseMove(loss, at + QPoint(15, 0));
    QTest::mouseMove(loss, at);
    QTRY_VERIFY(!page.readoutText(loss).isEmpty());
    const QString text = page.readoutText(loss);
    QVERIFY2(text.startsWith(QStringLiteral("step 10\n")), qPrintable(text));
    for (int i = 0; i < 3; ++i)
      QVERIFY2(text.contains(QStringLiteral("%1 · %2: 0.1").arg(ids[i]).arg(QLatin1String(kRuns[i].name))),
               qPrintable(text));
    QVERIFY(!loss->legend->visible());  // the read-out names the runs
    const QString scale = page.readoutText(page.scalePlot());
    QVERIFY2(scale.contains(QStringLiteral("%1 · beta: 2²²").arg(ids[1])), qPrintable(scale));
    QVERIFY(page.readoutText(page.throughputPlot()).contains(QStringLiteral("1,500 samples/s")));
    QVERIFY(page.readoutText(page.accuracyPlot()).contains(QStringLiteral("90.0 %")));
    QEvent leave(QEvent::Leave);
    QApplication::sendEvent(loss, &leave);
    QVERIFY(page.readoutText(loss).isEmpty());
    QVERIFY(loss->legend->visible());
  }

  // A run renamed in History takes its new name in Compare's legend, table
  // and settings columns.
  void aRenameReachesTheLegend() {
    const QString db = dir_.filePath(QStringLiteral("rename.db"));
    const QVector<qint64> ids = writeRuns(db);
    ComparePage page(db);
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns(ids));
    QVERIFY(shown.wait(10000));
    HistoryPage history(db, dir_.filePath(QStringLiteral("h.ini")));
    QVERIFY(listed(history));
    QSignalSpy renamed(RunNotices::instance(), &RunNotices::runRenamed);
    QVERIFY(history.renameRun(ids[1], QStringLiteral("fp16 baseline")));
    QVERIFY(renamed.wait(10000));
    const QString label = QStringLiteral("%1 · fp16 baseline").arg(ids[1]);
    QCOMPARE(page.lossPlot()->graph(1)->name(), label + QStringLiteral(" — FP16 (mixed)"));
    QCOMPARE(page.summaryTable()->item(1, ComparePage::Run)->text(), label);
    QCOMPARE(page.diffTable()->horizontalHeaderItem(2)->text(), label);
    QCOMPARE(page.lossPlot()->graph(0)->name(), QStringLiteral("%1 · alpha — FP32").arg(ids[0]));
  }

  void withoutFloat32ThereIsNoRatio() {
    const QString db = dir_.filePath(QStringLiteral("runs2.db"));
    const QVector<qint64> ids = writeRuns(db);
    ComparePage page(db);
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns({ids[1], ids[2]}));
    QVERIFY(shown.wait(10000));
    QCOMPARE(page.summaryTable()->item(0, ComparePage::SpeedUp)->text(), QStringLiteral("—"));
  }
};

int runHistoryTests(int argc, char** argv) {
  HistoryTest t;
  return QTest::qExec(&t, argc, argv);
}

int runCompareTests(int argc, char** argv) {
  CompareTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "HistoryCompareTest.moc"
