// The panels that work on a stored run: evaluation (confusion matrix), what-if,
// divergence, trade-off, the range view, sampling, and History's context menu
// that opens them.
#include <QAction>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <cmath>
#include <qcustomplot.h>

#include "DivergencePanel.hpp"
#include "EvaluationView.hpp"
#include "HistogramOverlay.hpp"
#include "HistoryPage.hpp"
#include "MainWindow.hpp"
#include "MainWindowFixture.hpp"
#include "ModelCanvas.hpp"
#include "NumericsHeatmap.hpp"
#include "RangeView.hpp"
#include "SamplePanel.hpp"
#include "TestSupport.hpp"
#include "TradeoffPanel.hpp"
#include "WhatIfPanel.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/data.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/sample.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"
#include "mantissa/trainer.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

namespace {

// Trains `project` on the CPU as a new run in `db`, with its snapshot stored
// (the what-if reads the settings from it).
struct StoredTraining {
  qint64 id = 0;
  RunSummary summary;
};
StoredTraining trainInto(const QString& db, const Project& project, TrainOptions options = {},
                         const std::string& name = {}, int checkpointsKept = 3) {
  StoreOptions storeOptions;
  storeOptions.checkpoints_kept = checkpointsKept;
  RunStore store(db.toStdString(), storeOptions);
  NewRun n = new_run_record(project, name);
  n.project_json = project_to_json(project);
  RunRecorder recorder(store, n);
  auto backend = create_backend("cpu");
  Trainer trainer(project, *backend, options);
  TrainControl control;
  StoredTraining out;
  out.summary = trainer.run(recorder, control);
  out.id = recorder.run_id();
  return out;
}

// A mixed fp16 spirals run of 90 steps that starts at 2^28, backs off and
// regrows every 6 clean steps: the what-if tests' stored run.
Project backingOffProject() {
  Project project = parseProject(spiralsJson(90, QStringLiteral("mixed_float16")),
                                 QStringLiteral("tiny.json"));
  project.training.loss_scale.mode = LossScaleMode::Dynamic;
  project.training.loss_scale.init_scale = std::ldexp(1.0, 28);
  project.training.loss_scale.growth_interval = 6;
  return project;
}

// A run of `project` (whose text is `json`) in database `db` with one
// checkpoint: its initial weights at step 0.
qint64 storeUntrainedRun(const QString& db, const QString& json, const Project& project) {
  RunStore store(db.toStdString());
  NewRun n;
  n.name = project.name;
  n.project_name = project.name;
  n.project_json = json.toStdString();
  n.policy = "float32";
  n.loss_scale_json = R"({"mode":"none"})";
  n.backend = "cpu";
  const qint64 id = store.create_run(n);
  auto backend = create_backend("cpu");
  Trainer trainer(project, *backend);
  store.add_checkpoint(id, 0, 0, trainer.checkpoint());
  store.flush();
  return id;
}

class RunPanelsTest : public QObject {
  Q_OBJECT

 private slots:
  void confusionMatrixCoversTheValidationSplit() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    const QString json = spiralsJson(5);
    const Project project = parseProject(json, QStringLiteral("tiny.json"));
    const qint64 id = storeUntrainedRun(db, json, project);
    EvaluationView view;
    QSignalSpy done(&view, &EvaluationView::evaluated);
    view.evaluateRun(db, id);
    QVERIFY(done.wait(20000));
    const DatasetSplit split = load_dataset(project.dataset);
    const RunEvaluation& r = view.result();
    QCOMPARE(r.numClasses, 2);
    QCOMPARE(r.total, split.validation.size());
    qint64 sum = 0;
    for (int t = 0; t < 2; ++t)
      for (int p = 0; p < 2; ++p) sum += view.confusionTable()->item(t, p)->text().toLongLong();
    QCOMPARE(sum, split.validation.size());
    // The last column is each class's accuracy, from the same counts.
    QCOMPARE(view.confusionTable()->columnCount(), 3);
    for (int t = 0; t < 2; ++t) {
      const qint64 right = view.confusionTable()->item(t, t)->text().toLongLong();
      const qint64 row = view.confusionTable()->item(t, 0)->text().toLongLong() +
                         view.confusionTable()->item(t, 1)->text().toLongLong();
      if (row > 0)
        QCOMPARE(view.confusionTable()->item(t, 2)->text(),
                 QString::number(100.0 * double(right) / double(row), 'f', 1) + "%");
    }
    QVERIFY(std::isfinite(r.loss) && r.loss > 0);
    QVERIFY(view.errorText().isEmpty());
  }

