// The main window's parts: its actions, the toolbar with the policy and
// device pickers (the device list: this machine's devices, then its
// data-parallel choices), the four pages' tabs and the docks (the window's
// behaviour is MainWindow.cpp, its menus MainWindowMenus.cpp, its files
// MainWindowFiles.cpp).
#include "MainWindow.hpp"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QGroupBox>
#include <QLabel>
#include <QScrollArea>
#include <QStandardItemModel>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "EventLog.hpp"
#include "GlyphIcon.hpp"
#include "InlineMessage.hpp"
#include "LayerListView.hpp"
#include "LivePlots.hpp"
#include "ModelSummaryView.hpp"
#include "ModelTable.hpp"
#include "PolicySelector.hpp"
#include "PolicySweep.hpp"
#include "ProjectDocument.hpp"
#include "RunStatusBar.hpp"
#include "StudioSettings.hpp"
#include "services/TrainingController.hpp"
#include "TrainingSettingsForm.hpp"
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

}  // namespace mantissa::ui
