// The window's menus, and its page keys: Ctrl+Tab / Ctrl+PgDn to the next
// page, Ctrl+Shift+Tab / Ctrl+PgUp to the previous one, Alt+1…4 straight to a
// page. The keys live in the View menu, so they are found as well as pressed.
#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QGraphicsScene>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QTabWidget>

#include "ClusterCommandDialog.hpp"
#include "ConnectDialog.hpp"
#include "InlineMessage.hpp"
#include "MainWindow.hpp"
#include "ModelCanvas.hpp"
#include "ProjectDocument.hpp"
#include "StudioPaths.hpp"
#include "WeightsFile.hpp"
#include "services/TrainingController.hpp"

namespace mantissa::ui {

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(newAction_);
  QMenu* samples = file->addMenu(tr("New from &Sample"));
  samples->setObjectName(QStringLiteral("samplesMenu"));
  const QString samplesDir = sampleProjectsDir();
  const QFileInfoList sampleFiles =
      samplesDir.isEmpty()
          ? QFileInfoList()
          : QDir(samplesDir).entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
  for (const QFileInfo& f : sampleFiles)
    samples->addAction(f.completeBaseName(), this,
                       [this, path = f.absoluteFilePath()] { newProject(path); });
  samples->setEnabled(!samples->isEmpty());
  file->addAction(openAction_);
  recentMenu_ = file->addMenu(tr("Open &Recent"));
  connect(recentMenu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  file->addAction(saveAction_);
  file->addAction(saveAsAction_);
  auto* weights = new WeightsLoader(controller_, message_, this);
  file->addAction(tr("&Load Weights…"), this,
                  [this, weights] { weights->pickAndLoad(this, document_->project()); });
  file->addAction(tr("Clear Loaded &Weights"), weights, &WeightsLoader::clear);
  connect(document_, &ProjectDocument::projectReplaced, weights, &WeightsLoader::forget);
  file->addSeparator();
  file->addAction(tr("Open Run &Database…"), this, [this] { openRunDatabaseDialog(false); })
      ->setObjectName(QStringLiteral("openRunDatabaseAction"));
  file->addAction(tr("New Run Data&base…"), this, [this] { openRunDatabaseDialog(true); })
      ->setObjectName(QStringLiteral("newRunDatabaseAction"));
  file->addSeparator();
  file->addAction(quitAction_);
  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  edit->addAction(undoAction_);
  edit->addAction(redoAction_);
  addCanvasEdits(edit);
  QMenu* run = menuBar()->addMenu(tr("&Run"));
  run->addAction(trainAction_);
  run->addAction(pauseAction_);
  run->addAction(stopAction_);
  run->addSeparator();
  run->addAction(compareAction_);
  run->addAction(tr("Command Line for Several &Machines…"), this, [this] {
    if (document_->filePath().isEmpty()) {
      QMessageBox::information(this, tr("Command Line for Several Machines"),
                               tr("Save the project first: every machine reads it from its file."));
      return;
    }
    ClusterCommandDialog dialog(document_->filePath(), runDatabasePath(),
                                QString::fromLatin1(policy_name(document_->project().training.policy)),
                                this);
    dialog.exec();
  });
  QMenu* view = menuBar()->addMenu(tr("&View"));
  for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
  addPageKeys(view);
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Mantissa Studio"), this, [this] {
    QMessageBox::about(
        this, tr("About Mantissa Studio"),
        tr("<b>Mantissa Studio</b><p>Train neural networks in fp32, fp16 or bf16 "
           "over fp32 master weights and watch loss, loss scale, skipped steps "
           "and memory live.</p><p>Runs are kept in %1</p>")
            .arg(QString::fromStdString(controller_->databasePath().string()).toHtmlEscaped()));
  });
}


