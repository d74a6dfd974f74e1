#include "MainWindow.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ComparePage.hpp"
#include "EvaluationActions.hpp"
#include "EventLog.hpp"
#include "Format.hpp"
#include "GlyphIcon.hpp"
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
#include "WeightsFile.hpp"
#include "mantissa/launch.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

namespace {

QWidget* emptyState(const QString& text, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  label->setAlignment(Qt::AlignCenter);
  label->setWordWrap(true);
  label->setEnabled(false);  // drawn in the palette's disabled text colour
  return label;
}

// A page of the tabs. It scrolls when the window is smaller than what the
// page needs (Compare's plots, the canvas's inspector) rather than holding
// the whole window above a small screen; it fills the tab otherwise.
QWidget* container(QWidget* parent, QWidget* content) {
  auto* page = new QScrollArea(parent);
  page->setWidgetResizable(true);
  page->setFrameShape(QFrame::NoFrame);
  auto* body = new QWidget(page);
  auto* layout = new QVBoxLayout(body);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(content);
  page->setWidget(body);
  return page;
}

QIcon themed(const char* name, QStyle::StandardPixmap fallback) {
  return QIcon::fromTheme(QLatin1String(name), QApplication::style()->standardIcon(fallback));
}

}  // namespace

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

void MainWindow::createActions() {
  newAction_ = new QAction(themed("document-new", QStyle::SP_FileIcon), tr("&New"), this);
  newAction_->setShortcut(QKeySequence::New);
  newAction_->setToolTip(tr("New empty project (Ctrl+N)"));
  connect(newAction_, &QAction::triggered, this, [this] { newProject(); });
  openAction_ =
      new QAction(themed("document-open", QStyle::SP_DialogOpenButton), tr("&Open…"), this);
  openAction_->setShortcut(QKeySequence::Open);
  openAction_->setToolTip(tr("Open a project file (Ctrl+O)"));
  connect(openAction_, &QAction::triggered, this, &MainWindow::openProjectDialog);
  saveAction_ =
      new QAction(themed("document-save", QStyle::SP_DialogSaveButton), tr("&Save"), this);
  saveAction_->setShortcut(QKeySequence::Save);
  saveAction_->setToolTip(tr("Save the project (Ctrl+S)"));
  connect(saveAction_, &QAction::triggered, this, &MainWindow::save);
  saveAsAction_ = new QAction(tr("Save &As…"), this);
  saveAsAction_->setShortcut(QKeySequence::SaveAs);
  connect(saveAsAction_, &QAction::triggered, this, &MainWindow::saveAsDialog);
  quitAction_ = new QAction(tr("&Quit"), this);
  quitAction_->setShortcut(QKeySequence::Quit);
  connect(quitAction_, &QAction::triggered, this, &QWidget::close);

  undoAction_ = document_->undoStack()->createUndoAction(this, tr("&Undo"));
  undoAction_->setIcon(themed("edit-undo", QStyle::SP_ArrowBack));
  undoAction_->setShortcut(QKeySequence::Undo);
  redoAction_ = document_->undoStack()->createRedoAction(this, tr("&Redo"));
  redoAction_->setIcon(themed("edit-redo", QStyle::SP_ArrowForward));
  redoAction_->setShortcut(QKeySequence::Redo);

  trainAction_ = new QAction(glyphIcon(Glyph::Play), tr("&Train"), this);
  trainAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  trainAction_->setToolTip(tr("Train the project under the chosen policy (Ctrl+Return)"));
  connect(trainAction_, &QAction::triggered, this, &MainWindow::startTraining);
  pauseAction_ = new QAction(glyphIcon(Glyph::Pause), tr("&Pause"), this);
  pauseAction_->setCheckable(true);
  pauseAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  pauseAction_->setToolTip(tr("Pause or resume at the next step boundary (Ctrl+P)"));
  connect(pauseAction_, &QAction::toggled, this, [this](bool on) {
    if (on)
      controller_->pause();
    else
      controller_->resume();
  });
  stopAction_ = new QAction(glyphIcon(Glyph::Stop), tr("&Stop"), this);
  stopAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  stopAction_->setToolTip(
      tr("Stop the run at the next step boundary; it is kept as stopped (Ctrl+.)"));
  connect(stopAction_, &QAction::triggered, controller_, &TrainingController::stop);
  compareAction_ = new QAction(glyphIcon(Glyph::Compare), tr("&Compare Policies"), this);
  compareAction_->setToolTip(tr("Train under FP32, FP16 and BF16 and compare the runs"));
  connect(compareAction_, &QAction::triggered, this, [this] {
    if (sweep_->start(document_->project(), currentDevice())) emit comparePoliciesRequested();
  });
}

