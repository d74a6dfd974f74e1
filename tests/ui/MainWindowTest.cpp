// The main window with a temporary database and settings: training from the
// toolbar fills every plot and is recorded; skipped steps are marked; errors
// stay inline and the window stays usable; settings edits are undoable.
#include <qcustomplot.h>

#include <QPushButton>
#include <QSet>
#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QLineEdit>
#include <QListWidget>
#include <QTreeWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QProgressBar>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QScrollArea>
#include <QScrollBar>
#include <QWheelEvent>
#include <QApplication>
#include <QTest>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>

#include "AdvicePanel.hpp"
#include "RunTableModel.hpp"
#include "ConnectDialog.hpp"
#include "EventLog.hpp"
#include "LayerPalette.hpp"
#include "InlineMessage.hpp"
#include "HistoryPage.hpp"
#include "LivePlots.hpp"
#include "MainWindow.hpp"
#include "MainWindowFixture.hpp"
#include "LayerNode.hpp"
#include "ModelCanvas.hpp"
#include "Format.hpp"
#include "ModelSummaryView.hpp"
#include "StudioSettings.hpp"
#include "ModelTable.hpp"
#include "PolicySelector.hpp"
#include "ProjectDocument.hpp"
#include "RunStatusBar.hpp"
#include "TestSupport.hpp"
#include "TrainingSettingsForm.hpp"
#include "mantissa/store.hpp"
#include "services/TrainingController.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;
using Series = LivePlots::Series;

class MainWindowTest : public MainWindowFixture {
  Q_OBJECT

 private slots:
  void trainingFromTheToolbarFillsEveryPlot() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCOMPARE(w.document()->displayName(), QStringLiteral("tiny-spirals"));
    QVERIFY(w.trainAction()->isEnabled());
    QVERIFY(!w.stopAction()->isEnabled());

    w.trainAction()->trigger();
    QVERIFY(!w.trainAction()->isEnabled());
    QVERIFY(w.stopAction()->isEnabled());
    QCOMPARE(w.tabs()->currentIndex(), 1);  // the Training tab
    QTRY_VERIFY_WITH_TIMEOUT(logHas(w, QStringLiteral("finished")), kRunTimeoutMs);
    QTRY_VERIFY(idle(w));

    LivePlots* plots = w.livePlots();
    QCOMPARE(plots->pointCount(Series::TrainLoss), 60);
    QVERIFY(plots->pointCount(Series::ValidationLoss) > 0);
    QVERIFY(plots->pointCount(Series::LossScale) > 0);
    QVERIFY(plots->pointCount(Series::MemoryInUse) > 0);
    QVERIFY(plots->pointCount(Series::MemoryPeak) > 0);
    QVERIFY(plots->pointCount(Series::Throughput) > 0);
    QCOMPARE(plots->pointCount(Series::SkippedMarkers), 0);  // fp32 never skips
    QVERIFY2(w.runStatus()->text().contains(QStringLiteral("step 60/60")),
             qPrintable(w.runStatus()->text()));
    QCOMPARE(w.runStatus()->progressBar()->value(), w.runStatus()->progressBar()->maximum());
    QVERIFY(w.trainAction()->isEnabled());
    QVERIFY(!w.messageBar()->isVisible());

    RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
    const RunRecord rec = store.require_run(w.controller()->currentRunId());
    QCOMPARE(rec.status, RunStatus::Finished);
    QCOMPARE(rec.project_name, std::string("tiny-spirals"));
    QCOMPARE(rec.steps_recorded, qint64(60));