// Cut, Copy, Paste, Delete, Select All and Duplicate act on the model
// canvas while it is shown; in a text field the field keeps its own keys
// (it takes them first), and elsewhere they do nothing.
void MainWindow::addCanvasEdits(QMenu* edit) {
  edit->addSeparator();
  const auto add = [this, edit](const QString& text, const QKeySequence& keys, const char* name,
                                auto fn) {
    QAction* a = edit->addAction(text, this, [this, fn] {
      ModelCanvas* canvas = canvas_;
      if (canvas != nullptr && canvas->isVisible()) fn(canvas);
    });
    a->setShortcut(keys);
    a->setObjectName(QLatin1String(name));
  };
  add(tr("Cu&t"), QKeySequence::Cut, "cutAction", [](ModelCanvas* c) {
    c->copySelection();
    c->deleteSelection();
  });
  add(tr("&Copy"), QKeySequence::Copy, "copyAction", [](ModelCanvas* c) { c->copySelection(); });
  add(tr("&Paste"), QKeySequence::Paste, "pasteAction", [](ModelCanvas* c) { c->paste(); });
  add(tr("&Delete"), QKeySequence::Delete, "deleteAction",
      [](ModelCanvas* c) { c->deleteSelection(); });
  add(tr("Select &All"), QKeySequence::SelectAll, "selectAllAction",
      [](ModelCanvas* c) { c->selectAll(); });
  add(tr("D&uplicate"), QKeySequence(Qt::CTRL | Qt::Key_D), "duplicateAction",
      [](ModelCanvas* c) {
        c->copySelection();
        c->paste();
      });
  edit->addSeparator();
  connectAction_ = edit->addAction(tr("Co&nnect Selected To…"), this,
                                   &MainWindow::connectSelectedLayer);
  connectAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  connectAction_->setObjectName(QStringLiteral("connectAction"));
  connectAction_->setToolTip(tr("Feed the selected layer into another one, picked by name (Ctrl+L)"));
  connectAction_->setEnabled(false);
}

// The canvas's selection, the model and the page decide whether Connect
// Selected To… can act. Connected after the canvas's own handlers, so its
// selected layer is up to date when these run.
void MainWindow::watchCanvas(ModelCanvas* canvas) {
  canvas_ = canvas;
  delete canvasWatch_;
  canvasWatch_ = new QObject(this);
  const auto update = [this] { updateConnectAction(); };
  connect(canvas->scene(), &QGraphicsScene::selectionChanged, canvasWatch_, update);
  connect(document_, &ProjectDocument::modelChanged, canvasWatch_, update);
  connect(document_, &ProjectDocument::projectReplaced, canvasWatch_, update);
  connect(tabs_, &QTabWidget::currentChanged, canvasWatch_, update);
  updateConnectAction();
}

void MainWindow::updateConnectAction() {
  connectAction_->setEnabled(canvas_ && tabs_->currentWidget() == modelPage_ &&
                             canvas_->isVisibleTo(modelPage_) &&
                             !canvas_->selectedLayer().isEmpty());
}

void MainWindow::connectSelectedLayer() {
  updateConnectAction();
  if (!connectAction_->isEnabled()) return;
  auto* dialog = new ConnectDialog(document_->project().model, canvas_->selectedLayer(), this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &ConnectDialog::connectRequested, canvas_,
          [canvas = canvas_](const QString& from, const QString& to) {
            if (canvas) canvas->connectLayers(from, to);
          });
  dialog->open();
}

void MainWindow::addPageKeys(QMenu* view) {
  view->addSeparator();
  auto step = [this](int delta) {
    const int n = tabs_->count();
    if (n > 0) tabs_->setCurrentIndex((tabs_->currentIndex() + delta + n) % n);
  };
  auto* next = view->addAction(tr("&Next Page"), this, [step] { step(+1); });
  next->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Tab),
                      QKeySequence(Qt::CTRL | Qt::Key_PageDown)});
  next->setObjectName(QStringLiteral("nextPage"));
  auto* previous = view->addAction(tr("&Previous Page"), this, [step] { step(-1); });
  previous->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Backtab),
                          QKeySequence(Qt::CTRL | Qt::Key_PageUp)});
  previous->setObjectName(QStringLiteral("previousPage"));
  for (int i = 0; i < tabs_->count() && i < 9; ++i) {
    auto* go = view->addAction(tabs_->tabText(i), this, [this, i] { tabs_->setCurrentIndex(i); });
    go->setShortcut(QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + i)));
    go->setObjectName(QStringLiteral("page%1").arg(i + 1));
  }
  // Ctrl+Tab would otherwise go to whatever widget has the focus first.
  for (QAction* a : view->actions()) a->setShortcutContext(Qt::WindowShortcut);
}

}  // namespace mantissa::ui
