#include "MainWindow.hpp"

#include <QAction>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ComparePage.hpp"
#include "EvaluationActions.hpp"
#include "EventLog.hpp"
#include "Format.hpp"
#include "HistoryPage.hpp"
#include "InlineMessage.hpp"
#include "LayerListView.hpp"
#include "LayerPalette.hpp"
#include "LivePlots.hpp"
#include "ModelCanvas.hpp"
#include "ModelSummaryView.hpp"
#include "ModelTable.hpp"
#include "PolicyColors.hpp"
#include "PolicySelector.hpp"
#include "PolicySweep.hpp"
#include "ProjectDocument.hpp"
#include "RunStatusBar.hpp"
#include "StudioPaths.hpp"
#include "StudioSettings.hpp"
#include "services/TrainingController.hpp"
#include "TrainingSettingsForm.hpp"
#include "WheelGuard.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent)
    : QMainWindow(parent),
      settings_(options.settingsFile.isEmpty()
                    ? std::make_unique<StudioSettings>()
                    : std::make_unique<StudioSettings>(options.settingsFile)),
      document_(new ProjectDocument(this)) {
  WheelGuard::install();
  // The command line, then $MANTISSA_DB (as for the CLI), then the database
  // last opened here, then the default place.
  QString db = options.databasePath;
  if (db.isEmpty()) db = qEnvironmentVariable("MANTISSA_DB");
  if (db.isEmpty()) db = settings_->lastDatabase();
  if (db.isEmpty()) db = QString::fromStdString(default_database_path().string());
  controller_ = new TrainingController(db.toStdString(), this);
  sweep_ = new PolicySweep(
      controller_,
      [this](const Project& p, Policy policy, const QString& device, const RunLink& link) {
        startRun(p, policy, device, link);
      },
      this);

  setWindowIcon(applicationIcon());
  setDockOptions(AnimatedDocks | AllowTabbedDocks);
  createActions();
  createCentral();
  createDocks();
  createToolBar();
  createMenus();
  status_ = new RunStatusBar(this);
  statusBar()->addPermanentWidget(status_, 1);
  databaseLabel_ = new QLabel(this);
  databaseLabel_->setObjectName(QStringLiteral("runDatabaseLabel"));
  statusBar()->addPermanentWidget(databaseLabel_);
  fillDevices();
  keepToolBarWhole();
  connectController();

  auto* compare = new ComparePage(db, this);
  auto* history = new HistoryPage(db, options.settingsFile, this);
  compare_ = compare;
  history_ = history;
  setComparePage(compare);
  setHistoryPage(history);
  showRunDatabase();
  installDataMenu(this, document_, history, controller_);
  connect(history, &HistoryPage::compareRequested, this, &MainWindow::compareRuns);
  connect(history, &HistoryPage::runsDeleted, compare, &ComparePage::removeRuns);
  connect(history, &HistoryPage::resumeRequested, this, &MainWindow::resumeRun);
  connectRunLibrary();
  confirmStopOnClose = [this] {
    return QMessageBox::question(
               this, tr("A Run Is Training"),
               tr("Run %1 is still training. Stop it and quit?\n\nIts state is saved as a "
                  "checkpoint: History ▸ Resume continues it later.")
                   .arg(controller_->currentRunId()),
               QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel) == QMessageBox::Yes;
  };
  connect(sweep_, &PolicySweep::runStarting, this, [this](int i, int n, Policy p) {
    events_->addMessage(
        EventKind::Info,
        tr("Compare policies: run %1 of %2, %3").arg(i + 1).arg(n).arg(policyLabel(p)));
  });
  connect(sweep_, &PolicySweep::sweepFinished, this, &MainWindow::compareRuns);
  connect(sweep_, &PolicySweep::sweepEnded, this,
          [this](const QVector<qint64>& ids, const QString& why) {
            events_->addMessage(
                EventKind::Warning,
                tr("Compare policies ended after %1 finished run(s): %2").arg(ids.size()).arg(why));
          });
  connect(controller_, &TrainingController::runFinished, history, &HistoryPage::reload);

  connect(document_, &ProjectDocument::projectReplaced, this, &MainWindow::refreshProject);
  connect(document_, &ProjectDocument::modelChanged, this, &MainWindow::refreshProject);
  auto* palette = new LayerPalette(this);
  auto* canvas = new ModelCanvas(document_, this);
  connect(palette, &LayerPalette::layerRequested, canvas, &ModelCanvas::addFromPalette);
  setLayerPalette(palette);
  setModelEditor(canvas);
  watchCanvas(canvas);
  connect(document_, &ProjectDocument::trainingChanged, this, &MainWindow::refreshTraining);
  connect(document_, &ProjectDocument::modifiedChanged, this, &MainWindow::updateTitle);
  connect(document_, &ProjectDocument::filePathChanged, this, &MainWindow::updateTitle);
  // Weights loaded for one project do not carry over to the next one.
  connect(document_, &ProjectDocument::projectReplaced, controller_, [this] {
    controller_->setInitWeights(std::nullopt);
    sweep_->abandon(tr("another project was opened"));
  });
  connect(document_, &ProjectDocument::weightsOpened, this, [this](const QString& file) {
    controller_->setInitWeights(file.toStdString());
    events_->addMessage(EventKind::Info, tr("Opened %1: its project, and runs start from its "
                                            "weights (File ▸ Clear Loaded Weights to start fresh)")
                                             .arg(file));
  });
  connect(settingsForm_, &TrainingSettingsForm::edited, document_,
          [this](const TrainingSpec& spec, const QString& field, bool continuous) {
            document_->editTraining(spec, field, continuous);
          });
  connect(policy_, &PolicySelector::familyChosen, this, [this](PolicySelector::Family f) {
    TrainingSpec spec = document_->training();
    spec.policy = PolicySelector::policyOf(f, isPurePolicy(spec.policy));
    if (spec.policy != document_->training().policy) document_->editTraining(spec, tr("policy"));
  });
  connect(plots_, &LivePlots::xAxisModeChanged, this, [this](LivePlots::XAxis m) {
    settings_->setPlotsUseWallTime(m == LivePlots::XAxis::WallTime);
  });
  connect(plots_, &LivePlots::followLatestChanged, this,
          [this](bool on) { settings_->setPlotsFollowLatest(on); });
  plots_->setXAxisMode(settings_->plotsUseWallTime() ? LivePlots::XAxis::WallTime
                                                     : LivePlots::XAxis::Step);
  plots_->setFollowLatest(settings_->plotsFollowLatest());
  plots_->setSmoothing(settings_->lossSmoothing());
  plots_->setLogLoss(settings_->logLoss());
  connect(plots_, &LivePlots::smoothingChanged, this,
          [this](double w) { settings_->setLossSmoothing(w); });
  connect(plots_, &LivePlots::logLossChanged, this,
          [this](bool on) { settings_->setLogLoss(on); });

  resize(1400, 900);
  if (options.restoreWindowState) {
    restoreGeometry(settings_->windowGeometry());
    restoreState(settings_->windowState());
  }

  QString project = options.projectPath;
  if (project.isEmpty() && QFileInfo::exists(settings_->lastProject()))
    project = settings_->lastProject();
  if (project.isEmpty()) project = defaultProjectPath();
  if (project.isEmpty() || !openProject(project)) refreshProject();
  updateActions();
  updateTitle();
}