    // The run opened in History, under a long name, in a 1400×900 window: no
    // page scrolls sideways; the header gives way, cut at its end.
    w.resize(1400, 900);
    auto* history = w.findChild<HistoryPage*>();
    QVERIFY(history);
    // History reads the finished run on a worker: rename once its row is there.
    QTRY_VERIFY(history->renameRun(rec.id, QStringLiteral("a run with a name far longer than any "
                                                           "header has room for, fp16 baseline v2")));
    QVERIFY(history->openRun(rec.id));
    QTRY_VERIFY(history->runPlots()->pointCount(Series::TrainLoss) == 60);  // read on a worker
    QTRY_VERIFY(history->openedRunTitle().contains(QStringLiteral("a run with")));
    for (int page = 0; page < w.tabs()->count(); ++page) {
      w.tabs()->setCurrentIndex(page);
      auto* area = qobject_cast<QScrollArea*>(w.tabs()->currentWidget());
      QVERIFY(area);
      QTRY_COMPARE(area->horizontalScrollBar()->maximum(), 0);
    }
  }

  void skippedStepsAreMarkedAndLogged() {
    MainWindow w(
        options(project(QStringLiteral("fp16.json"),
                        spiralsJson(40, QStringLiteral("mixed_float16"), overflowingScale()))));
    w.show();
    w.startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w) && logHas(w, QStringLiteral("finished")), kRunTimeoutMs);
    LivePlots* plots = w.livePlots();
    const int markers = plots->pointCount(Series::SkippedMarkers);
    QVERIFY(markers > 0);
    auto totals = plots->graph(Series::SkippedTotal)->data();
    QCOMPARE(int(totals->at(totals->size() - 1)->value), markers);
    // The first step ran at the initial scale and was skipped.
    QCOMPARE(plots->graph(Series::SkippedMarkers)->data()->at(0)->key, 1.0);
    QCOMPARE(plots->graph(Series::SkippedMarkers)->data()->at(0)->value, 16777216.0);
    QVERIFY(logHas(w, QStringLiteral("step 1 skipped: non-finite value in")));
    QVERIFY(w.runStatus()->text().contains(QStringLiteral("skipped %1").arg(markers)));
    // The step was traced: the sentence is in the log, and the layer where it
    // first went non-finite is marked on the canvas (at 2^24 only the scaled
    // gradients overflow: scale-induced).
    QVERIFY(logHas(w, QStringLiteral("was the first to go non-finite")));
    QVERIFY(logHas(w, QStringLiteral("the overflow is scale-induced")));
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas);
    QVERIFY(!canvas->overflowLayer().isEmpty());
    LayerNode* origin = canvas->node(canvas->overflowLayer());
    QVERIFY(origin);
    QCOMPARE(origin->overflow(), LayerNode::Overflow::Origin);
    QVERIFY2(origin->toolTip().contains(QStringLiteral("overflowed first")),
             qPrintable(origin->toolTip()));
    // ... and on the loss-scale plot: a diamond on the scale curve at the
    // traced step, whose read-out carries the sentence.
    const int traced = plots->pointCount(Series::TracedEvents);
    QVERIFY(traced >= 1);
    QVERIFY(traced <= markers);
    QCOMPARE(plots->graph(Series::TracedEvents)->data()->at(0)->key, 1.0);
    QCOMPARE(plots->graph(Series::TracedEvents)->data()->at(0)->value, 16777216.0);
    QCOMPARE(plots->showReadoutAt(1.0), qint64(1));
    QVERIFY2(plots->readoutText(LivePlots::Panel::Scale).contains(
                 QStringLiteral("was the first to go non-finite")),
             qPrintable(plots->readoutText(LivePlots::Panel::Scale)));
    QSet<qint64> tracedSteps;
    for (int k = 0; k < traced; ++k)
      tracedSteps.insert(qint64(plots->graph(Series::TracedEvents)->data()->at(k)->key));
    qint64 plain = 1;
    while (tracedSteps.contains(plain)) ++plain;
    QCOMPARE(plots->showReadoutAt(double(plain)), plain);
    QVERIFY(!plots->readoutText(LivePlots::Panel::Scale).contains(QStringLiteral("non-finite")));

    // The stored run in History shows the same: the markers, the card, and
    // the layer on a read-only graph of the run's model.
    auto* history = w.findChild<HistoryPage*>();
    QVERIFY(history);
    QTRY_VERIFY(history->openRun(w.controller()->currentRunId()));
    QTRY_VERIFY(history->openedRunId() == w.controller()->currentRunId());
    QCOMPARE(history->runPlots()->pointCount(Series::TracedEvents), traced);
    QVERIFY(history->eventCard()->isVisibleTo(history));
    QVERIFY2(history->eventCard()->text().contains(QStringLiteral("scale-induced")),
             qPrintable(history->eventCard()->text()));
    ModelCanvas* graph = history->runGraph();
    QCOMPARE(graph->overflowLayer(), canvas->overflowLayer());
    QCOMPARE(graph->node(graph->overflowLayer())->overflow(), LayerNode::Overflow::Origin);
    const int layers = graph->nodeCount();
    QVERIFY(layers > 0);
    QVERIFY(graph->isReadOnly());
    QVERIFY(!graph->removeLayer(graph->overflowLayer()));
    QCOMPARE(graph->nodeCount(), layers);
  }

  // Data ▸ Advice for Selected Run on a run that skipped its first steps:
  // the early-skips finding, and its fix started with one click as a new
  // run linked to it, named and annotated, that skips less.
  void adviceTriesAFixAsALinkedRun() {
    MainWindow w(options(project(
        QStringLiteral("fp16.json"),
        spiralsJson(40, QStringLiteral("mixed_float16"),
                    QStringLiteral(R"("loss_scale": {"mode": "dynamic", "init_scale": 1073741824}, )")))));
    w.show();
    w.startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w) && logHas(w, QStringLiteral("finished")), kRunTimeoutMs);
    const qint64 parent = w.controller()->currentRunId();
    auto* history = w.findChild<HistoryPage*>();
    QTRY_VERIFY(history->model()->rowOfRun(parent) >= 0);  // read on a worker
    history->selectRuns({parent});
    auto* action = w.findChild<QAction*>(QStringLiteral("adviceAction"));
    QVERIFY(action);
    action->trigger();
    auto* panel = w.findChild<AdvicePanel*>();
    QVERIFY(panel);
    QVERIFY2(panel->message().isEmpty(), qPrintable(panel->message()));
    QVERIFY(!panel->findings().empty());
    QCOMPARE(panel->findings().front().rule, std::string("early-skips"));
    QPushButton* button = panel->fixButton(0, 0);
    QVERIFY(button);
    QVERIFY(button->text().startsWith(QStringLiteral("Try: start the loss scale at 2^")));
    QTest::mouseClick(button, Qt::LeftButton);
    QTRY_VERIFY(w.controller()->currentRunId() > parent);
    QVERIFY2(w.livePlots()->runLabelText().contains(QStringLiteral("+ start the loss scale at")),
             qPrintable(w.livePlots()->runLabelText()));
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunTimeoutMs);
    const qint64 child = w.controller()->currentRunId();
    RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
    const RunRecord rec = store.require_run(child);
    QCOMPARE(rec.parent_run_id, std::optional<std::int64_t>(parent));
    QVERIFY2(rec.name.find("+ start the loss scale at") != std::string::npos, rec.name.c_str());
    QVERIFY2(rec.notes.find("[early-skips]") != std::string::npos, rec.notes.c_str());
    std::int64_t parentSkips = 0, childSkips = 0;
    for (const StepMetrics& m : store.step_metrics(parent)) parentSkips += m.skipped;
    for (const StepMetrics& m : store.step_metrics(child)) childSkips += m.skipped;
    QCOMPARE(std::int64_t(store.step_metrics(child).size()), std::int64_t(40));
    QVERIFY2(childSkips < parentSkips,
             qPrintable(QStringLiteral("%1 against %2").arg(childSkips).arg(parentSkips)));

    // The fix is a trial of the run: listed against its control, accepted
    // with one click, and cited when the same fix is offered again.
    AdvicePanel again;
    QVERIFY(again.loadRun(dir_.filePath(QStringLiteral("runs.db")).toStdString(), parent));
    QCOMPARE(again.trials().size(), std::size_t(1));
    QCOMPARE(again.trials().front().run_id, child);
    QPushButton* accept = again.decideButton(child, true);
    QVERIFY(accept);
    QTest::mouseClick(accept, Qt::LeftButton);
    QCOMPARE(again.trials().front().decision, std::string("accepted"));
    QVERIFY(!again.decideButton(child, true));  // decided: no more buttons
    QVERIFY2(again.findings().front().fixes.front().why.find("Tried before here: accepted for run " +
                                                             std::to_string(child)) !=
                 std::string::npos,
             again.findings().front().fixes.front().why.c_str());
    QCOMPARE(store.fix_trials(parent).front().decision, std::string("accepted"));
  }

  void badDatasetShowsAnInlineErrorAndTheWindowStaysUsable() {
    const QString bad =
        project(QStringLiteral("bad.json"),
                spiralsJson(60, QStringLiteral("float32"), QString(), missingCsvDataset()));
    MainWindow w(options(bad));
    w.show();
    QVERIFY(w.document()->summary().has_value());  // the model itself is fine
    w.trainAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(w.messageBar()->isVisible(), kRunTimeoutMs);
    QVERIFY2(w.messageBar()->text().contains(QStringLiteral("missing-data.csv")),
             qPrintable(w.messageBar()->text()));
    QCOMPARE(w.messageBar()->level(), InlineMessage::Level::Error);
    QVERIFY(logHas(w, QStringLiteral("missing-data.csv")));
    QTRY_VERIFY(idle(w));
    QVERIFY(w.isVisible());
    QVERIFY(w.trainAction()->isEnabled());

    QVERIFY(w.openProject(project(QStringLiteral("good.json"), spiralsJson(25))));
    QVERIFY(!w.messageBar()->isVisible());
    w.trainAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w) && w.livePlots()->pointCount(Series::TrainLoss) == 25,
                             kRunTimeoutMs);
  }

  void aFileThatDoesNotOpenIsReportedInline() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    QVERIFY(!w.openProject(dir_.filePath(QStringLiteral("nothing-here.json"))));
    QVERIFY(w.messageBar()->text().contains(QStringLiteral("nothing-here.json")));
    QCOMPARE(w.document()->displayName(), QStringLiteral("tiny-spirals"));
  }

  // The loss plot's smoothing and log axis are how the user left them.
  void lossPlotControlsAreRemembered() {
    const QString file = project(QStringLiteral("spirals.json"), spiralsJson(60));
    {
      MainWindow w(options(file));
      w.show();
      QVERIFY(QTest::qWaitForWindowExposed(&w));
      w.tabs()->setCurrentIndex(1);
      LivePlots* plots = w.livePlots();
      QCOMPARE(plots->smoothing(), 0.6);
      QVERIFY(!plots->logLoss());
      QTest::mouseClick(plots->logLossBox(), Qt::LeftButton);
      QDoubleSpinBox* spin = plots->smoothingSpinBox();
      spin->setFocus();
      spin->selectAll();
      QTest::keyClicks(spin, QStringLiteral("0.9"));
      QTest::keyClick(spin, Qt::Key_Return);
      QCOMPARE(plots->smoothing(), 0.9);
    }
    MainWindow again(options(file));
    QVERIFY(again.livePlots()->logLoss());
    QCOMPARE(again.livePlots()->smoothing(), 0.9);
  }

  // Saved without an extension: written as .json (so File ▸ Open's filter
  // shows it), the title and the recent files follow.
  void savingWithoutAnExtensionAddsIt() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    const QString bare = dir_.filePath(QStringLiteral("cnn"));
    QVERIFY(w.saveProjectAs(bare));
    QVERIFY(QFileInfo::exists(bare + QStringLiteral(".json")));
    QVERIFY(!QFileInfo::exists(bare));
    QCOMPARE(w.document()->filePath(), bare + QStringLiteral(".json"));
    QVERIFY(!w.isWindowModified());
    QVERIFY(w.windowTitle().contains(w.document()->displayName()));
    QCOMPARE(StudioSettings(dir_.filePath(QStringLiteral("studio.ini"))).recentFiles().value(0), bare + QStringLiteral(".json"));
  }

  void trainPauseResumeAndStopFromKeysAndToolbar() {
    MainWindow w(options(project(QStringLiteral("long.json"), spiralsJson(5'000'000))));
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QTest::keyClick(&w, Qt::Key_Return, Qt::ControlModifier);  // Train
    QVERIFY(w.controller()->isBusy());
    QTRY_VERIFY_WITH_TIMEOUT(w.livePlots()->stepCount() > 0, kRunTimeoutMs);
    w.pauseAction()->trigger();
    QCOMPARE(w.controller()->state(), TrainingController::State::Paused);
    QVERIFY(w.pauseAction()->isChecked());
    QCOMPARE(w.pauseAction()->text(), QStringLiteral("Resume"));
    w.pauseAction()->trigger();
    QCOMPARE(w.controller()->state(), TrainingController::State::Running);
    QTest::keyClick(&w, Qt::Key_Period, Qt::ControlModifier);  // Stop
    QCOMPARE(w.controller()->state(), TrainingController::State::Stopping);
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunTimeoutMs);
    QVERIFY(logHas(w, QStringLiteral("stopped at step")));
    QVERIFY(w.runStatus()->text().contains(QStringLiteral("stopped")));
    RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
    QCOMPARE(store.require_run(w.controller()->currentRunId()).status, RunStatus::Stopped);
  }

  void settingsEditsGoThroughUndo() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    TrainingSettingsForm* form = w.settingsForm();
    QCOMPARE(form->batchSizeBox()->value(), 32);
    form->batchSizeBox()->setValue(64);
    QCOMPARE(w.document()->training().batch_size, qint64(64));
    QVERIFY(w.isWindowModified());
    w.undoAction()->trigger();
    QCOMPARE(w.document()->training().batch_size, qint64(32));
    QCOMPARE(form->batchSizeBox()->value(), 32);
    QVERIFY(!w.isWindowModified());
    w.redoAction()->trigger();
    QCOMPARE(form->batchSizeBox()->value(), 64);
    // Batch shards (virtual ranks): 1 reads as the whole batch.
    QCOMPARE(form->virtualRanksBox()->text(), QStringLiteral("whole batch"));
    form->virtualRanksBox()->setValue(4);
    QCOMPARE(w.document()->training().virtual_ranks, 4);
    w.undoAction()->trigger();
    QCOMPARE(w.document()->training().virtual_ranks, 1);
    // Synchronised BatchNorm: off until asked for, and undoable.
    QVERIFY(!form->syncBatchNormBox()->isChecked());
    form->syncBatchNormBox()->click();
    QVERIFY(w.document()->training().sync_batch_norm);
    w.undoAction()->trigger();
    QVERIFY(!w.document()->training().sync_batch_norm);
    QVERIFY(!form->syncBatchNormBox()->isChecked());

    // Policy from the toolbar: fp16 turns the dynamic scaler on by default,
    // bf16 leaves it off until asked for.
    w.policySelector()->button(PolicySelector::Family::FP16)->click();
    QCOMPARE(w.document()->training().policy, Policy::MixedFloat16);
    QVERIFY(form->initScaleBox()->isEnabled());
    QVERIFY(form->growthIntervalBox()->isEnabled());
    QVERIFY(form->lossScaleModeBox()->itemText(0).contains(QStringLiteral("dynamic")));
    w.policySelector()->button(PolicySelector::Family::BF16)->click();
    QCOMPARE(w.document()->training().policy, Policy::MixedBFloat16);
    QVERIFY(!form->initScaleBox()->isEnabled());
    QVERIFY(!form->growthIntervalBox()->isEnabled());
    form->lossScaleModeBox()->setCurrentIndex(
        form->lossScaleModeBox()->findText(QStringLiteral("Fixed")));
    QVERIFY(form->initScaleBox()->isEnabled());
    QVERIFY(!form->growthIntervalBox()->isEnabled());
    form->pureBox()->setChecked(true);
    QCOMPARE(w.document()->training().policy, Policy::BFloat16);
    QCOMPARE(w.policySelector()->family(), PolicySelector::Family::BF16);
    w.undoAction()->trigger();  // pure
    w.undoAction()->trigger();  // fixed
    w.undoAction()->trigger();  // bf16
    QCOMPARE(w.document()->training().policy, Policy::MixedFloat16);
    QCOMPARE(w.policySelector()->family(), PolicySelector::Family::FP16);
    // SGD-only momentum is disabled under AdamW.
    form->optimizerBox()->setCurrentIndex(1);
    QCOMPARE(w.document()->training().optimizer.kind, OptimizerKind::AdamW);
    QVERIFY(!form->momentumBox()->isEnabled());
  }

  void inspectorAndModelTabDescribeTheProject() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    QCOMPARE(w.modelSummary()->paramsText(), QStringLiteral("82"));
    // Activation memory: a training step's peak, as the engine estimates it.
    const ModelDiagnosis& whole = w.document()->diagnosis();
    for (int i = 0; i < 3; ++i) {
      QVERIFY(whole.training_activation_bytes[std::size_t(i)] > 0);
      QCOMPARE(w.modelSummary()->activationText(i, false),
               formatBytes(double(whole.training_activation_bytes[std::size_t(i)])));
    }
    QCOMPARE(w.modelTable()->table()->rowCount(), 5);
    QCOMPARE(w.modelTable()->table()->item(1, 0)->text(), QStringLiteral("fc1"));
    QCOMPARE(w.modelTable()->table()->item(1, 3)->text(), QStringLiteral("16"));
    // What each layer keeps for the backward pass, a shared tensor counted
    // once: the Tanh keeps its 16 outputs, fc2 reads that same tensor.
    QCOMPARE(w.modelTable()->table()->horizontalHeaderItem(7)->text(),
             QStringLiteral("Kept for backward / sample"));
    QCOMPARE(w.modelTable()->table()->item(2, 7)->text(), formatBytes(16 * 4));
    QCOMPARE(w.modelTable()->table()->item(3, 7)->text(), formatBytes(0));
    QVERIFY(w.deviceBox()->count() >= 1);
    QCOMPARE(w.deviceBox()->itemData(0).toString(), QStringLiteral("cpu"));

    // An unconnected layer: the totals of the part built so far stay, and
    // what is wrong is said in words, without the file or a JSON path.
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas != nullptr);
    canvas->addLayer(LayerKind::Linear, QPointF(100, 400));
    QCOMPARE(w.modelSummary()->paramsText(), QStringLiteral("82 so far"));
    QVERIFY(w.modelSummary()->activationIsPartial());
    QVERIFY2(!w.modelSummary()->activationText(0, true).contains(QStringLiteral("so far")),
             qPrintable(w.modelSummary()->activationText(0, true)));
    const QString said =
        w.modelSummary()->findChild<QLabel*>(QStringLiteral("modelProblems"))->text();
    QVERIFY2(said.contains(QStringLiteral("1 problem marked on the layers")) &&
                 said.contains(QStringLiteral("1 layer not leading to the loss")) &&
                 !said.contains(QStringLiteral("/model")) &&
                 !said.contains(QStringLiteral(".json")),
             qPrintable(said));
    w.undoAction()->trigger();
    QCOMPARE(w.modelSummary()->paramsText(), QStringLiteral("82"));
    QVERIFY(!w.modelSummary()->activationIsPartial());

    // A dataset that does not fit is a problem, but the model is whole.
    const QString csv = dir_.filePath(QStringLiteral("three.csv"));
    {
      QFile f(csv);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("a,b,c,label\n0.1,0.2,0.3,0\n0.4,0.5,0.6,1\n");
    }
    DatasetSpec three;
    three.kind = "csv";
    three.path = csv.toStdString();
    w.document()->editDataset(three);
    QVERIFY(!w.document()->diagnosis().complete());
    QCOMPARE(w.modelSummary()->paramsText(), QStringLiteral("82"));
    QVERIFY(w.modelSummary()
                ->findChild<QLabel*>(QStringLiteral("modelProblems"))
                ->text()
                .contains(QStringLiteral("1 problem marked on the layers")));
  }

  void pagesCanBeReplaced() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    auto* editor = new QLabel(QStringLiteral("editor"));
    w.setModelEditor(editor);
    QVERIFY(w.tabs()->widget(0)->isAncestorOf(editor));
    auto* history = new QLabel(QStringLiteral("history"));
    w.setHistoryPage(history);
    QVERIFY(w.tabs()->widget(3)->isAncestorOf(history));
    auto* palette = new QLabel(QStringLiteral("palette"));
    w.setLayerPalette(palette);
    QVERIFY(w.isAncestorOf(palette));
  }

  void saveAsWritesTheProject() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    w.settingsForm()->batchSizeBox()->setValue(48);
    const QString copy = dir_.filePath(QStringLiteral("saved.json"));
    QVERIFY(w.saveProjectAs(copy));
    QVERIFY(!w.isWindowModified());
    QCOMPARE(load_project(copy.toStdString()).training.batch_size, qint64(48));
  }
};

int runMainWindowTests(int argc, char** argv) {
  MainWindowTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "MainWindowTest.moc"
