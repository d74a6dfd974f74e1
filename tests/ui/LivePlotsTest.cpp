// LivePlots on its own, fed with made-up metrics: batching, skip markers,
// the shared x axis, synchronised ranges, the hover read-out, PNG export.
#include <qcustomplot.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHelpEvent>
#include <QLabel>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QToolTip>
#include <QTest>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "Format.hpp"
#include "LivePlots.hpp"
#include "LossSmoothing.hpp"
#include "MetricFields.hpp"
#include "PlotTheme.hpp"
#include "PolicyColors.hpp"
#include "TestSupport.hpp"
#include "services/RunLibrary.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"

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

// Steps in which every row of the metrics table holds its own value.
QVector<StepMetrics> everyFieldSet(qint64 count) {
  QVector<StepMetrics> out;
  for (qint64 s = 1; s <= count; ++s) {
    StepMetrics m;
    for (std::size_t row = 0; row < kStepFields.size(); ++row)
      visit_field(kStepFields[row], m, [&](auto& v) {
        using T = std::remove_reference_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>)
          v = s % 2 == 0;
        else
          v = T(double(row + 1) * double(s) * 3.0);
      });
    m.step = s;
    out.push_back(m);
  }
  return out;
}

}  // namespace

// Validation that takes its time, as on a big validation set.
// A pause far longer than any step of the tiny model, even on a loaded
// machine, so that a step timed with it shows without a tight time bound.
constexpr double kPauseS = 0.5;
struct SlowEvaluation : MetricsSink {
  void epoch_recorded(const EpochMetrics&) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(kPauseS));
  }
};

double throughputAxisTop(LivePlots& plots) {
  return plots.plot(LivePlots::Panel::Throughput)->yAxis->range().upper;
}

class LivePlotsTest : public QObject {
  Q_OBJECT

 private slots:
  void throughputAxisFollowsTheBulkAndMarksOutliers() {
    LivePlots plots;
    plots.beginRun(Policy::Float32, QStringLiteral("outliers"));
    QVector<StepMetrics> steps = makeSteps(1, 200);
    for (StepMetrics& m : steps) m.samples_per_s = 41000 + 200.0 * double(m.step % 200);
    steps[125].samples_per_s = 59369202;  // one step timed as a sliver
    steps[199].samples_per_s = 80000000;
    plots.appendSteps(steps);
    plots.showAll();
    const double top = throughputAxisTop(plots);
    QVERIFY2(top > 80000 && top < 200000, qPrintable(QString::number(top)));
    auto marks = plots.graph(LivePlots::Series::ThroughputOutliers)->data();
    QCOMPARE(marks->size(), 2);
    QCOMPARE(marks->at(0)->key, 126.0);
    QCOMPARE(marks->at(1)->key, 200.0);
    QCOMPARE(marks->at(0)->value, top);  // on the top edge
    // Without outliers the axis reaches the largest value.
    LivePlots plain;
    plain.beginRun(Policy::Float32, QStringLiteral("plain"));
    plain.appendSteps(makeSteps(1, 50));
    plain.showAll();
    QVERIFY(throughputAxisTop(plain) >= 1050);
    QCOMPARE(plain.pointCount(LivePlots::Series::ThroughputOutliers), 0);
  }