  // The range view of a stored run: one strip per tensor of the shown step,
  // boxes from its histogram, a slider over the stored steps (every 4th step
  // here), and the step and headroom in its title.
  // The loss scaler's what-if on a stored mixed fp16 run that backs off from
  // 2^28 and regrows every 6 clean steps: its own settings replay it exactly
  // (the grey and coloured curves coincide); a lower initial scale predicts
  // fewer skips and marks where the prediction stops being exact; the search
  // finds settings with fewer skips still; a run without a record says so.
  void whatIfPanelReplaysAStoredRun() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    Project project = backingOffProject();
    const StoredTraining trained = trainInto(db, project);
    QCOMPARE(trained.summary.outcome, RunOutcome::Finished);
    const qint64 id = trained.id;
    const std::int64_t recordedSkips = trained.summary.skipped_steps;
    QVERIFY(recordedSkips >= 6);
    WhatIfPanel panel;
    QVERIFY2(panel.loadRun(db.toStdString(), id), qPrintable(panel.message()));
    QCOMPARE(panel.initScaleSlider()->value(), 28);
    QCOMPARE(panel.growthIntervalBox()->value(), 6);
    QCOMPARE(panel.replay().skipped, recordedSkips);
    QVERIFY(!panel.replay().first_difference.has_value());
    QVERIFY2(panel.summary().contains(QStringLiteral("exact throughout")), qPrintable(panel.summary()));
    QCOMPARE(panel.plot()->graphCount(), 4);
    QCOMPARE(panel.plot()->graph(0)->dataCount(), 90);  // the run's scale
    for (int i = 0; i < 90; ++i)
      QCOMPARE(panel.plot()->graph(1)->data()->at(i)->value,
               panel.plot()->graph(0)->data()->at(i)->value);
    QCOMPARE(panel.plot()->graph(3)->dataCount(), int(recordedSkips));  // predicted skips

    panel.initScaleSlider()->setValue(20);  // as a user drags it
    QCOMPARE(panel.settings().init_scale, std::ldexp(1.0, 20));
    QVERIFY(panel.replay().skipped < recordedSkips);
    QVERIFY(panel.replay().first_difference.has_value());
    QVERIFY2(panel.summary().contains(QStringLiteral("Exact up to step %1")
                                          .arg(*panel.replay().first_difference)),
             qPrintable(panel.summary()));
    QCOMPARE(panel.plot()->itemCount(), 2);  // the line and its label
    const std::int64_t dragged = panel.replay().skipped;
    panel.searchFewestSkips();
    QVERIFY(panel.replay().skipped <= dragged);
    QVERIFY(panel.initScaleSlider()->value() <= 24);
    panel.resetToRunSettings();
    QCOMPARE(panel.replay().skipped, recordedSkips);

    // A run whose initial scale is no power of two: its own settings replay
    // it exactly, until the slider is moved.
    project.training.loss_scale.init_scale = 100000;
    const StoredTraining oddRun = trainInto(db, project);
    QCOMPARE(oddRun.summary.outcome, RunOutcome::Finished);
    const qint64 odd = oddRun.id;
    WhatIfPanel exact;
    QVERIFY2(exact.loadRun(db.toStdString(), odd), qPrintable(exact.message()));
    QCOMPARE(exact.settings().init_scale, 100000.0);
    QVERIFY(!exact.replay().first_difference.has_value());
    exact.initScaleSlider()->setValue(exact.initScaleSlider()->value() - 1);
    QCOMPARE(exact.settings().init_scale, std::ldexp(1.0, exact.initScaleSlider()->value()));