// The canvas's scene and the tabs still signal while the children are
// deleted; by then the canvas is half gone.
MainWindow::~MainWindow() {
  delete canvasWatch_;
}

void MainWindow::connectController() {
  TrainingController* c = controller_;
  auto current = [c](quint64 gen) { return gen == c->generation(); };
  connect(c, &TrainingController::stateChanged, this, &MainWindow::updateActions);
  connect(c, &TrainingController::runStarted, this,
          [this, current](quint64 gen, qint64 runId, const RunStart& start) {
            if (!current(gen)) return;
            plots_->setStoredRun(runDatabasePath(), runId);  // its header follows a rename
            status_->runStarted(runId, start);
            if (canvas_) canvas_->showOverflow({}, {}, {});  // a new run, no overflow yet
            events_->addMessage(EventKind::Info, tr("Run %1 started: %2 steps on %3")
                                                     .arg(runId)
                                                     .arg(start.total_steps)
                                                     .arg(QString::fromStdString(start.device)));
          });
  connect(c, &TrainingController::stepsRecorded, this,
          [this, current](quint64 gen, const QVector<StepMetrics>& steps) {
            if (!current(gen) || steps.isEmpty()) return;
            plots_->appendSteps(steps);
            status_->stepsRecorded(steps.back());
          });
  connect(c, &TrainingController::epochsRecorded, this,
          [this, current](quint64 gen, const QVector<EpochMetrics>& epochs) {
            if (!current(gen)) return;
            plots_->appendEpochs(epochs);
            for (const EpochMetrics& e : epochs)
              events_->addMessage(
                  EventKind::Info,
                  std::isnan(e.val_loss) && std::isnan(e.val_accuracy)  // no validation split
                      ? tr("Epoch %1 (step %2): train loss %3 (no validation split)")
                            .arg(e.epoch + 1)
                            .arg(e.step)
                            .arg(e.train_loss, 0, 'g', 4)
                      : tr("Epoch %1 (step %2): train loss %3, validation loss %4, "
                           "accuracy %5 %")
                            .arg(e.epoch + 1)
                            .arg(e.step)
                            .arg(e.train_loss, 0, 'g', 4)
                            .arg(e.val_loss, 0, 'g', 4)
                            .arg(e.val_accuracy * 100.0, 0, 'f', 1));
          });
  connect(c, &TrainingController::eventsRecorded, this,
          [this, current](quint64 gen, const QVector<RunEvent>& events) {
            if (current(gen)) events_->addEvents(events);
          });
  // A skipped step traced to where it first went non-finite: the sentence in
  // the log, a marker on the loss-scale plot, and the layer (red) and the path of the bad values (orange) on
  // the model canvas. The first traced event of a run stays marked.
  connect(c, &TrainingController::provenanceRecorded, this,
          [this, current](quint64 gen, const Provenance& p) {
            if (!current(gen)) return;
            events_->addMessage(EventKind::Overflow, QString::fromStdString(p.sentence()));
            plots_->markTracedEvent(p.step, QString::fromStdString(p.sentence()));
            if (!canvas_ || !p.first || !canvas_->overflowLayer().isEmpty()) return;
            QStringList path;
            for (const std::string& l : p.path) path << QString::fromStdString(l);
            canvas_->showOverflow(QString::fromStdString(p.first->layer), path,
                                  tr("Step %1: overflowed first (%2), %3")
                                      .arg(p.step)
                                      .arg(QString::fromStdString(p.first->what))
                                      .arg(QString::fromStdString(p.classification())));
          });
  connect(c, &TrainingController::runFinished, this,
          [this, current](quint64 gen, qint64 runId, const RunSummary& s) {
            if (!current(gen)) return;
            status_->runEnded(s);
            if (s.outcome == RunOutcome::Finished)
              events_->addMessage(EventKind::Info,
                                  tr("Run %1 finished: %2 steps in %3 s, %4 samples/s, %5 skipped%6")
                                      .arg(runId)
                                      .arg(s.steps)
                                      .arg(s.wall_time_s, 0, 'f', 1)
                                      .arg(formatCount(std::llround(s.samples_per_s)))
                                      .arg(s.skipped_steps)
                                      .arg(std::isfinite(s.final_val_accuracy)
                                               ? tr(", validation accuracy %1 %")
                                                     .arg(s.final_val_accuracy * 100.0, 0, 'f', 1)
                                               : QString()));
            else if (s.outcome == RunOutcome::Stopped)
              events_->addMessage(EventKind::Info,
                                  tr("Run %1 stopped at step %2").arg(runId).arg(s.steps));
          });
  connect(c, &TrainingController::runFailed, this,
          [this, current](quint64 gen, const QString& message) {
            if (!current(gen)) return;
            message_->showMessage(message, InlineMessage::Level::Error);
            events_->addMessage(EventKind::Error, message);
            status_->runFailed();
          });
}