  // A real run whose epochs pause for a slow evaluation: what is stored
  // keeps the pause out of every step, and the plot's axis follows the steps.
  void aTrajectoryWithAnEvaluationPauseIsStoredAndPlottedHonestly() {
    QTemporaryDir dir;
    RunStore store(dir.filePath(QStringLiteral("runs.db")).toStdString());
    const Project p = testing::parseProject(testing::spiralsJson(40), QStringLiteral("p.json"));
    auto backend = create_backend("cpu");
    Trainer trainer(p, *backend);
    NewRun run;
    run.name = "pauses";
    RunRecorder recorder(store, run);
    SlowEvaluation pause;
    MetricsFanout fanout;
    fanout.add(&recorder);
    fanout.add(&pause);
    TrainControl control;
    QCOMPARE(int(trainer.run(fanout, control).outcome), int(RunOutcome::Finished));

    const std::vector<StepMetrics> stored = store.step_metrics(recorder.run_id());
    QCOMPARE(stored.size(), std::size_t(40));
    std::vector<double> rates;
    for (const StepMetrics& m : stored) {
      QVERIFY2(m.step_time_s > 0,
               qPrintable(QStringLiteral("step %1: %2 s").arg(m.step).arg(m.step_time_s)));
      rates.push_back(m.samples_per_s);
    }
    // The steps that end an epoch were once timed as the microseconds between
    // two reads: millions of samples per second (over a thousand times the
    // full steps' rate). Timed honestly, a short last batch is within a small
    // factor of the fastest full step, and its time holds no part of the pause.
    double fastestFull = 0;
    for (std::size_t i = 0; i < rates.size(); ++i)
      if ((i + 1) % 7 != 0) fastestFull = std::max(fastestFull, rates[i]);
    for (const std::size_t epochEnd : {std::size_t(7), std::size_t(14), std::size_t(21)}) {
      QVERIFY2(
          stored[epochEnd - 1].step_time_s < 0.8 * kPauseS,
          qPrintable(
              QStringLiteral("step %1: %2 s").arg(epochEnd).arg(stored[epochEnd - 1].step_time_s)));
      QVERIFY2(rates[epochEnd - 1] < 30 * fastestFull,
               qPrintable(QStringLiteral("step %1: %2 samples/s, fastest full step %3")
                              .arg(epochEnd)
                              .arg(rates[epochEnd - 1])
                              .arg(fastestFull)));
    }
    // Wall time jumps by the pause at each epoch end; step time does not.
    const std::vector<EpochMetrics> epochs = store.epoch_metrics(recorder.run_id());
    QVERIFY(epochs.size() >= 5);
    QVERIFY(stored[7].wall_time_s - stored[6].wall_time_s >= 0.95 * kPauseS);
    QVERIFY(epochs[0].eval_time_s > 0);

    LivePlots plots;
    plots.beginRun(Policy::Float32, QStringLiteral("pauses"));
    plots.appendSteps(QVector<StepMetrics>(stored.begin(), stored.end()));
    plots.showAll();
    std::vector<double> sorted = rates;
    std::sort(sorted.begin(), sorted.end());
    const double top = throughputAxisTop(plots);
    QVERIFY(top >= sorted[sorted.size() / 2]);
    QVERIFY(top <= sorted.back() * 1.09);
  }

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
    QCOMPARE(plots.graph(LivePlots::Series::TrainLossSmoothed)->pen().color(),
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

  // A traced event waits for its step's row, then sits on the scale curve
  // at that step in either x axis; a new run starts without marks.
  void tracedEventsMarkTheScaleCurve() {
    LivePlots plots;
    plots.beginRun(Policy::MixedFloat16, QString());
    plots.appendSteps(makeSteps(1, 4));
    plots.markTracedEvent(6, QStringLiteral("fc2 forward went non-finite first"));
    QCOMPARE(plots.tracedEventCount(), 1);
    QCOMPARE(plots.pointCount(LivePlots::Series::TracedEvents), 0);  // step 6 not drawn yet
    QVector<StepMetrics> later = makeSteps(5, 8);
    later[1].loss_scale = 512.0;  // step 6
    plots.appendSteps(later);
    QCOMPARE(plots.pointCount(LivePlots::Series::TracedEvents), 1);
    const auto at = [&] { return plots.graph(LivePlots::Series::TracedEvents)->data()->at(0); };
    QCOMPARE(at()->key, 6.0);
    QCOMPARE(at()->value, 512.0);
    plots.setXAxisMode(LivePlots::XAxis::WallTime);
    QCOMPARE(at()->key, 3.0);  // wall time of step 6
    QCOMPARE(plots.showReadoutAt(3.0), qint64(6));
    QVERIFY(plots.readoutText(LivePlots::Panel::Scale).contains(QStringLiteral("fc2 forward")));
    QCOMPARE(plots.showReadoutAt(3.5), qint64(7));
    QVERIFY(!plots.readoutText(LivePlots::Panel::Scale).contains(QStringLiteral("fc2 forward")));
    plots.beginRun(Policy::MixedFloat16, QString());
    plots.appendSteps(makeSteps(1, 8));
    QCOMPARE(plots.tracedEventCount(), 0);
    QCOMPARE(plots.pointCount(LivePlots::Series::TracedEvents), 0);
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

  // Each series names a row of the metrics table; its points are that row's
  // values in the row's display unit, its axis is labelled with the row's
  // unit (or name) and its panel's tooltip carries the row's description.
  void seriesDrawRowsOfTheMetricsTable() {
    LivePlots plots;
    plots.beginRun(Policy::Float32, QStringLiteral("table"));
    const QVector<StepMetrics> steps = everyFieldSet(5);
    plots.appendSteps(steps);
    QCOMPARE(qsizetype(LivePlots::seriesTable().size()), qsizetype(LivePlots::kSeriesCount));
    int values = 0;
    for (const LivePlots::SeriesInfo& s : LivePlots::seriesTable()) {
      QCPGraph* g = plots.graph(s.series);
      QCustomPlot* p = plots.plot(s.panel);
      QCOMPARE(g->parentPlot(), p);
      QCOMPARE(g->valueAxis(), s.rightAxis ? p->yAxis2 : p->yAxis);
      if (!s.metric) continue;
      QCOMPARE(findStepField(s.metric->name), s.metric);  // a row of the table
      QVERIFY2(p->toolTip().contains(fromView(s.metric->description)), qPrintable(p->toolTip()));
      if (s.draw != LivePlots::Draw::Value) continue;
      ++values;
      QVERIFY2(g->valueAxis()->label().startsWith(metricAxisLabel(*s.metric)),
               qPrintable(g->valueAxis()->label()));
      QCOMPARE(g->dataCount(), int(steps.size()));
      const double divisor = displayUnit(*s.metric).divisor;
      for (int i = 0; i < steps.size(); ++i)
        QCOMPARE(g->data()->at(i)->value, metricValue(*s.metric, steps[i]) / divisor);
    }
    QCOMPARE(values, 6);  // loss, loss scale, skipped total, memory in use and peak, samples/s
    QCOMPARE(plots.plot(LivePlots::Panel::Memory)->yAxis->label(), QStringLiteral("MiB"));
    QCOMPARE(plots.plot(LivePlots::Panel::Throughput)->yAxis->label(),
             fromView(stepField("samples_per_s").unit));
    QCOMPARE(plots.plot(LivePlots::Panel::Scale)->yAxis2->label(), QStringLiteral("skipped total"));
  }

  // Every row of the metrics table but the step reaches the plots: the
  // chooser lists them in the table's order, named and described by the
  // table, and picking one draws its values, labels its axis and reads out.
  void everyTableRowCanBePlotted() {
    LivePlots plots;
    plots.beginRun(Policy::BFloat16, QStringLiteral("chooser"));
    const QVector<StepMetrics> steps = everyFieldSet(6);
    plots.appendSteps(steps.mid(0, 4));
    QCustomPlot* p = plots.plot(LivePlots::Panel::Metric);
    QVERIFY(p->isHidden());
    QComboBox* box = plots.metricChooser();
    QStringList listed, expected;
    for (int i = 1; i < box->count(); ++i) listed << box->itemData(i).toString();
    for (const StepField& f : kStepFields)
      if (f.name != "step") expected << fromView(f.name);
    QCOMPARE(listed, expected);

    for (int i = 1; i < box->count(); ++i) {
      const StepField* f = findStepField(box->itemData(i).toString().toStdString());
      QVERIFY(f);
      QCOMPARE(box->itemText(i), metricLabel(*f));
      QCOMPARE(box->itemData(i, Qt::ToolTipRole).toString(), metricToolTip(*f));
      QVERIFY(box->itemData(i, Qt::ToolTipRole).toString().contains(fromView(f->description)));
      box->setCurrentIndex(i);
      QCOMPARE(plots.chosenMetric(), fromView(f->name));
      QVERIFY(!p->isHidden());
      QVERIFY(p->yAxis->label().startsWith(metricAxisLabel(*f)));
      QVERIFY(p->toolTip().contains(fromView(f->description)));
      QCOMPARE(plots.pointCount(LivePlots::Series::Metric), 4);
      const double divisor = displayUnit(*f).divisor;
      for (int k = 0; k < 4; ++k)
        QCOMPARE(plots.graph(LivePlots::Series::Metric)->data()->at(k)->value,
                 metricValue(*f, steps[k]) / divisor);
      QVERIFY(plots.showReadoutAt(3) == 3);
      const QString readout = plots.readoutText(LivePlots::Panel::Metric);
      QVERIFY2(readout.contains(metricLabel(*f) + QLatin1Char(' ') +
                                formatMetric(*f, metricValue(*f, steps[2]))),
               qPrintable(readout));
      plots.hideReadout();
    }

    // Steps that arrive later reach the chosen series too.
    plots.setChosenMetric(QStringLiteral("grad_norm"));
    plots.appendSteps(steps.mid(4));
    QCOMPARE(plots.pointCount(LivePlots::Series::Metric), 6);
    QCOMPARE(plots.graph(LivePlots::Series::Metric)->data()->at(5)->value, steps[5].grad_norm);
    plots.setChosenMetric(QString());
    QVERIFY(p->isHidden());
    QCOMPARE(plots.pointCount(LivePlots::Series::Metric), 0);
  }

  // TensorBoard's rule: an exponential moving average divided by 1 − wⁿ, so
  // the first point is the first value; gaps pass through and do not count.
  void smoothingIsTensorBoards() {
    QCOMPARE(smoothed({3, 1, 2}, 0), (QVector<double>{3, 1, 2}));
    const QVector<double> s = smoothed({1, 0, qQNaN(), 0}, 0.6);
    QCOMPARE(s[0], 1.0);
    QVERIFY(qFuzzyCompare(s[1], 0.24 / 0.64));  // (0.6·0.4·1 + 0.4·0) / (1 − 0.6²)
    QVERIFY(std::isnan(s[2]));
    QVERIFY(qFuzzyCompare(s[3], 0.144 / 0.784));  // the third value counted
    for (double v : smoothed({2, 2, 2, 2}, 0.99)) QVERIFY(qFuzzyCompare(v, 2.0));
    QCOMPARE(LossSmoother(1.5).weight(), LossSmoother::kMaxWeight);
  }

  // The smoothed loss leads, the raw loss stays faint behind it; the slider
  // and the spin box set the weight and the curve follows from the first step.
  void lossSmoothingSliderAndSpinBox() {
    LivePlots plots;
    plots.resize(1100, 700);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.beginRun(Policy::Float32, QStringLiteral("smooth"));
    QVector<StepMetrics> steps = makeSteps(1, 30);
    for (StepMetrics& m : steps) m.loss = 1.0 + (m.step % 2 ? 0.5 : -0.5) / double(m.step);
    plots.appendSteps(steps.mid(0, 12));
    plots.appendSteps(steps.mid(12));  // smoothed on from where the first batch ended
    QVector<double> raw;
    for (const StepMetrics& m : steps) raw << m.loss;
    QCPGraph* smooth = plots.graph(LivePlots::Series::TrainLossSmoothed);
    QCPGraph* rawGraph = plots.graph(LivePlots::Series::TrainLoss);
    const auto expectSmoothed = [&](double weight) {
      const QVector<double> want = smoothed(raw, weight);
      QCOMPARE(smooth->dataCount(), int(want.size()));
      for (int i = 0; i < want.size(); ++i) QVERIFY(qFuzzyCompare(smooth->data()->at(i)->value, want[i]));
    };
    QCOMPARE(plots.smoothing(), 0.6);  // TensorBoard's default
    expectSmoothed(0.6);
    QVERIFY(smooth->visible());
    QCOMPARE(smooth->pen().color(), policyColor(Policy::Float32));
    QVERIFY(rawGraph->pen().color().alpha() < 128);  // faint behind
    QCOMPARE(rawGraph->dataCount(), 30);
    QVERIFY(plots.plot(LivePlots::Panel::Loss)->legend->hasItemWithPlottable(smooth));

    // Home on the slider: no smoothing, the raw loss alone at full strength.
    QSlider* slider = plots.smoothingSlider();
    slider->setFocus();
    QTest::keyClick(slider, Qt::Key_Home);
    QCOMPARE(plots.smoothing(), 0.0);
    QCOMPARE(plots.smoothingSpinBox()->value(), 0.0);
    QVERIFY(!smooth->visible());
    QVERIFY(!plots.plot(LivePlots::Panel::Loss)->legend->hasItemWithPlottable(smooth));
    QCOMPARE(rawGraph->pen().color().alpha(), 255);
    QTest::keyClick(slider, Qt::Key_End);
    QCOMPARE(plots.smoothing(), 0.99);
    expectSmoothed(0.99);

    // Typed into the spin box.
    QDoubleSpinBox* spin = plots.smoothingSpinBox();
    spin->setFocus();
    spin->selectAll();
    QTest::keyClicks(spin, QStringLiteral("0.3"));
    QTest::keyClick(spin, Qt::Key_Enter);
    QCOMPARE(plots.smoothing(), 0.3);
    QCOMPARE(slider->value(), 30);
    expectSmoothed(0.3);
    // The read-out gives both.
    QCOMPARE(plots.showReadoutAt(5), qint64(5));
    QVERIFY2(plots.readoutText(LivePlots::Panel::Loss)
                 .contains(QStringLiteral("smoothed %1").arg(smoothed(raw, 0.3)[4], 0, 'g', 5)),
             qPrintable(plots.readoutText(LivePlots::Panel::Loss)));
  }

  void logLossAxisToggles() {
    LivePlots plots;
    plots.resize(1100, 700);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.beginRun(Policy::Float32, QStringLiteral("log"));
    plots.appendSteps(makeSteps(1, 100));  // loss from 2 down to 0.02
    QCPAxis* axis = plots.plot(LivePlots::Panel::Loss)->yAxis;
    QCOMPARE(axis->scaleType(), QCPAxis::stLinear);
    QTest::mouseClick(plots.logLossBox(), Qt::LeftButton);
    QVERIFY(plots.logLoss());
    QCOMPARE(axis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(axis->range().lower > 0 && axis->range().lower <= 0.02);
    QVERIFY(axis->range().upper >= 2);
    QVERIFY2(axis->label().endsWith(QStringLiteral("(log)")), qPrintable(axis->label()));
    QTest::mouseClick(plots.logLossBox(), Qt::LeftButton);
    QVERIFY(!plots.logLoss());
    QCOMPARE(axis->scaleType(), QCPAxis::stLinear);
    QVERIFY(!axis->label().endsWith(QStringLiteral("(log)")));
  }

  // A double click on any plot goes back to every step, following the newest.
  void doubleClickResetsTheZoom() {
    LivePlots plots;
    plots.resize(1100, 700);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 50));
    plots.plot(LivePlots::Panel::Loss)->xAxis->setRange(10, 20);  // as a drag would
    QVERIFY(!plots.followLatest());
    QCustomPlot* memory = plots.plot(LivePlots::Panel::Memory);
    memory->replot();
    const QPoint at = memory->axisRect()->rect().center();
    QTest::mouseDClick(memory, Qt::LeftButton, {}, at);
    QTest::mouseRelease(memory, Qt::LeftButton, {}, at);  // QTest leaves the button down
    QVERIFY(plots.followLatest());
    for (auto p : {LivePlots::Panel::Loss, LivePlots::Panel::Memory}) {
      QVERIFY(plots.plot(p)->xAxis->range().contains(1));
      QVERIFY(plots.plot(p)->xAxis->range().contains(50));
    }
    plots.appendSteps(makeSteps(51, 10));
    QVERIFY(plots.plot(LivePlots::Panel::Loss)->xAxis->range().contains(60));
  }

  // The highest validation marker and the highest skipped-step marker are
  // drawn whole: the value axes keep room for them, even on a short plot.
  void markersAtTheTopAreNotClipped() {
    LivePlots plots;
    plots.resize(520, 380);  // the plots near their smallest
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.beginRun(Policy::MixedFloat16, QString());
    for (auto p : {LivePlots::Panel::Loss, LivePlots::Panel::Scale}) plots.plot(p)->replot();
    QVector<StepMetrics> steps = makeSteps(1, 40);
    for (StepMetrics& m : steps) {
      m.loss = 1.0;  // flat: the validation loss above it is the top of the plot
      m.loss_scale = std::ldexp(1.0, int(m.step % 24));  // up to 2^23 and back
      m.skipped = m.step % 24 == 23;
    }
    plots.appendSteps(steps);
    EpochMetrics e;
    e.epoch = 0;
    e.step = 20;
    e.val_loss = 1.5;
    plots.appendEpochs({e});
    plots.showAll();
    QCustomPlot* loss = plots.plot(LivePlots::Panel::Loss);
    loss->replot();
    const double radius =
        plots.graph(LivePlots::Series::ValidationLoss)->scatterStyle().size() / 2 + 1.5;
    QVERIFY2(loss->yAxis->coordToPixel(1.5) - loss->axisRect()->top() >= radius,
             qPrintable(QString::number(loss->yAxis->coordToPixel(1.5) - loss->axisRect()->top())));
    QCustomPlot* scale = plots.plot(LivePlots::Panel::Scale);
    scale->replot();
    const double top = std::ldexp(1.0, 23);
    QCOMPARE(plots.graph(LivePlots::Series::SkippedMarkers)->data()->at(0)->value, top);
    QVERIFY(scale->yAxis->coordToPixel(top) - scale->axisRect()->top() >= 8 / 2 + 1);
  }

  // The read-out is the tooltip over the data; the panel's own tooltip shows
  // over its axes only, and how to pan and zoom is said above the plots,
  // where no read-out reaches.
  void readoutAndHintsNeverOverlap() {
    LivePlots plots;
    plots.resize(1100, 700);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.beginRun(Policy::Float32, QString());
    plots.appendSteps(makeSteps(1, 40));
    QCustomPlot* loss = plots.plot(LivePlots::Panel::Loss);
    loss->replot();
    QLabel* hint = plots.navigationHint();
    QVERIFY(hint->isVisible());
    QVERIFY(hint->text().contains(QStringLiteral("double-click")));
    QVERIFY(hint->width() >= hint->sizeHint().width());  // whole in a wide window
    // ...and the first to give way in a narrow one: the controls fit a small screen.
    QVERIFY2(plots.minimumSizeHint().width() <= 600,
             qPrintable(QString::number(plots.minimumSizeHint().width())));
    QVERIFY(!loss->geometry().intersects(hint->geometry()));
    // Narrow, it is cut at its end with an ellipsis, never at its start.
    plots.resize(760, 700);
    QTRY_VERIFY(hint->width() < hint->fontMetrics().horizontalAdvance(hint->toolTip()));
    QVERIFY2(hint->text().startsWith(QStringLiteral("Drag: pan")) &&
                 hint->text().endsWith(QChar(0x2026)),
             qPrintable(hint->text()));
    QVERIFY(hint->fontMetrics().horizontalAdvance(hint->text()) <= hint->width());
    plots.resize(1100, 700);
    QTRY_COMPARE(hint->text(), hint->toolTip());

    const QPoint inside = loss->axisRect()->rect().center();
    QTest::mouseMove(loss, inside - QPoint(20, 0));
    QTest::mouseMove(loss, inside);
    QTRY_VERIFY(!plots.readoutText(LivePlots::Panel::Loss).isEmpty());
    QHelpEvent over(QEvent::ToolTip, inside, loss->mapToGlobal(inside));
    QApplication::sendEvent(loss, &over);
    QVERIFY(!QToolTip::isVisible());
    const QPoint onAxis(loss->axisRect()->left() - 10, inside.y());
    QHelpEvent beside(QEvent::ToolTip, onAxis, loss->mapToGlobal(onAxis));
    QApplication::sendEvent(loss, &beside);
    QTRY_VERIFY(QToolTip::isVisible());
    QVERIFY(QToolTip::text().contains(fromView(stepField("loss").description)));
    QToolTip::hideText();
  }

  // Loss scales read as powers of two in the read-out, also when the loss
  // scale is the extra row; its axis is log₂ there too.
  void lossScalesReadAsPowersOfTwo() {
    LivePlots plots;
    plots.beginRun(Policy::MixedFloat16, QString());
    QVector<StepMetrics> steps = makeSteps(1, 5);
    for (StepMetrics& m : steps) m.loss_scale = 16777216.0;
    plots.appendSteps(steps);
    plots.setChosenMetric(QStringLiteral("loss_scale"));
    QCOMPARE(plots.showReadoutAt(3), qint64(3));
    const QString scale = plots.readoutText(LivePlots::Panel::Scale);
    const QString metric = plots.readoutText(LivePlots::Panel::Metric);
    QVERIFY2(scale.contains(QStringLiteral("scale 2²⁴")), qPrintable(scale));
    QVERIFY2(metric.contains(QStringLiteral("loss scale 2²⁴")), qPrintable(metric));
    for (const QString& t : {scale, metric}) {
      QVERIFY2(!t.contains(QStringLiteral("e+")), qPrintable(t));
      QVERIFY2(!t.contains(QStringLiteral("16777216")), qPrintable(t));
    }
    QCPAxis* axis = plots.plot(LivePlots::Panel::Metric)->yAxis;
    QCOMPARE(axis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(axis->ticker().dynamicCast<PowerOfTwoTicker>());
    plots.setChosenMetric(QStringLiteral("grad_norm"));
    QCOMPARE(axis->scaleType(), QCPAxis::stLinear);
    QCOMPARE(formatScale(16777216.0), QStringLiteral("2²⁴"));
    QCOMPARE(formatScale(512), QStringLiteral("512"));
  }

  // A rename written by any run library reaches the header of the plots
  // showing that run, and no other.
  void renamedRunRenamesTheHeader() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    qint64 id = 0;
    {
      RunStore store(db.toStdString());
      NewRun n;
      n.name = "spirals mixed_float16";
      n.policy = "mixed_float16";
      id = store.create_run(n);
    }
    LivePlots shown, other;
    shown.beginRun(Policy::MixedFloat16, QStringLiteral("spirals · FP16 (mixed)"));
    other.beginRun(Policy::Float32, QStringLiteral("other · FP32"));
    shown.setStoredRun(db, id);
    other.setStoredRun(db, id + 1);
    RunLibrary library;
    QSignalSpy renamed(RunNotices::instance(), &RunNotices::runRenamed);
    library.renameRun(db, id, QStringLiteral("baseline"));
    QVERIFY(renamed.wait(10000));
    QCOMPARE(renamed.at(0).at(1).toLongLong(), id);
    QCOMPARE(shown.runLabelText(), QStringLiteral("baseline · FP16 (mixed)"));
    QCOMPARE(other.runLabelText(), QStringLiteral("other · FP32"));
    // A run of the same id in another database is another run.
    shown.runRenamed(dir.filePath(QStringLiteral("elsewhere.db")), id, QStringLiteral("no"));
    QCOMPARE(shown.runLabelText(), QStringLiteral("baseline · FP16 (mixed)"));
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
