// LivePlots on its own, fed with made-up metrics: batching, skip markers,
// the shared x axis, synchronised ranges, the hover read-out, PNG export.
#include <qcustomplot.h>

#include <QTemporaryDir>
#include <QTest>

#include "LivePlots.hpp"
#include "PlotTheme.hpp"
#include "PolicyColors.hpp"

using namespace mantissa;
using namespace mantissa::ui;

namespace {

QVector<StepMetrics> makeSteps(qint64 first, qint64 count, QSet<qint64> skipped = {}) {
  QVector<StepMetrics> out;
  static qint64 skippedTotal = 0;
  if (first == 1) skippedTotal = 0;
  for (qint64 s = first; s < first + count; ++s) {
    StepMetrics m;
    m.step = s;
    m.loss = 2.0 / double(s);
    m.skipped = skipped.contains(s);
    if (m.skipped) ++skippedTotal;
    m.skipped_total = skippedTotal;
    m.loss_scale = 65536.0 / double(1 << skippedTotal);
    m.samples_per_s = 1000.0 + double(s);
    m.step_time_s = 0.01;
    m.memory_in_use = 4 << 20;
    m.memory_peak = 6 << 20;
    m.wall_time_s = 0.5 * double(s);  // differs from the step, so the toggle shows
    out.push_back(m);
  }
  return out;
}

}  // namespace

class LivePlotsTest : public QObject {
  Q_OBJECT

 private slots:
  void batchesAppendToEverySeries() {
    LivePlots plots;
    plots.beginRun(Policy::MixedFloat16, QStringLiteral("test"));
    plots.appendSteps(makeSteps(1, 10, {3}));
    plots.appendSteps(makeSteps(11, 5, {12}));
    for (auto s : {LivePlots::Series::TrainLoss, LivePlots::Series::LossScale,
                   LivePlots::Series::SkippedTotal, LivePlots::Series::MemoryInUse,
                   LivePlots::Series::MemoryPeak, LivePlots::Series::Throughput,
                   LivePlots::Series::ThroughputMean})
      QCOMPARE(plots.pointCount(s), 15);
    QCOMPARE(plots.pointCount(LivePlots::Series::SkippedMarkers), 2);
    // The markers sit on the scale curve at the skipped steps.
    auto markers = plots.graph(LivePlots::Series::SkippedMarkers)->data();
    QCOMPARE(markers->at(0)->key, 3.0);
    QCOMPARE(markers->at(1)->key, 12.0);
    QCOMPARE(markers->at(1)->value, 65536.0 / 4);
    // Memory is plotted in MiB, the cumulative skip count on the right axis.
    QCOMPARE(plots.graph(LivePlots::Series::MemoryInUse)->data()->at(0)->value, 4.0);
    QCOMPARE(plots.graph(LivePlots::Series::SkippedTotal)->valueAxis(),
             plots.plot(LivePlots::Panel::Scale)->yAxis2);
    QCOMPARE(plots.plot(LivePlots::Panel::Scale)->yAxis->scaleType(), QCPAxis::stLogarithmic);
    // The run's policy colour, dashed only for pure 16-bit.
    QCOMPARE(plots.graph(LivePlots::Series::TrainLoss)->pen().color(),
             policyColor(Policy::MixedFloat16));
    QCOMPARE(plots.graph(LivePlots::Series::TrainLoss)->pen().style(), Qt::SolidLine);
    plots.beginRun(Policy::BFloat16, QStringLiteral("pure"));
    QCOMPARE(plots.pointCount(LivePlots::Series::TrainLoss), 0);
    QCOMPARE(plots.graph(LivePlots::Series::TrainLoss)->pen().style(), Qt::DashLine);
  }

