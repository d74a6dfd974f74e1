// Compare over the same three stored runs (StoredRuns.hpp): the overlaid
// curves, the summary, the settings and numerics differences, colours, hover
// read-outs and renames.
#include <qcustomplot.h>

#include <QAction>
#include <cmath>
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

  // A run without a validation split (its epochs' figures NaN, stored as
  // null) shows no accuracy, "—", not "nan %".
  void aRunWithoutValidationShowsNoAccuracy() {
    const QString db = dir_.filePath(QStringLiteral("runs3.db"));
    const QVector<qint64> ids = writeRuns(db);
    qint64 plain = 0;
    {
      RunStore store(db.toStdString());
      NewRun n;
      n.name = "no-validation";
      n.project_name = "tiny-spirals";
      n.project_json = spiralsJson(2).toStdString();
      n.policy = "float32";
      n.backend = "cpu";
      plain = store.create_run(n);
      for (int step = 1; step <= 2; ++step) {
        StepMetrics m;
        m.step = step;
        m.loss = 1.0 / step;
        store.append_step(plain, m);
      }
      EpochMetrics e;
      e.step = 2;
      e.train_loss = 0.7;
      e.val_loss = NAN;
      e.val_accuracy = NAN;
      store.append_epoch(plain, e);
      RunSummary summary;
      summary.steps = 2;
      summary.final_val_loss = NAN;
      summary.final_val_accuracy = NAN;
      store.set_status(plain, RunStatus::Finished);
      store.set_summary(plain, run_summary_json(summary));
    }
    ComparePage page(db);
    QSignalSpy shown(&page, &ComparePage::runsShown);
    QVERIFY(page.compareRuns({ids[0], plain}));
    QVERIFY(shown.wait(10000));
    QCOMPARE(page.summaryTable()->item(1, ComparePage::FinalValAccuracy)->text(),
             QStringLiteral("—"));
    QCOMPARE(page.summaryTable()->item(0, ComparePage::FinalValAccuracy)->text(),
             QStringLiteral("90.0 %"));
  }
};

int runCompareTests(int argc, char** argv) {
  CompareTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "CompareTest.moc"