void MainWindow::createToolBar() {
  QToolBar* bar = addToolBar(tr("Main"));
  bar->setObjectName(QStringLiteral("mainToolBar"));
  bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  bar->addAction(newAction_);
  bar->addAction(openAction_);
  bar->addAction(saveAction_);
  bar->addSeparator();
  bar->addAction(undoAction_);
  bar->addAction(redoAction_);
  // Their text names the edit ("Undo Connect fc3 → conv2d1"): beside the
  // icon it would push Train and Stop into the overflow. The tooltip says it.
  // The file buttons are known by their icons and keys; their width is
  // better spent keeping the run buttons in view on a small screen.
  for (QAction* a : {newAction_, openAction_, saveAction_, undoAction_, redoAction_})
    if (auto* b = qobject_cast<QToolButton*>(bar->widgetForAction(a)))
      b->setToolButtonStyle(Qt::ToolButtonIconOnly);
  bar->addSeparator();
  bar->addWidget(new QLabel(tr(" Policy "), bar));
  policy_ = new PolicySelector(bar);
  bar->addWidget(policy_);
  bar->addWidget(new QLabel(tr("  Device "), bar));
  device_ = new QComboBox(bar);
  device_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  device_->setToolTip(tr("Where the run trains"));
  bar->addWidget(device_);
  bar->addSeparator();
  bar->addAction(trainAction_);
  bar->addAction(pauseAction_);
  bar->addAction(stopAction_);
  bar->addSeparator();
  bar->addAction(compareAction_);
  // Pause reads Resume while paused: as wide as the longer, so the bar
  // does not shift under the pointer.
  if (QWidget* pause = bar->widgetForAction(pauseAction_)) {
    const QString text = pauseAction_->text();
    pauseAction_->setText(tr("Resume"));
    const int wide = pause->sizeHint().width();
    pauseAction_->setText(text);
    pause->setMinimumWidth(std::max(wide, pause->sizeHint().width()));
  }
}

// The window is never narrower than the whole toolbar: in its overflow menu
// Stop and Compare Policies would be out of sight. Measured once the device
// list is filled.
void MainWindow::keepToolBarWhole() {
  auto* bar = findChild<QToolBar*>(QStringLiteral("mainToolBar"));
  bar->setMinimumWidth(bar->sizeHint().width());
}

void MainWindow::createCentral() {
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(4, 4, 4, 0);
  layout->setSpacing(4);
  message_ = new InlineMessage(central);
  layout->addWidget(message_);
  tabs_ = new QTabWidget(central);
  tabs_->setDocumentMode(true);
  layout->addWidget(tabs_, 1);

  modelTable_ = new ModelTable(tabs_);
  modelPage_ = container(tabs_, modelTable_);
  plots_ = new LivePlots(tabs_);
  trainingPage_ = container(tabs_, plots_);
  comparePage_ = container(tabs_, emptyState(tr("Select runs in History to compare"), tabs_));
  historyPage_ = container(tabs_, emptyState(tr("No runs yet — press Train"), tabs_));
  tabs_->addTab(modelPage_, tr("Model"));
  tabs_->addTab(trainingPage_, tr("Training"));
  tabs_->addTab(comparePage_, tr("Compare"));
  tabs_->addTab(historyPage_, tr("History"));
  setCentralWidget(central);
}