  void validationLossComesPerEpoch() {
    LivePlots plots;
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 20));
    EpochMetrics e;
    e.epoch = 0;
    e.step = 10;
    e.val_loss = 0.7;
    e.wall_time_s = 5;
    plots.appendEpochs({e});
    QCOMPARE(plots.pointCount(LivePlots::Series::ValidationLoss), 1);
    QCOMPARE(plots.graph(LivePlots::Series::ValidationLoss)->data()->at(0)->key, 10.0);
  }

  void wallTimeToggleRekeysEveryPlot() {
    LivePlots plots;
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 8));
    plots.setXAxisMode(LivePlots::XAxis::WallTime);
    for (auto s : {LivePlots::Series::TrainLoss, LivePlots::Series::LossScale,
                   LivePlots::Series::MemoryInUse, LivePlots::Series::Throughput}) {
      QCOMPARE(plots.pointCount(s), 8);
      QCOMPARE(plots.graph(s)->data()->at(7)->key, 4.0);  // wall time of step 8
    }
    QCOMPARE(plots.plot(LivePlots::Panel::Memory)->xAxis->label(), QStringLiteral("wall time (s)"));
    plots.setXAxisMode(LivePlots::XAxis::Step);
    QCOMPARE(plots.graph(LivePlots::Series::TrainLoss)->data()->at(7)->key, 8.0);
  }

  void zoomingOnePlotMovesAllAndStopsFollowing() {
    LivePlots plots;
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 50));
    QVERIFY(plots.followLatest());
    QVERIFY(plots.plot(LivePlots::Panel::Throughput)->xAxis->range().contains(50));
    plots.plot(LivePlots::Panel::Loss)->xAxis->setRange(10, 20);  // as a drag would
    for (auto p :
         {LivePlots::Panel::Scale, LivePlots::Panel::Memory, LivePlots::Panel::Throughput}) {
      QCOMPARE(plots.plot(p)->xAxis->range().lower, 10.0);
      QCOMPARE(plots.plot(p)->xAxis->range().upper, 20.0);
    }
    QVERIFY(!plots.followLatest());
    // New steps no longer move the view...
    plots.appendSteps(makeSteps(51, 10));
    QCOMPARE(plots.plot(LivePlots::Panel::Memory)->xAxis->range().upper, 20.0);
    // ...until following is turned back on.
    plots.setFollowLatest(true);
    QVERIFY(plots.plot(LivePlots::Panel::Memory)->xAxis->range().contains(60));
    QVERIFY(plots.plot(LivePlots::Panel::Loss)->xAxis->range().contains(1));
  }

  void readoutShowsTheSameStepEverywhere() {
    LivePlots plots;
    plots.beginRun(Policy::Float32, QString());
    QCOMPARE(plots.showReadoutAt(3), qint64(-1));  // no data yet
    plots.appendSteps(makeSteps(1, 30, {4}));
    QCOMPARE(plots.showReadoutAt(7.3), qint64(7));
    for (auto p : {LivePlots::Panel::Loss, LivePlots::Panel::Scale, LivePlots::Panel::Memory,
                   LivePlots::Panel::Throughput})
      QVERIFY2(plots.readoutText(p).contains(QStringLiteral("step 7")),
               qPrintable(plots.readoutText(p)));
    QVERIFY(
        plots.readoutText(LivePlots::Panel::Scale).contains(QStringLiteral("skipped so far 1")));
    QVERIFY(plots.readoutText(LivePlots::Panel::Memory).contains(QStringLiteral("4.0 MiB")));
    QVERIFY(!plots.plot(LivePlots::Panel::Loss)->legend->visible());  // the read-out covers it
    plots.hideReadout();
    QVERIFY(plots.readoutText(LivePlots::Panel::Loss).isEmpty());
    QVERIFY(plots.plot(LivePlots::Panel::Loss)->legend->visible());
  }

  void hoveringAPlotShowsTheReadout() {
    LivePlots plots;
    plots.resize(900, 600);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 40));
    QCustomPlot* memory = plots.plot(LivePlots::Panel::Memory);
    memory->replot();
    const QRect rect = memory->axisRect()->rect();
    const QPoint at(int(memory->xAxis->coordToPixel(20)), rect.center().y());
    QTest::mouseMove(memory, at);
    QTRY_VERIFY(plots.readoutText(LivePlots::Panel::Loss).contains(QStringLiteral("step 20")));
    QVERIFY(plots.readoutText(LivePlots::Panel::Throughput).contains(QStringLiteral("step 20")));
  }

  void savesPng() {
    QTemporaryDir dir;
    LivePlots plots;
    plots.resize(800, 500);
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 10));
    const QString one = dir.filePath(QStringLiteral("loss.png"));
    QVERIFY(plots.savePng(LivePlots::Panel::Loss, one));
    QVERIFY(!QImage(one).isNull());
    const QString all = dir.filePath(QStringLiteral("all.png"));
    QVERIFY(plots.saveAllPng(all));
    QCOMPARE(QImage(all).size(), plots.size() * plots.devicePixelRatio());
  }

  void powerOfTwoTickLabels() {
    QCOMPARE(powerOfTwoLabel(65536), QStringLiteral("2¹⁶"));
    QCOMPARE(powerOfTwoLabel(1), QStringLiteral("2⁰"));
    QCOMPARE(powerOfTwoLabel(0.5), QStringLiteral("2⁻¹"));
    QCOMPARE(powerOfTwoLabel(16777216), QStringLiteral("2²⁴"));
    QVERIFY(powerOfTwoLabel(3).isEmpty());
    QVERIFY(powerOfTwoLabel(0).isEmpty());
  }
};

int runLivePlotsTests(int argc, char** argv) {
  LivePlotsTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "LivePlotsTest.moc"