ModelCanvas* MainWindow::modelCanvas() const {
  return canvas_;
}

void MainWindow::startTraining() {
  if (controller_->isBusy()) return;
  startRun(document_->project(), document_->project().training.policy, currentDevice());
}

void MainWindow::startRun(const Project& project, Policy policy, const QString& device,
                          const RunLink& link) {
  Project p = project;
  p.training.policy = policy;
  const QString name = p.name.empty() ? document_->displayName() : QString::fromStdString(p.name);
  message_->hide();
  // A run with a name of its own (a fix tried for another run) is headed by it.
  plots_->beginRun(policy, link.name ? QString::fromStdString(*link.name)
                                     : tr("%1 · %2").arg(name, policyLabel(policy)));
  events_->addMessage(EventKind::Info,
                      tr("Training %1 under %2 on %3…").arg(name, policyLabel(policy), device));
  status_->runPreparing();
  if (const auto& w = controller_->initWeights())
    events_->addMessage(EventKind::Info,
                        tr("Starts from %1").arg(QString::fromStdString(w->string())));
  controller_->start(p, policy, device, link);
  tabs_->setCurrentWidget(trainingPage_);
}

void MainWindow::updateActions() {
  using State = TrainingController::State;
  const State s = controller_->state();
  trainAction_->setEnabled(s == State::Idle);
  pauseAction_->setEnabled(s == State::Running || s == State::Paused || s == State::Preparing);
  {
    const QSignalBlocker block(pauseAction_);
    pauseAction_->setChecked(s == State::Paused);
  }
  pauseAction_->setText(s == State::Paused ? tr("Resume") : tr("&Pause"));
  stopAction_->setEnabled(s != State::Idle && s != State::Stopping);
  if (resumeOffer_ != nullptr && s != State::Idle) resumeOffer_->hide();
  compareAction_->setEnabled(s == State::Idle);
  if (s == State::Paused)
    statusBar()->showMessage(tr("Paused"));
  else if (s == State::Stopping)
    statusBar()->showMessage(tr("Stopping at the next step…"));
  else
    statusBar()->clearMessage();
}

