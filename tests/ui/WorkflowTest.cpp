// The whole studio workflow in one window, the way a user goes through it:
// build a model in the editor, pick a dataset, train on synthetic data and see
// every plot fill, stop, find the run in History, open its evaluation, then
// press "Compare policies" and compare the three runs it trains.
#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QTest>
#include <QTimer>

#include "ComparePage.hpp"
#include "DatasetPage.hpp"
#include "EvaluationView.hpp"
#include "HistoryPage.hpp"
#include "InlineMessage.hpp"
#include "LivePlots.hpp"
#include "MainWindow.hpp"
#include "ModelCanvas.hpp"
#include "PolicySweep.hpp"
#include "mantissa/train_job.hpp"
#include "ProjectDocument.hpp"
#include "RunTableModel.hpp"
#include "TestSupport.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/store.hpp"
#include "mantissa/weights_io.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;
using Series = LivePlots::Series;

class WorkflowTest : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

  StudioOptions options(const QString& projectJson) const {
    StudioOptions o;
    o.databasePath = dir_.filePath(QStringLiteral("runs.db"));
    o.settingsFile = dir_.filePath(QStringLiteral("studio.ini"));
    o.projectPath = writeFile(dir_, QStringLiteral("project.json"), projectJson);
    o.restoreWindowState = false;
    return o;
  }
  static bool idle(MainWindow& w) {
    return w.controller()->state() == TrainingController::State::Idle;
  }

 private slots:
  void buildTrainStopFindEvaluateCompare() {
    MainWindow w(options(spiralsJson(5'000'000)));
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));

    // 1. Build: a hidden Linear + ReLU inserted through the editor.
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas);
    const QString hidden = canvas->addLayer(LayerKind::Linear, QPointF(300, 300));
    QVERIFY(canvas->setParam(hidden, QStringLiteral("out_features"), 24));
    const QString act = canvas->addLayer(LayerKind::ReLU, QPointF(400, 300));
    QVERIFY(canvas->connectLayers(QStringLiteral("act1"), hidden));
    QVERIFY(canvas->connectLayers(hidden, act));
    QVERIFY(canvas->connectLayers(act, QStringLiteral("fc2")));
    QVERIFY2(w.document()->modelError().isEmpty(), qPrintable(w.document()->modelError()));
    QCOMPARE(w.document()->project().model.layers.size(), std::size_t(7));
    QVERIFY(canvas->edgeLabels().contains(QStringLiteral("24, f32")));

    // 2. Data: two moons instead of the spirals, through the Data menu.
    auto* dataAction = w.findChild<QAction*>(QStringLiteral("datasetAction"));
    QVERIFY(dataAction);
    dataAction->trigger();
    auto* data = w.findChild<DatasetPage*>();
    QVERIFY(data);
    DatasetSpec moons = w.document()->project().dataset;
    moons.kind = "moons";
    moons.samples = 400;
    data->setSpec(moons);
    QSignalSpy loaded(data, &DatasetPage::loaded);
    data->load();
    QVERIFY2(loaded.wait(kRunTimeoutMs), qPrintable(data->errorText()));
    data->apply();
    QCOMPARE(w.document()->project().dataset.kind, std::string("moons"));

    // 3. Train, see points in every plot, stop.
    w.trainAction()->trigger();
    LivePlots* plots = w.livePlots();
    QTRY_VERIFY_WITH_TIMEOUT(
        plots->pointCount(Series::TrainLoss) > 200 && plots->pointCount(Series::ValidationLoss) > 0,
        kRunTimeoutMs);
    for (Series s : {Series::LossScale, Series::SkippedTotal, Series::MemoryInUse,
                     Series::MemoryPeak, Series::Throughput})
      QVERIFY2(plots->pointCount(s) > 0, qPrintable(QString::number(int(s))));
    w.stopAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunTimeoutMs);
    const qint64 trained = w.controller()->currentRunId();
    QVERIFY(trained > 0);

    // 4. History lists it as stopped, with the edited model and the moons.
    auto* history = w.findChild<HistoryPage*>();
    QVERIFY(history);
    QTRY_COMPARE(history->model()->rowCount(), 1);
    history->selectRuns({trained});
    QCOMPARE(history->selectedRunIds(), QVector<qint64>{trained});
    {
      RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
      const RunRecord rec = store.require_run(trained);
      QCOMPARE(rec.status, RunStatus::Stopped);
      QVERIFY(rec.project_json.find("\"moons\"") != std::string::npos);
      QVERIFY(rec.project_json.find(hidden.toStdString()) != std::string::npos);
    }

    // A rename in History reaches the Training tab's header at once.
    QVERIFY(history->renameRun(trained, QStringLiteral("moons baseline")));
    QTRY_VERIFY2(plots->runLabelText().startsWith(QStringLiteral("moons baseline · ")),
                 qPrintable(plots->runLabelText()));

    // 5. Its evaluation: a confusion matrix over the moons' validation split.
    auto* evaluate = w.findChild<QAction*>(QStringLiteral("evaluateRunAction"));
    QVERIFY(evaluate);
    evaluate->trigger();
    auto* view = w.findChild<EvaluationView*>();
    QVERIFY(view);
    QTRY_VERIFY_WITH_TIMEOUT(!view->isBusy(), kRunTimeoutMs);
    QVERIFY2(view->errorText().isEmpty(), qPrintable(view->errorText()));
    QCOMPARE(view->result().runId, trained);
    QCOMPARE(view->result().numClasses, 2);
    QCOMPARE(view->result().total, load_dataset(moons).validation.size());
    QVERIFY(view->result().correct > view->result().total / 2);  // it learned something

    // 6. Compare policies: three runs from the same weights, then the Compare tab.
    TrainingSpec t = w.document()->training();
    t.steps = 40;
    w.document()->editTraining(t, QStringLiteral("steps"));
    QSignalSpy swept(w.policySweep(), &PolicySweep::sweepFinished);
    w.compareAction()->trigger();
    QVERIFY(w.policySweep()->isActive());
    QVERIFY(!w.trainAction()->isEnabled());
    QVERIFY(swept.wait(kRunTimeoutMs));
    QTRY_VERIFY(idle(w));
    const auto ids = swept.at(0).at(0).value<QVector<qint64>>();
    QCOMPARE(ids.size(), 3);
    auto* compare = w.findChild<ComparePage*>();
    QVERIFY(compare);
    QCOMPARE(
        w.tabs()->currentWidget()->isAncestorOf(compare) || w.tabs()->currentWidget() == compare,
        true);
    QTRY_COMPARE(compare->runs().size(), 3);  // read on the run library's worker
    QCOMPARE(compare->summaryTable()->rowCount(), 3);
    QCOMPARE(compare->lossPlot()->graphCount() >= 3, true);
    RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
    const std::vector<std::string> policies{"float32", "mixed_float16", "mixed_bfloat16"};
    for (int i = 0; i < 3; ++i) {
      const RunRecord rec = store.require_run(ids[i]);
      QCOMPARE(rec.policy, policies[std::size_t(i)]);
      QCOMPARE(rec.status, RunStatus::Finished);
      QCOMPARE(rec.steps_recorded, qint64(40));
      // Grouped as `mantissa compare` groups them: one group, the first run as parent.
      QVERIFY(rec.group_name.has_value());
      QCOMPARE(*rec.group_name, *store.require_run(ids[0]).group_name);
      QVERIFY(rec.group_name->rfind(w.document()->project().name + " ", 0) == 0);
      if (i == 0)
        QVERIFY(!rec.parent_run_id.has_value());
      else
        QCOMPARE(rec.parent_run_id.value_or(-1), ids[0]);
      // The scaler settings are written as the command line writes them.
      QCOMPARE(rec.loss_scale_json,
               loss_scale_json([&] {
                 TrainingSpec spec = w.document()->training();
                 spec.policy = parse_policy(rec.policy);
                 return spec;
               }()));
    }
    // The same initial weights and batches: the first step's loss is computed
    // from identical fp32 weights under fp32, and within 16-bit rounding of it
    // under the mixed policies.
    const auto first = [&](qint64 id) { return store.step_metrics(id).front().loss; };
    QVERIFY(std::abs(first(ids[1]) - first(ids[0])) < 0.02 * std::abs(first(ids[0])) + 1e-3);
    QVERIFY(std::abs(first(ids[2]) - first(ids[0])) < 0.05 * std::abs(first(ids[0])) + 1e-3);
    QTRY_COMPARE(history->model()->rowCount(), 4);
  }

  void exportedWeightsOpenAsTheirProject() {
    const Project project = parseProject(spiralsJson(30), QStringLiteral("tiny.json"));
    auto backend = create_backend("cpu");
    Graph g(project.model, *backend, project.training.policy, 1);
    const QString file = dir_.filePath(QStringLiteral("tiny.safetensors"));
    write_safetensors(file.toStdString(), model_state(g, DType::F32),
                      export_metadata(g, {&project, 1, 30}, DType::F32));

    MainWindow w(options(spiralsJson(60)));
    QVERIFY(!w.controller()->initWeights());
    QVERIFY(w.openProject(file));
    QCOMPARE(w.document()->displayName(), QStringLiteral("tiny-spirals"));
    QVERIFY(w.document()->filePath().isEmpty());  // Save asks where; the weights stay as they are
    QVERIFY(w.controller()->initWeights());
    QCOMPARE(QString::fromStdString(w.controller()->initWeights()->string()), file);
    // Opening a plain project afterwards starts fresh again.
    QVERIFY(w.openProject(writeFile(dir_, QStringLiteral("plain.json"), spiralsJson(10))));
    QVERIFY(!w.controller()->initWeights());
    // Weights without their project: an inline message naming the file.
    const QString bare = dir_.filePath(QStringLiteral("bare.safetensors"));
    write_safetensors(bare.toStdString(), model_state(g, DType::F32));
    QVERIFY(!w.openProject(bare));
    QVERIFY(w.messageBar()->text().contains(QStringLiteral("bare.safetensors")));
  }

  // File ▸ New is a blank canvas that says where to start; the samples are
  // one menu away.
  void newIsABlankCanvas() {
    MainWindow w(options(spiralsJson(60)));
    QAction* newAction = nullptr;
    for (QAction* a : w.findChildren<QAction*>())
      if (a->shortcut() == QKeySequence(QKeySequence::New)) newAction = a;
    QVERIFY(newAction);
    newAction->trigger();
    QVERIFY(w.document()->project().model.layers.empty());
    QCOMPARE(w.document()->displayName(), QStringLiteral("untitled"));
    QVERIFY(w.document()->filePath().isEmpty());
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas && canvas->isEmptyStateShown());
    bool says = false;
    for (QGraphicsItem* item : canvas->scene()->items())
      if (auto* t = dynamic_cast<QGraphicsSimpleTextItem*>(item))
        says = says || t->text().startsWith(QStringLiteral("Add an Input layer"));
    QVERIFY(says);
    // The first layer drawn starts the model; the empty state goes.
    canvas->addLayer(LayerKind::Input);
    QCOMPARE(w.document()->project().model.layers.size(), std::size_t(1));
    QVERIFY(!canvas->isEmptyStateShown());
  }

  void newFromASample() {
    MainWindow w(options(spiralsJson(60)));
    auto* menu = w.findChild<QMenu*>(QStringLiteral("samplesMenu"));
    QVERIFY(menu);
    QAction* cnn = nullptr;
    for (QAction* a : menu->actions())
      if (a->text() == QStringLiteral("mnist-cnn")) cnn = a;
    QVERIFY(cnn);
    cnn->trigger();
    QCOMPARE(w.document()->project().name, std::string("mnist-cnn"));
    QVERIFY(w.document()->filePath().isEmpty());  // a copy: saving never writes over the sample
    QCOMPARE(w.document()->project().model.layers[1].kind, LayerKind::Conv2d);
    QVERIFY(w.document()->modelError().isEmpty());
  }

  // Answers the next "Unsaved changes" question with `button`; true once asked.
  static std::shared_ptr<bool> answerNextQuestion(QMessageBox::StandardButton button) {
    auto asked = std::make_shared<bool>(false);
    QTimer::singleShot(0, [asked, button] {
      auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
      if (!box) return;
      *asked = box->text().contains(QStringLiteral("Save the changes"));
      box->button(button)->click();
    });
    return asked;
  }

  void unsavedChangesAreAskedAbout() {
    const QString path = writeFile(dir_, QStringLiteral("edited.json"), spiralsJson(60));
    StudioOptions o = options(spiralsJson(60));
    o.projectPath = path;
    MainWindow w(o);
    w.show();
    TrainingSpec t = w.document()->training();
    t.seed = 99;
    w.document()->editTraining(t, QStringLiteral("seed"));
    QVERIFY(w.document()->isModified());

    // Cancel: nothing happens, the edit is still there.
    auto asked = answerNextQuestion(QMessageBox::Cancel);
    w.close();
    QVERIFY(*asked);
    QVERIFY(w.isVisible());
    QCOMPARE(w.document()->training().seed, std::uint64_t(99));

    // Save: the file on disk gets the edit, and the window closes.
    asked = answerNextQuestion(QMessageBox::Save);
    w.close();
    QVERIFY(*asked);
    QVERIFY(!w.isVisible());
    QCOMPARE(load_project(path.toStdString()).training.seed, std::uint64_t(99));
  }

  void stoppingEndsTheSweepAndKeepsWhatFinished() {
    MainWindow w(options(spiralsJson(20'000)));
    w.show();
    QSignalSpy ended(w.policySweep(), &PolicySweep::sweepEnded);
    w.compareAction()->trigger();
    // Stop during the second run: the first one, finished, is kept.
    QTRY_VERIFY_WITH_TIMEOUT(w.policySweep()->current() == 1 && w.livePlots()->stepCount() > 0,
                             kRunTimeoutMs);
    w.stopAction()->trigger();
    QVERIFY(ended.wait(kRunTimeoutMs));
    const auto kept = ended.at(0).at(0).value<QVector<qint64>>();
    QCOMPARE(kept.size(), 1);
    QVERIFY(ended.at(0).at(1).toString().contains(QStringLiteral("stopped")));
    QTRY_VERIFY(idle(w));
    QVERIFY(!w.policySweep()->isActive());
    QVERIFY(w.compareAction()->isEnabled());
    RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
    QCOMPARE(store.require_run(kept[0]).status, RunStatus::Finished);
    QCOMPARE(store.require_run(kept[0]).policy, std::string("float32"));
  }

  void editsDuringASweepDoNotReachItsRuns() {
    MainWindow w(options(spiralsJson(20'000)));
    w.show();
    QSignalSpy ended(w.policySweep(), &PolicySweep::sweepEnded);
    w.compareAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(w.livePlots()->stepCount() > 0, kRunTimeoutMs);
    // A settings edit meanwhile does not change the runs the sweep started with...
    TrainingSpec t = w.document()->training();
    t.seed = 77;
    w.document()->editTraining(t, QStringLiteral("seed"));
    QTRY_VERIFY_WITH_TIMEOUT(w.policySweep()->current() == 1, kRunTimeoutMs);
    RunStore store(dir_.filePath(QStringLiteral("runs.db")).toStdString());
    QTRY_VERIFY_WITH_TIMEOUT(w.controller()->currentRunId() > w.policySweep()->runIds().value(0),
                             kRunTimeoutMs);
    QCOMPARE(store.require_run(w.controller()->currentRunId()).seed, std::uint64_t(5));
    // ... and opening another project ends the sweep after the run going now.
    QVERIFY(w.openProject(writeFile(dir_, QStringLiteral("other.json"), spiralsJson(10))));
    QVERIFY(!w.policySweep()->isActive());
    QVERIFY(ended.count() == 1 || ended.wait(kRunTimeoutMs));
    QVERIFY(ended.at(0).at(1).toString().contains(QStringLiteral("another project")));
    w.stopAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(idle(w), kRunTimeoutMs);
  }
};

int runWorkflowTests(int argc, char** argv) {
  WorkflowTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "WorkflowTest.moc"
