// MainWindow's project files: new, open (project files and exported weights),
// save, save as, the unsaved-changes prompt, recent files and the title.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>

#include <QLabel>
#include <QLayout>
#include <QPushButton>

#include "ComparePage.hpp"
#include "EventLog.hpp"
#include "HistoryPage.hpp"
#include "PolicySweep.hpp"
#include "services/TrainingController.hpp"
#include "LivePlots.hpp"
#include "PolicyColors.hpp"
#include "RunStatusBar.hpp"
#include "mantissa/resume.hpp"
#include "mantissa/store.hpp"
#include "InlineMessage.hpp"
#include "MainWindow.hpp"
#include "ProjectDocument.hpp"
#include "StudioPaths.hpp"
#include "StudioSettings.hpp"
#include "mantissa/model.hpp"

namespace mantissa::ui {

void MainWindow::updateTitle() {
  setWindowTitle(tr("%1[*] — Mantissa Studio").arg(document_->displayName()));
  setWindowModified(document_->isModified());
}

QString MainWindow::runDatabasePath() const {
  return QString::fromStdString(controller_->databasePath().string());
}

void MainWindow::showRunDatabase() {
  const QString path = runDatabasePath();
  databaseLabel_->setText(tr("Runs: %1").arg(QDir::toNativeSeparators(path)));
  databaseLabel_->setToolTip(tr("Every run is recorded in this database; "
                                "File ▸ Open Run Database… switches to another"));
}

bool MainWindow::openRunDatabase(const QString& path, bool create) {
  const auto refuse = [this](const QString& why) {
    message_->showMessage(why, InlineMessage::Level::Error);
    events_->addMessage(EventKind::Error, why);
    return false;
  };
  if (controller_->isBusy() || sweep_->isActive()) {
    return refuse(tr("%1: stop the run before switching run databases").arg(path));
  }
  if (!create && !QFileInfo::exists(path)) return refuse(tr("%1: no such file").arg(path));
  if (create && QFileInfo::exists(path)) {
    return refuse(tr("%1: already exists; open it with Open Run Database…").arg(path));
  }
  try {
    // Creates it, or checks that it is a run database this build can read.
    RunStore check(path.toStdString(),
                   {.access = create ? StoreAccess::ReadWrite : StoreAccess::ReadOnlyIfNotWritable});
  } catch (const std::exception& e) {
    return refuse(QString::fromUtf8(e.what()));
  }
  message_->hide();
  controller_->setDatabasePath(path.toStdString());
  compare_->setDatabasePath(path);
  history_->setDatabasePath(path);
  settings_->setLastDatabase(path);
  showRunDatabase();
  events_->addMessage(EventKind::Info, tr("Runs are recorded in %1").arg(path));
  return true;
}

void MainWindow::openRunDatabaseDialog(bool create) {
  const QString start = QFileInfo(runDatabasePath()).absolutePath();
  const QString filter = tr("Run databases (*.db *.sqlite);;All files (*)");
  const QString path =
      create ? QFileDialog::getSaveFileName(this, tr("New Run Database"), start, filter, nullptr,
                                            QFileDialog::DontConfirmOverwrite)
             : QFileDialog::getOpenFileName(this, tr("Open Run Database"), start, filter);
  if (!path.isEmpty()) openRunDatabase(path, create);
}

bool MainWindow::resumeRun(qint64 runId) {
  if (controller_->isBusy() || sweep_->isActive()) {
    message_->showMessage(tr("Run %1: stop the current run before resuming another").arg(runId),
                          InlineMessage::Level::Error);
    return false;
  }
  // The curve so far, up to the newest checkpoint; the worker checks that the
  // checkpoint reads back and says so if it takes an older one.
  try {
    RunStore store(runDatabasePath().toStdString(),
                   StoreOptions::reading());
    const RunRecord r = store.require_run(runId);
    const std::vector<CheckpointInfo> checkpoints = store.checkpoints(runId);
    const std::int64_t upTo = checkpoints.empty() ? 0 : checkpoints.front().step;
    const Policy policy = parse_policy(r.policy);
    plots_->beginRun(policy, tr("%1 · %2 (resumed)")
                                 .arg(QString::fromStdString(r.name), policyLabel(policy)));
    QVector<StepMetrics> steps;
    for (const StepMetrics& m : store.step_metrics(runId))
      if (m.step <= upTo) steps.push_back(m);
    QVector<EpochMetrics> epochs;
    for (const EpochMetrics& e : store.epoch_metrics(runId))
      if (e.step <= upTo) epochs.push_back(e);
    plots_->appendSteps(steps);
    plots_->appendEpochs(epochs);
    events_->addMessage(EventKind::Info, tr("Resuming run %1 (%2) from step %3…")
                                             .arg(runId)
                                             .arg(QString::fromStdString(r.name))
                                             .arg(upTo));
  } catch (const std::exception& e) {
    message_->showMessage(QString::fromUtf8(e.what()), InlineMessage::Level::Error);
    return false;
  }
  message_->hide();
  status_->runPreparing();
  controller_->resumeRun(runId);
  tabs_->setCurrentWidget(trainingPage_);
  return true;
}

void MainWindow::offerToResumeInterruptedRuns() {
  interruptedRuns_.clear();
  try {
    if (!QFileInfo::exists(runDatabasePath())) return;
    RunStore store(runDatabasePath().toStdString(),
                   StoreOptions::reading());
    if (store.read_only()) return;
    for (const std::int64_t id : resumable_interrupted_runs(store)) interruptedRuns_.push_back(id);
  } catch (const std::exception& e) {
    events_->addMessage(EventKind::Warning, QString::fromUtf8(e.what()));
    return;
  }
  if (interruptedRuns_.isEmpty()) return;
  const qint64 newest = interruptedRuns_.front();
  const QString text =
      interruptedRuns_.size() == 1
          ? tr("Run %1 was interrupted before it finished.").arg(newest)
          : tr("%1 runs were interrupted before they finished; the newest is run %2.")
                .arg(interruptedRuns_.size())
                .arg(newest);
  message_->showMessage(text, InlineMessage::Level::Warning);
  events_->addMessage(EventKind::Warning,
                      text + (interruptedRuns_.size() == 1
                                  ? tr(" History ▸ Resume continues it from its last checkpoint.")
                                  : tr(" History ▸ Resume continues any of them.")));
  if (resumeOffer_ == nullptr) {
    resumeOffer_ = new QPushButton(message_);
    resumeOffer_->setObjectName(QStringLiteral("resumeInterruptedRunButton"));
    // Before the bar's close button.
    auto* row = static_cast<QBoxLayout*>(message_->layout());
    row->insertWidget(row->count() - 1, resumeOffer_);
    connect(resumeOffer_, &QPushButton::clicked, this, [this] {
      if (interruptedRuns_.isEmpty()) return;
      const qint64 id = interruptedRuns_.front();
      resumeOffer_->hide();
      resumeRun(id);
    });
  }
  resumeOffer_->setText(tr("Resume Run %1").arg(newest));
  resumeOffer_->show();
}

bool MainWindow::openProject(const QString& path) {
  if (auto error = document_->load(path)) {
    message_->showMessage(*error, InlineMessage::Level::Error);
    events_->addMessage(EventKind::Error, *error);
    settings_->removeRecentFile(path);
    return false;
  }
  message_->hide();
  settings_->addRecentFile(path);
  settings_->setLastProject(path);
  return true;
}

bool MainWindow::saveProjectAs(const QString& path) {
  if (auto error = document_->saveAs(path)) {
    message_->showMessage(*error, InlineMessage::Level::Error);
    return false;
  }
  settings_->addRecentFile(path);
  settings_->setLastProject(path);
  statusBar()->showMessage(tr("Saved %1").arg(path), 3000);
  return true;
}

void MainWindow::newProject(const QString& fromSample) {
  if (!maybeSave()) return;
  Project p;
  const QString sample = fromSample.isEmpty() ? defaultProjectPath() : fromSample;
  try {
    if (!sample.isEmpty()) p = load_project(sample.toStdString());
  } catch (const std::exception&) {
    p = Project{};  // an empty project still opens; the model table says what is missing
  }
  if (fromSample.isEmpty()) p.name = "untitled";
  p.file.clear();
  document_->reset(p);  // untitled: Save asks where, the sample stays as it is
}

void MainWindow::openProjectDialog() {
  if (!maybeSave()) return;
  QString dir = QFileInfo(document_->filePath()).absolutePath();
  if (document_->filePath().isEmpty()) dir = sampleProjectsDir();
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open Project"), dir,
      tr("Mantissa projects (*.json);;Weights with their project (*.safetensors);;All files (*)"));
  if (!path.isEmpty()) openProject(path);
}

bool MainWindow::save() {
  if (document_->filePath().isEmpty()) return saveAsDialog();
  return saveProjectAs(document_->filePath());
}

bool MainWindow::saveAsDialog() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Save Project"), document_->filePath(),
                                                    tr("Mantissa projects (*.json)"));
  return !path.isEmpty() && saveProjectAs(path);
}

bool MainWindow::maybeSave() {
  if (!document_->isModified()) return true;
  const auto answer = QMessageBox::question(
      this, tr("Unsaved changes"), tr("Save the changes to %1?").arg(document_->displayName()),
      QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
  if (answer == QMessageBox::Save) return save();
  return answer == QMessageBox::Discard;
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  const QStringList files = settings_->recentFiles();
  for (const QString& f : files) {
    recentMenu_
        ->addAction(QFileInfo(f).fileName(), this,
                    [this, f] {
                      if (maybeSave()) openProject(f);
                    })
        ->setToolTip(f);
  }
  recentMenu_->setEnabled(!files.isEmpty());
}

}  // namespace mantissa::ui