void MainWindow::createDocks() {
  layersDock_ = new QDockWidget(tr("Layers"), this);
  layersDock_->setObjectName(QStringLiteral("layersDock"));
  layerList_ = new LayerListView(layersDock_);
  layersDock_->setWidget(layerList_);
  addDockWidget(Qt::LeftDockWidgetArea, layersDock_);

  auto* inspector = new QDockWidget(tr("Inspector"), this);
  inspector->setObjectName(QStringLiteral("inspectorDock"));
  auto* scroll = new QScrollArea(inspector);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto* body = new QWidget(scroll);
  auto* layout = new QVBoxLayout(body);
  auto* summaryBox = new QGroupBox(tr("Model summary"), body);
  summary_ = new ModelSummaryView(summaryBox);
  (new QVBoxLayout(summaryBox))->addWidget(summary_);
  layout->addWidget(summaryBox);
  auto* settingsBox = new QGroupBox(tr("Training settings"), body);
  settingsForm_ = new TrainingSettingsForm(settingsBox);
  (new QVBoxLayout(settingsBox))->addWidget(settingsForm_);
  layout->addWidget(settingsBox);
  layout->addStretch(1);
  scroll->setWidget(body);
  // As wide as its labels and fields need: it scrolls up and down only.
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(body->minimumSizeHint().width() +
                          style()->pixelMetric(QStyle::PM_ScrollBarExtent));
  inspector->setWidget(scroll);
  addDockWidget(Qt::RightDockWidgetArea, inspector);

  auto* eventsDock = new QDockWidget(tr("Events"), this);
  eventsDock->setObjectName(QStringLiteral("eventsDock"));
  events_ = new EventLog(eventsDock);
  eventsDock->setWidget(events_);
  addDockWidget(Qt::BottomDockWidgetArea, eventsDock);
  resizeDocks({layersDock_, inspector}, {200, 330}, Qt::Horizontal);
  resizeDocks({eventsDock}, {130}, Qt::Vertical);
}

void MainWindow::fillDevices() {
  auto* model = qobject_cast<QStandardItemModel*>(device_->model());
  const QString wanted = settings_->device();
  for (const DeviceInfo& d : list_devices()) {
    const QString name = QString::fromStdString(d.name);
    device_->addItem(name.toUpper(), name);
    const int row = device_->count() - 1;
    const QString tip = d.available ? QString::fromStdString(d.description)
                                    : tr("Unavailable: %1").arg(QString::fromStdString(d.reason));
    device_->setItemData(row, tip, Qt::ToolTipRole);
    device_->setItemData(row, QString::fromStdString(d.description), Qt::UserRole + 1);
    if (model && !d.available) model->item(row)->setEnabled(false);
    if (d.available && name == wanted) device_->setCurrentIndex(row);
  }
  // Data parallel (docs/data-parallel.md): processes of this machine, or all
  // its GPUs, one process each; the studio's trainer is rank 0.
  std::vector<std::string> gpus;
  bool cpu = false;
  for (const DeviceInfo& d : list_devices()) {
    if (d.available && d.name == "cpu") cpu = true;
    if (d.available && d.name.rfind("cuda:", 0) == 0) gpus.push_back(d.name.substr(5));
  }
  const auto addRanks = [&](const QString& label, const QString& choice, const QString& tip) {
    device_->addItem(label, choice);
    const int row = device_->count() - 1;
    device_->setItemData(row, tip, Qt::ToolTipRole);
    device_->setItemData(row, label, Qt::UserRole + 1);
    if (choice == wanted) device_->setCurrentIndex(row);
  };
  if (cpu)
    for (int n : {2, 4})
      addRanks(tr("CPU × %1").arg(n), QStringLiteral("cpu*%1").arg(n),
               tr("Data parallel: %1 processes of this machine, each with a shard of every batch "
                  "and %2 thread(s); gradients summed with Gloo")
                   .arg(n)
                   .arg(threads_per_rank(n)));
  if (gpus.size() > 1) {
    QStringList ids;
    for (const std::string& g : gpus) ids << QString::fromStdString(g);
    addRanks(tr("GPUs %1–%2").arg(ids.front(), ids.back()), QStringLiteral("cuda*") + ids.join(','),
             tr("Data parallel: one process per GPU"));
  }
  auto showDevice = [this] {
    status_->setDevice(device_->currentData(Qt::UserRole + 1).toString());
    settings_->setDevice(currentDevice());
  };
  connect(device_, qOverload<int>(&QComboBox::currentIndexChanged), this, showDevice);
  showDevice();
}

QString MainWindow::currentDevice() const {
  const QString d = device_->currentData().toString();
  return d.isEmpty() ? QStringLiteral("cpu") : d;
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
              events_->addMessage(EventKind::Info,
                                  tr("Epoch %1 (step %2): train loss %3, validation loss %4, "
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
                                  tr("Run %1 finished: %2 steps in %3 s, %4 samples/s, %5 skipped, "
                                     "validation accuracy %6 %")
                                      .arg(runId)
                                      .arg(s.steps)
                                      .arg(s.wall_time_s, 0, 'f', 1)
                                      .arg(formatCount(std::llround(s.samples_per_s)))
                                      .arg(s.skipped_steps)
                                      .arg(s.final_val_accuracy * 100.0, 0, 'f', 1));
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
