// History over a temporary store holding three runs under float32, mixed
// float16 and mixed bfloat16 (StoredRuns.hpp): listing, sorting, filtering,
// renaming, deleting, opening a run, and runs another process writes.
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
#include "StoredRuns.hpp"
#include "TestSupport.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

QString cellText(QAbstractItemModel* m, int row, int column) {
  return m->index(row, column).data().toString();
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

int runHistoryTests(int argc, char** argv) {
  HistoryTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "HistoryTest.moc"