    // A run recorded without the scaler's record (numerics off).
    std::int64_t bare = 0;
    {
      RunStore store(db.toStdString());
      NewRun n;
      n.project_json = project_to_json(project);
      bare = store.create_run(n);
      StepMetrics m;
      m.step = 1;
      store.append_step(bare, m);
      store.set_status(bare, RunStatus::Finished);
    }
    WhatIfPanel none;
    QVERIFY(!none.loadRun(db.toStdString(), bare));
    QVERIFY2(none.message().contains(QStringLiteral("no loss-scaler record")),
             qPrintable(none.message()));
    QVERIFY(!none.isEnabled());
  }

  // Branch to verify from the what-if panel: the settings it shows, as a
  // child run resumed from the run's newest checkpoint before the first
  // differing step; once trained, the panel lists it as verified.
  void whatIfPanelBranchesToVerify() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    Project project = backingOffProject();
    project.training.checkpoint_every = 7;
    // Every checkpoint kept (a run keeps its newest three by default, and a
    // branch needs one before the first differing step).
    const StoredTraining trained = trainInto(db, project, {}, "sawtooth", 20);
    QCOMPARE(trained.summary.outcome, RunOutcome::Finished);
    WhatIfPanel panel;
    QVERIFY2(panel.loadRun(db.toStdString(), trained.id), qPrintable(panel.message()));
    QVERIFY(panel.branchButton()->isEnabled());
    QVERIFY(panel.branchesText().isEmpty());
    panel.growthIntervalBox()->setValue(10);
    QVERIFY(panel.replay().first_difference.has_value());
    QSignalSpy branched(&panel, &WhatIfPanel::branchRequested);
    QTest::mouseClick(panel.branchButton(), Qt::LeftButton);
    QCOMPARE(branched.count(), 1);
    const auto child = branched.front().at(0).value<Project>();
    const auto link = branched.front().at(1).value<RunLink>();
    QCOMPARE(child.training.loss_scale.growth_interval, 10L);
    QCOMPARE(link.parent, std::optional<qint64>(trained.id));
    QVERIFY(link.resume_from.has_value());  // a checkpoint at 7 or 14, before the difference
    QVERIFY(link.scaler_state.has_value());
    // Trained as the studio trains it (TrainingController: the link's
    // resume_from and scaler_state become the request's options).
    TrainRequest request;
    request.project = child;
    request.database = db.toStdString();
    request.new_run = new_run_record(child, *link.name);
    request.new_run.parent_run_id = link.parent;
    request.options.resume_from = link.resume_from;
    request.options.scaler_state = link.scaler_state;
    auto backend = create_backend("cpu");
    struct FirstStep : MetricsSink {
      std::int64_t first = 0;
      void step_recorded(const StepMetrics& m) override {
        if (first == 0) first = m.step;
      }
    } sink;
    TrainControl control;
    QCOMPARE(run_training(request, *backend, sink, control, {}).outcome, RunOutcome::Finished);
    QVERIFY(sink.first > 1);  // resumed, not started over
    QVERIFY(panel.loadRun(db.toStdString(), trained.id));
    QVERIFY2(panel.branchesText().contains(QStringLiteral("as predicted")) &&
                 !panel.branchesText().contains(QStringLiteral("NOT")),
             qPrintable(panel.branchesText()));

    // A bf16 run has no scaler of its own to branch.
    project.training.policy = Policy::MixedBFloat16;
    const StoredTraining bf16 = trainInto(db, project);
    WhatIfPanel other;
    QVERIFY(other.loadRun(db.toStdString(), bf16.id));
    QVERIFY(!other.branchButton()->isEnabled());
    QVERIFY(!other.requestBranch());
  }

  // Divergence from fp32: pure float16 at a small learning rate against a
  // float32 run and its noise twin. The panel picks the twin by its name,
  // draws the run, the twin and the band, marks where the loss leaves it,
  // switches measures, and probes that step on a worker thread: the same
  // loss bits as recorded, every op compared, the culprits on the graph.
  void divergencePanelComparesAndProbes() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    Project project = parseProject(spiralsJson(200), QStringLiteral("tiny.json"));
    project.training.optimizer.lr = 0.01;
    project.training.optimizer.momentum = 0;
    const qint64 reference = trainInto(db, project).id;
    TrainOptions twinOptions;
    twinOptions.noise_twin = true;
    const qint64 twin = trainInto(db, project, twinOptions, "noise twin").id;
    project.training.policy = Policy::Float16;
    const qint64 fp16 = trainInto(db, project).id;

    DivergencePanel panel;
    QSignalSpy probed(&panel, &DivergencePanel::probed);
    QVERIFY2(panel.loadRun(db.toStdString(), fp16), qPrintable(panel.message()));
    QCOMPARE(panel.referenceBox()->currentData().toLongLong(), reference);
    QCOMPARE(panel.twinBox()->currentData().toLongLong(), twin);
    const Divergence& d = panel.divergence();
    QCOMPARE(d.steps.size(), std::size_t(200));
    QVERIFY(d.first_divergent.has_value());
    QVERIFY2(panel.summary().contains(QStringLiteral("leaves the noise band at step %1")
                                          .arg(*d.first_divergent)),
             qPrintable(panel.summary()));
    QCOMPARE(panel.plot()->graphCount(), 3);  // band, twin, run
    QCOMPARE(panel.plot()->graph(2)->dataCount(), 200);
    QCOMPARE(panel.plot()->graph(2)->data()->at(0)->value,
             std::max(d.measures[0].candidate[0], panel.plot()->yAxis->range().lower * 2));
    QCOMPARE(panel.plot()->itemCount(), 2);  // the marker and its label
    panel.setMeasure(QStringLiteral("weights"));
    QCOMPARE(panel.plot()->graph(2)->data()->at(199)->value, d.measure("weights")->candidate[199]);

    QCOMPARE(panel.probeButton()->text(), QStringLiteral("Probe step %1").arg(*d.first_divergent));
    QTest::mouseClick(panel.probeButton(), Qt::LeftButton);
    QVERIFY(probed.wait(30000));
    QVERIFY(panel.lastProbe().has_value());
    const RunProbe& r = *panel.lastProbe();
    QCOMPARE(r.probe.step, *d.first_divergent);
    QVERIFY(r.reproduced);
    QCOMPARE(panel.probeTable()->rowCount(), int(r.probe.ops.size()));
    QVERIFY(r.probe.ops.size() >= 8);
    if (!r.probe.culprits.empty())
      QCOMPARE(panel.canvas()->overflowLayer(), QString::fromStdString(r.probe.culprits.front()));

    // The same run compared with itself as reference: the twin is then the
    // only other choice, and a reference equal to the twin is refused.
    panel.setReference(twin, twin);
    QVERIFY(panel.divergence().steps.empty());

    // A run with nothing to compare with says how to make the references.
    const QString lonely = dir.filePath(QStringLiteral("lonely.db"));
    const qint64 alone = trainInto(lonely, project).id;
    DivergencePanel none;
    QVERIFY(!none.loadRun(lonely.toStdString(), alone));
    QVERIFY2(none.message().contains(QStringLiteral("--noise-twin")), qPrintable(none.message()));
    QVERIFY(!none.probeButton()->isEnabled());
  }

  // The trade-off of three policies of one project: a group each, the
  // frontier, hollow points where the what-if predicts mixed fp16 from the
  // fp32 and bf16 runs' records, and two clicks on points open Compare.
  void tradeoffPanelDrawsGroupsPredictionsAndPicks() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    Project project = parseProject(spiralsJson(40), QStringLiteral("tiny.json"));
    const qint64 fp32 = trainInto(db, project).id;
    project.training.policy = Policy::MixedBFloat16;
    const qint64 bf16 = trainInto(db, project).id;
    project.training.policy = Policy::MixedFloat16;
    const qint64 fp16 = trainInto(db, project).id;

    TradeoffPanel panel;
    panel.resize(900, 700);
    panel.show();
    QVERIFY2(panel.loadDatabase(db.toStdString(), bf16), qPrintable(panel.message()));
    QVERIFY(panel.scopeBox()->currentText().contains(QStringLiteral("tiny-spirals")));
    panel.setAxes(TradeoffAxis::WastedSteps, TradeoffAxis::ValAccuracy);
    const Tradeoff& t = panel.tradeoff();
    QCOMPARE(t.groups.size(), std::size_t(3));
    int hollow = 0;
    for (int i = 0; i < panel.plot()->graphCount(); ++i) {
      QCPGraph* g = panel.plot()->graph(i);
      if (g->name().endsWith(QStringLiteral("(predicted)"))) {
        QCOMPARE(g->scatterStyle().brush().style(), Qt::NoBrush);
        hollow += g->dataCount();
      }
    }
    // From the fp32 and bf16 records (fp16 at their accuracy), and the fp16
    // run's own fewest-skips scaler.
    QCOMPARE(hollow, 3);
    // The table: a row per group and per prediction.
    QCOMPARE(panel.table()->rowCount(), 3 + 3);

    // Two points clicked: the runs open in Compare.
    QSignalSpy compare(&panel, &TradeoffPanel::compareRequested);
    panel.setAxes(TradeoffAxis::Divergence, TradeoffAxis::ValAccuracy);
    for (const TradeoffGroup& g : panel.tradeoff().groups)
      if (g.label == "float32") QCOMPARE(g.x, 0.0);
    panel.plot()->replot();
    const auto a = panel.pixelOf(fp32), b = panel.pixelOf(fp16);
    QVERIFY(a && b);
    QCOMPARE(panel.runAt(*a), fp32);
    QTest::mouseClick(panel.plot(), Qt::LeftButton, {}, a->toPoint());
    QCOMPARE(panel.pickedRun(), fp32);
    QTest::mouseClick(panel.plot(), Qt::LeftButton, {}, b->toPoint());
    QCOMPARE(compare.count(), 1);
    QCOMPARE(compare.front().front().value<QVector<qint64>>(), (QVector<qint64>{fp32, fp16}));

    TradeoffPanel empty;
    const QString none = dir.filePath(QStringLiteral("none.db"));
    QVERIFY(!empty.loadDatabase(none.toStdString()));
    QVERIFY(empty.message().contains(QStringLiteral("no runs")));
  }

  // A run in progress: the view reads the steps stored since, follows the
  // newest while its slider is there, stays put when the user scrubbed back,
  // and stops reading once the run has ended.
  void rangeViewFollowsARunInProgress() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    Project project = parseProject(spiralsJson(16, QStringLiteral("mixed_float16")),
                                   QStringLiteral("tiny.json"));
    project.training.numerics.sample_every = 4;
    std::vector<NumericsSlot> tensorSlots;
    std::vector<NumericsSample> samples;
    {
      RunStore store(db.toStdString());
      RunRecorder recorder(store, NewRun{});
      auto backend = create_backend("cpu");
      Trainer trainer(project, *backend);
      TrainControl control;
      QCOMPARE(trainer.run(recorder, control).outcome, RunOutcome::Finished);
      tensorSlots = store.numerics_slots(recorder.run_id());
      for (const auto& st : store.numerics_steps(recorder.run_id()))
        samples.push_back(*store.numerics_sample(recorder.run_id(), st.step));
    }
    QCOMPARE(samples.size(), std::size_t(4));  // steps 4, 8, 12, 16
    RunStore writer(db.toStdString());
    const std::int64_t id = writer.create_run(NewRun{});
    writer.set_numerics_slots(id, tensorSlots);
    writer.append_numerics(id, samples[0]);
    writer.flush();

    RangeView view;
    view.openLive(db.toStdString(), id, 20);
    QVERIFY(view.isLive());
    QCOMPARE(view.stepCount(), 1);
    QCOMPARE(view.shownStep(), std::int64_t(4));
    writer.append_numerics(id, samples[1]);
    writer.flush();
    QTRY_COMPARE(view.stepCount(), 2);
    QCOMPARE(view.shownStep(), std::int64_t(8));  // followed
    QCOMPARE(view.heatmap()->columns(), 2);
    view.slider()->setValue(0);
    writer.append_numerics(id, samples[2]);
    writer.flush();
    QTRY_COMPARE(view.stepCount(), 3);
    QCOMPARE(view.shownStep(), std::int64_t(4));  // scrubbed back: stays
    QCOMPARE(view.slider()->maximum(), 2);
    writer.append_numerics(id, samples[3]);
    writer.set_status(id, RunStatus::Finished);
    QTRY_VERIFY(!view.isLive());
    QCOMPARE(view.stepCount(), 4);  // the last steps read as it stopped

    // Opened before anything is stored: it says it waits, then shows the first.
    const std::int64_t early = writer.create_run(NewRun{});
    RangeView waiting;
    waiting.openLive(db.toStdString(), early, 20);
    QVERIFY2(waiting.title().contains(QStringLiteral("waiting")), qPrintable(waiting.title()));
    writer.set_numerics_slots(early, tensorSlots);
    writer.append_numerics(early, samples[0]);
    writer.flush();
    QTRY_COMPARE(waiting.stepCount(), 1);
    QCOMPARE(waiting.shownStep(), std::int64_t(4));
    QCOMPARE(waiting.strips(), int(tensorSlots.size()));
  }

  void rangeViewShowsEveryTensorOfAStoredStep() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    Project project = parseProject(spiralsJson(12, QStringLiteral("mixed_float16")),
                                   QStringLiteral("tiny.json"));
    project.training.numerics.sample_every = 4;
    qint64 id = 0;
    std::size_t slotCount = 0;
    {
      RunStore store(db.toStdString());
      NewRun n;
      n.name = "numerics";
      n.project_name = project.name;
      RunRecorder recorder(store, n);
      auto backend = create_backend("cpu");
      Trainer trainer(project, *backend);
      slotCount = trainer.graph().numerics_slots().size();
      TrainControl control;
      QCOMPARE(trainer.run(recorder, control).outcome, RunOutcome::Finished);
      id = recorder.run_id();
    }
    RangeView view;
    QVERIFY2(view.loadRun(db.toStdString(), id), qPrintable(view.message()));
    QCOMPARE(view.stepCount(), 3);  // steps 4, 8 and 12
    QCOMPARE(view.shownStep(), std::int64_t(12));
    QCOMPARE(view.strips(), int(slotCount));
    QVERIFY2(view.title().contains(QStringLiteral("step 12 (sampled")), qPrintable(view.title()));
    QVERIFY2(view.title().contains(QStringLiteral("binades")), qPrintable(view.title()));
    // Forward and backward boxes together: one per tensor with a non-zero value.
    int boxes = 0;
    for (int i = 0; i < view.plot()->plottableCount(); ++i)
      if (auto* b = qobject_cast<QCPStatisticalBox*>(view.plot()->plottable(i)))
        boxes += b->data()->size();
    QVERIFY(boxes >= int(slotCount) - 2 && boxes <= int(slotCount));
    view.slider()->setValue(0);
    QCOMPARE(view.shownStep(), std::int64_t(4));
    QVERIFY(view.title().contains(QStringLiteral("step 4 ")));
    // A run without numerics says so.
    RangeView none;
    QVERIFY(!none.loadRun(db.toStdString(), id + 100));
    QVERIFY(none.message().contains(QString::number(id + 100)));

    // The heatmap: a row per tensor, a column per stored step; each cell is
    // the metric of that step's stored statistics, and the metric box
    // switches what is drawn. A click on a cell moves the slider there.
    NumericsHeatmap* heat = view.heatmap();
    QCOMPARE(heat->rows(), int(slotCount));
    QCOMPARE(heat->columns(), 3);
    std::vector<NumericsSample> stored;
    {
      RunStore store(db.toStdString(), StoreOptions::reading());
      for (const auto& st : store.numerics_steps(id)) stored.push_back(*store.numerics_sample(id, st.step));
    }
    for (NumericsMetric m : kNumericsMetrics) {
      heat->metricBox()->setCurrentIndex(heat->metricBox()->findData(
          QString::fromUtf8(metric_key(m).data(), int(metric_key(m).size()))));
      QCOMPARE(heat->metric(), m);
      for (int c = 0; c < 3; ++c)
        for (int r = 0; r < heat->rows(); ++r)
          QCOMPARE(heat->cell(r, c), metric_value(stored[std::size_t(c)].stats[std::size_t(r)], m));
    }
    heat->setMetric(NumericsMetric::Headroom);
    QVERIFY(heat->cell(0, 2).has_value());  // a 16-bit weight copy holds non-zero values
    QVERIFY(heat->describe(0, 2).contains(QStringLiteral("step 12")));
    QVERIFY(heat->describe(0, 2).contains(QStringLiteral("headroom")));
    QSignalSpy chosen(heat, &NumericsHeatmap::stepChosen);
    view.resize(1000, 800);
    view.show();
    view.tabs()->setCurrentWidget(heat);
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    heat->plot()->replot();
    const double px = heat->plot()->xAxis->coordToPixel(1), py = heat->plot()->yAxis->coordToPixel(-1);
    QTest::mouseClick(heat->plot(), Qt::LeftButton, {}, QPoint(int(px), int(py)));
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(chosen.front().front().toInt(), 1);
    QCOMPARE(view.shownStep(), std::int64_t(8));

    // The same tensor across runs: a bf16 run of the same project beside
    // the fp16 one. Each curve is a share per bin (sums to 1); gradients are
    // shifted back by log2 of their step's loss scale.
    qint64 bf16 = 0;
    {
      Project other = parseProject(spiralsJson(12, QStringLiteral("mixed_bfloat16")),
                                   QStringLiteral("tiny.json"));
      other.training.numerics.sample_every = 4;
      RunStore store(db.toStdString());
      NewRun n;
      n.name = "bf16";
      n.project_name = project.name;
      RunRecorder recorder(store, n);
      auto backend = create_backend("cpu");
      Trainer trainer(other, *backend);
      TrainControl control;
      QCOMPARE(trainer.run(recorder, control).outcome, RunOutcome::Finished);
      bf16 = recorder.run_id();
    }
    RangeView both;
    QVERIFY(both.loadRun(db.toStdString(), id));
    HistogramOverlay* overlay = both.overlay();
    QCOMPARE(overlay->runList()->count(), 2);
    QCOMPARE(overlay->checkedRuns().size(), 2);
    std::vector<NumericsSlot> slotList;
    {
      RunStore store(db.toStdString(), StoreOptions::reading());
      slotList = store.numerics_slots(id);
    }
    const auto gradSlot = std::find_if(slotList.begin(), slotList.end(), [](const NumericsSlot& sl) {
      return sl.role == TensorRole::WeightGrad;
    });
    QVERIFY(gradSlot != slotList.end());
    overlay->setTensor(QString::fromStdString(gradSlot->label()));
    QCOMPARE(overlay->curves(), 2);
    for (const auto& curve : overlay->shown()) {
      double sum = 0;
      for (double v : curve.share) sum += v;
      QVERIFY(std::abs(sum - 1.0) < 1e-9);
      QCOMPARE(curve.step, std::int64_t(12));  // the slider's step, in both runs
    }
    const auto& fp16Curve = overlay->shown()[overlay->shown()[0].run == id ? 0 : 1];
    const auto& bf16Curve = overlay->shown()[overlay->shown()[0].run == bf16 ? 0 : 1];
    QCOMPARE(fp16Curve.shift, std::log2(stored.back().scale));
    QVERIFY(fp16Curve.shift > 0);
    QCOMPARE(bf16Curve.shift, 0.0);
    overlay->setUnscaled(false);
    QCOMPARE(overlay->shown()[0].shift, 0.0);
    overlay->setRuns({bf16});
    QCOMPARE(overlay->curves(), 1);
    QCOMPARE(overlay->shown()[0].run, bf16);
  }

  // A run of a byte-level language model (untrained: its checkpoint is its
  // start) continues a prompt in the Sample panel, on a worker thread; the
  // text is what `mantissa sample` gives for the same seed.
  void samplePanelContinuesAPrompt() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    const QString text = writeFile(dir, QStringLiteral("corpus.txt"),
                                   QStringLiteral("the cat sat on the mat. ").repeated(20));
    const QString json = QStringLiteral(R"({"format": "mantissa-project", "version": 1,
      "name": "tiny-lm", "dataset": {"kind": "text", "path": "%1", "context": 8},
      "model": {"nodes": [
        {"id": "in", "type": "Input", "params": {"shape": [8], "tokens": true}},
        {"id": "embed", "type": "Embedding", "inputs": ["in"], "params": {"vocab": 256, "width": 8}},
        {"id": "attn", "type": "MultiHeadAttention", "inputs": ["embed"], "params": {"heads": 2}},
        {"id": "head", "type": "Linear", "inputs": ["attn"], "params": {"out_features": 256}},
        {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]},
      "training": {"steps": 1, "batch_size": 4}})")
                             .arg(text);
    const qint64 id = storeUntrainedRun(
        db, json, parseProject(json, dir.filePath(QStringLiteral("lm.json"))));
    SamplePanel panel;
    QSignalSpy done(&panel, &SamplePanel::finished);
    panel.generate();  // no run chosen yet: says so, starts nothing
    QVERIFY(panel.status()->text().contains(QStringLiteral("Select a run")));
    QCOMPARE(done.count(), 0);
    panel.setRun(db, id);
    panel.promptEdit()->setText(QStringLiteral("the "));
    QTest::mouseClick(panel.generateButton(), Qt::LeftButton);
    QVERIFY(!panel.generateButton()->isEnabled());
    QVERIFY(done.wait(20000));
    QVERIFY2(panel.status()->text().contains(QStringLiteral("at step 0")),
             qPrintable(panel.status()->text()));
    RunStore store(db.toStdString(), StoreOptions::reading());
    SampleOptions options;
    options.prompt = "the ";
    options.tokens = 300;
    options.temperature = 0.8;
    const SampleResult expected = sample_run(store, id, options);
    // The bytes as generated, shown after the prompt decoded as UTF-8 (an
    // untrained model's bytes that are no UTF-8 show as replacement characters).
    QCOMPARE(panel.generatedBytes(), QByteArray::fromStdString(expected.text));
    QVERIFY(panel.output()->toPlainText().startsWith(QStringLiteral("the ")));
    QVERIFY(panel.output()->toPlainText().size() > 4 + 100);
    QVERIFY(panel.generateButton()->isEnabled());
  }

  void sampleRefusesAModelThatIsNoLanguageModel() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    const QString json = spiralsJson(5);
    const qint64 id = storeUntrainedRun(db, json, parseProject(json, QStringLiteral("tiny.json")));
    SamplePanel panel;
    QSignalSpy done(&panel, &SamplePanel::finished);
    panel.setRun(db, id);
    panel.generate();
    QVERIFY(done.wait(20000));
    QVERIFY2(panel.status()->text().contains(
                 QStringLiteral("is not a language model: its input is not token ids")),
             qPrintable(panel.status()->text()));
  }

  // Right-clicking a run in History offers the Data menu's run actions too
  // (evaluate, numerics, what-if, divergence, advice, sample), on that run.
  void aRunsContextMenuOffersTheRunActions() {
    QTemporaryDir dir;
    StudioOptions o = studioIn(dir);
    const QString json = spiralsJson(5);
    const qint64 id =
        storeUntrainedRun(o.databasePath, json, parseProject(json, QStringLiteral("tiny.json")));
    MainWindow w(o);
    auto* history = w.findChild<HistoryPage*>();
    QVERIFY(history);
    history->reload();
    QTRY_COMPARE(history->proxy()->rowCount(), 1);  // read on the run library's worker
    QStringList texts;
    QAction* sample = nullptr;
    for (QAction* a : history->contextActions(0)) {
      if (a->isSeparator()) continue;
      texts << a->text();
      if (a->objectName() == QStringLiteral("sampleRunAction")) sample = a;
    }
    for (const char* wanted : {"Open", "Rename…", "Export weights…", "&Evaluate Selected Run",
                               "&Numerics of Selected Run…", "&Advice for Selected Run…",
                               "&Sample From Selected Run…", "Delete"})
      QVERIFY2(texts.contains(QString::fromUtf8(wanted)), qPrintable(texts.join(" | ")));
    QCOMPARE(history->selectedRunIds(), QVector<qint64>{id});
    QVERIFY(sample);
    sample->trigger();
    auto* panel = w.findChild<SamplePanel*>(QStringLiteral("samplePanel"));
    QVERIFY(panel);
    QCOMPARE(panel->window()->windowTitle(), QStringLiteral("Sample from run %1").arg(id));
  }

  void runWithoutCheckpointFails() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    qint64 id = 0;
    {
      RunStore store(db.toStdString());
      NewRun n;
      n.name = "empty";
      n.project_json = spiralsJson(5).toStdString();
      n.policy = "float32";
      n.backend = "cpu";
      id = store.create_run(n);
    }
    EvaluationView view;
    QSignalSpy failed(&view, &EvaluationView::failed);
    view.evaluateRun(db, id);
    QVERIFY(failed.wait(10000));
    QVERIFY(view.errorText().contains(QStringLiteral("no checkpoint")));
  }
};

}  // namespace

int runRunPanelsTests(int argc, char** argv) {
  RunPanelsTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "RunPanelsTest.moc"
