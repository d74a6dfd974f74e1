#include "EvaluationActions.hpp"

#include <QAction>
#include <QDialog>
#include <QLineEdit>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QVBoxLayout>

#include "AdvicePanel.hpp"
#include "DatasetPage.hpp"
#include "DivergencePanel.hpp"
#include "EvaluationView.hpp"
#include "HistoryPage.hpp"
#include "MainWindow.hpp"
#include "ProjectDocument.hpp"
#include "RangeView.hpp"
#include "SamplePanel.hpp"
#include "TradeoffPanel.hpp"
#include "WhatIfPanel.hpp"
#include "services/TrainingController.hpp"

namespace mantissa::ui {

namespace {

QDialog* toolWindow(QMainWindow* window, QWidget* content, const QString& title) {
  auto* dialog = new QDialog(window);
  dialog->setWindowTitle(title);
  auto* layout = new QVBoxLayout(dialog);
  layout->addWidget(content);
  dialog->resize(720, 640);
  return dialog;
}

}  // namespace

void installDataMenu(QMainWindow* window, ProjectDocument* document, HistoryPage* history,
                     TrainingController* controller) {
  auto* menu = new QMenu(QMenu::tr("&Data"), window);
  const auto menus = window->menuBar()->actions();
  if (menus.isEmpty())
    window->menuBar()->addMenu(menu);
  else
    window->menuBar()->insertMenu(menus.last(), menu);  // before Help

  auto* datasetAction = menu->addAction(QMenu::tr("&Dataset…"));
  datasetAction->setObjectName(QStringLiteral("datasetAction"));
  auto dataDialog = std::make_shared<QPointer<QDialog>>();
  auto dataPage = std::make_shared<QPointer<DatasetPage>>();
  QObject::connect(datasetAction, &QAction::triggered, window,
                   [window, document, dataDialog, dataPage] {
                     if (!*dataDialog) {
                       auto* page = new DatasetPage(document);
                       QDialog* dialog = toolWindow(window, page, QMenu::tr("Dataset"));
                       // The page's OK and Cancel (and Enter, Escape) close the window.
                       QObject::connect(page, &DatasetPage::accepted, dialog, &QDialog::accept);
                       QObject::connect(page, &DatasetPage::rejected, dialog, &QDialog::reject);
                       *dataDialog = dialog;
                       *dataPage = page;
                     }
                     // Opening shows the project's dataset, not what was last
                     // tried and left unapplied; an open window keeps its edits.
                     if (!(*dataDialog)->isVisible() && *dataPage)
                       (*dataPage)->showProjectDataset();
                     (*dataDialog)->show();
                     (*dataDialog)->raise();
                     (*dataDialog)->activateWindow();
                   });

  auto* evaluateAction = menu->addAction(QMenu::tr("&Evaluate Selected Run"));
  evaluateAction->setObjectName(QStringLiteral("evaluateRunAction"));
  QObject::connect(evaluateAction, &QAction::triggered, window, [window, history] {
    const QVector<qint64> ids = history->selectedRunIds();
    const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
    if (id <= 0) {
      QMessageBox::information(window, QMenu::tr("Evaluate"),
                               QMenu::tr("Select a run with a checkpoint in History first."));
      return;
    }
    auto* view = new EvaluationView;
    QDialog* dialog = toolWindow(window, view, QMenu::tr("Evaluation of run %1").arg(id));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    view->evaluateRun(history->databasePath(), id);
    dialog->show();
  });

  auto* rangeAction = menu->addAction(QMenu::tr("&Numerics of Selected Run…"));
  rangeAction->setObjectName(QStringLiteral("rangeViewAction"));
  QObject::connect(rangeAction, &QAction::triggered, window, [window, history] {
    const QVector<qint64> ids = history->selectedRunIds();
    const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
    if (id <= 0) {
      QMessageBox::information(window, QMenu::tr("Numerics"),
                               QMenu::tr("Select a run in History first."));
      return;
    }
    auto* view = new RangeView;
    view->setObjectName(QStringLiteral("rangeView"));
    QDialog* dialog = toolWindow(window, view, QMenu::tr("Numerics of run %1").arg(id));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->resize(980, 760);
    view->loadRun(history->databasePath().toStdString(), id);
    dialog->show();
  });

  auto* whatIfAction = menu->addAction(QMenu::tr("Loss-Scaler &What-If of Selected Run…"));
  whatIfAction->setObjectName(QStringLiteral("whatIfAction"));
  QObject::connect(whatIfAction, &QAction::triggered, window, [window, history, controller] {
    const QVector<qint64> ids = history->selectedRunIds();
    const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
    if (id <= 0) {
      QMessageBox::information(window, QMenu::tr("Loss-scaler what-if"),
                               QMenu::tr("Select a run in History first."));
      return;
    }
    auto* panel = new WhatIfPanel;
    panel->setObjectName(QStringLiteral("whatIfPanel"));
    QDialog* dialog =
        toolWindow(window, panel, QMenu::tr("Loss-scaler what-if of run %1").arg(id));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->resize(1000, 620);
    panel->loadRun(history->databasePath().toStdString(), id);
    QObject::connect(panel, &WhatIfPanel::branchRequested, window,
                     [window, controller, dialog](const Project& child, const RunLink& link) {
                       auto* main = qobject_cast<MainWindow*>(window);
                       if (main == nullptr) return;
                       if (controller->isBusy()) {
                         QMessageBox::information(
                             dialog, QMenu::tr("Loss-scaler what-if"),
                             QMenu::tr("A run is in progress; branch when it has ended."));
                         return;
                       }
                       main->startRun(child, child.training.policy,
                                      QString::fromStdString(child.training.backend), link);
                     });
    dialog->show();
  });

  // Divergence from fp32 against float32 runs of the same project and seed.
  auto* divergenceAction = menu->addAction(QMenu::tr("D&ivergence From fp32 of Selected Run…"));
  divergenceAction->setObjectName(QStringLiteral("divergenceAction"));
  QObject::connect(divergenceAction, &QAction::triggered, window, [window, history] {
    const QVector<qint64> ids = history->selectedRunIds();
    const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
    if (id <= 0) {
      QMessageBox::information(window, QMenu::tr("Divergence"),
                               QMenu::tr("Select a run in History first."));
      return;
    }
    auto* panel = new DivergencePanel;
    panel->setObjectName(QStringLiteral("divergencePanel"));
    QDialog* dialog = toolWindow(window, panel, QMenu::tr("Divergence of run %1 from fp32").arg(id));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->resize(1100, 820);
    panel->loadRun(history->databasePath().toStdString(), id);
    dialog->show();
  });

  // The trade-off of the selected run's comparison group (or project).
  auto* tradeoffAction = menu->addAction(QMenu::tr("Precision &Trade-off…"));
  tradeoffAction->setObjectName(QStringLiteral("tradeoffAction"));
  QObject::connect(tradeoffAction, &QAction::triggered, window, [window, history] {
    const QVector<qint64> ids = history->selectedRunIds();
    const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
    auto* panel = new TradeoffPanel;
    panel->setObjectName(QStringLiteral("tradeoffPanel"));
    QDialog* dialog = toolWindow(window, panel, QMenu::tr("Precision trade-off"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->resize(1000, 760);
    panel->loadDatabase(history->databasePath().toStdString(), id);
    QObject::connect(panel, &TradeoffPanel::compareRequested, window,
                     [window](const QVector<qint64>& runs) {
                       if (auto* main = qobject_cast<MainWindow*>(window)) main->compareRuns(runs);
                     });
    dialog->show();
  });

  // Guided fixes: each tried as a new run linked to the selected one.
  auto* adviceAction = menu->addAction(QMenu::tr("&Advice for Selected Run…"));
  adviceAction->setObjectName(QStringLiteral("adviceAction"));
  QObject::connect(adviceAction, &QAction::triggered, window, [window, history, controller] {
    const QVector<qint64> ids = history->selectedRunIds();
    const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
    if (id <= 0) {
      QMessageBox::information(window, QMenu::tr("Advice"), QMenu::tr("Select a run in History first."));
      return;
    }
    auto* panel = new AdvicePanel;
    panel->setObjectName(QStringLiteral("advicePanel"));
    QDialog* dialog = toolWindow(window, panel, QMenu::tr("Advice for run %1").arg(id));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->resize(760, 520);
    panel->loadRun(history->databasePath().toStdString(), id);
    QObject::connect(panel, &AdvicePanel::tryFix, window,
                     [window, controller, dialog](const Project& child, const RunLink& link) {
                       auto* main = qobject_cast<MainWindow*>(window);
                       if (main == nullptr) return;
                       if (controller->isBusy()) {
                         QMessageBox::information(
                             dialog, QMenu::tr("Advice"),
                             QMenu::tr("A run is in progress; try the fix when it has ended."));
                         return;
                       }
                       main->startRun(child, child.training.policy,
                                      QString::fromStdString(child.training.backend), link);
                     });
    dialog->show();
  });

  // The run in progress (else the last one trained here), followed live.
  auto* liveAction = menu->addAction(QMenu::tr("Numerics of &Current Run…"));
  liveAction->setObjectName(QStringLiteral("liveRangeViewAction"));
  QObject::connect(liveAction, &QAction::triggered, window, [window, controller] {
    const qint64 id = controller->currentRunId();
    if (id <= 0) {
      QMessageBox::information(window, QMenu::tr("Numerics"),
                               QMenu::tr("Train a run first; its numerics show here live."));
      return;
    }
    auto* view = new RangeView;
    view->setObjectName(QStringLiteral("liveRangeView"));
    QDialog* dialog = toolWindow(window, view, QMenu::tr("Numerics of run %1 (live)").arg(id));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->resize(980, 760);
    view->openLive(controller->databasePath(), id);
    dialog->show();
  });

  // One Sample window; it follows the run selected when it is opened.
  auto* sampleAction = menu->addAction(QMenu::tr("&Sample From Selected Run…"));
  sampleAction->setObjectName(QStringLiteral("sampleRunAction"));
  auto sampleDialog = std::make_shared<QPointer<QDialog>>();
  auto samplePanel = std::make_shared<QPointer<SamplePanel>>();
  QObject::connect(sampleAction, &QAction::triggered, window,
                   [window, history, sampleDialog, samplePanel] {
                     const QVector<qint64> ids = history->selectedRunIds();
                     const qint64 id = ids.isEmpty() ? history->openedRunId() : ids.first();
                     if (id <= 0) {
                       QMessageBox::information(
                           window, QMenu::tr("Sample"),
                           QMenu::tr("Select a run of a language model in History first."));
                       return;
                     }
                     if (!*sampleDialog) {
                       auto* panel = new SamplePanel;
                       panel->setObjectName(QStringLiteral("samplePanel"));
                       *sampleDialog = toolWindow(window, panel, QMenu::tr("Sample"));
                       *samplePanel = panel;
                     }
                     (*samplePanel)->setRun(history->databasePath(), id);
                     (*sampleDialog)->setWindowTitle(QMenu::tr("Sample from run %1").arg(id));
                     (*sampleDialog)->show();
                     (*sampleDialog)->raise();
                     (*sampleDialog)->activateWindow();
                     (*samplePanel)->promptEdit()->setFocus();
                   });

  // A run's context menu in History offers the same, on the run clicked.
  history->addRunActions({evaluateAction, rangeAction, whatIfAction, divergenceAction,
                          adviceAction, sampleAction});
}

}  // namespace mantissa::ui