void MainWindow::refreshProject() {
  const Project& p = document_->project();
  layerList_->setModel(p.model);
  refreshTraining();
  updateTitle();
}

void MainWindow::refreshTraining() {
  const Project& p = document_->project();
  settingsForm_->setSpec(p.training);
  policy_->setFamily(PolicySelector::familyOf(p.training.policy));
  summary_->setSummary(document_->diagnosis(), p.training.batch_size,
                       document_->modelDiagnosis().complete());
  modelTable_->setModel(p.model, document_->summary(), document_->modelError(), p.training.policy);
}

void MainWindow::replaceContent(QWidget* page, QWidget* next) {
  QWidget* box = page;
  if (auto* scroll = qobject_cast<QScrollArea*>(page)) box = scroll->widget();
  auto* layout = box->layout();
  while (QLayoutItem* item = layout->takeAt(0)) {
    if (QWidget* w = item->widget()) w->hide();
    delete item;
  }
  next->setParent(box);
  layout->addWidget(next);
  next->show();
}

void MainWindow::setLayerPalette(QWidget* palette) {
  layersDock_->setWidget(palette);
}
void MainWindow::setModelEditor(QWidget* editor) {
  replaceContent(modelPage_, editor);
}
void MainWindow::setComparePage(QWidget* page) {
  replaceContent(comparePage_, page);
}
void MainWindow::setHistoryPage(QWidget* page) {
  replaceContent(historyPage_, page);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (controller_->isBusy() && !(confirmStopOnClose && confirmStopOnClose())) {
    event->ignore();
    return;
  }
  if (!maybeSave()) {
    event->ignore();
    return;
  }
  // The trainer ends at its next step boundary and writes a checkpoint; the
  // controller's destructor waits for it.
  controller_->stop();
  settings_->setWindowGeometry(saveGeometry());
  settings_->setWindowState(saveState());
  settings_->setLastDatabase(QString::fromStdString(controller_->databasePath().string()));
  settings_->sync();
  event->accept();
}

void MainWindow::compareRuns(const QVector<qint64>& runIds) {
  compare_->compareRuns(runIds);
  tabs_->setCurrentWidget(comparePage_);
}

}  // namespace mantissa::ui
