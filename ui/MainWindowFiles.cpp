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
#include "services/RunLibrary.hpp"
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

void MainWindow::connectRunLibrary() {
  library_ = new RunLibrary(this);
  connect(library_, &RunLibrary::databaseChecked, this,
          [this](quint64, const QString& path, QString error) {
            // A run may have started while the file was checked.
            if (error.isEmpty() && (controller_->isBusy() || sweep_->isActive()))
              error = tr("%1: stop the run before switching run databases").arg(path);
            if (error.isEmpty()) {
              switchRunDatabase(path);
            } else {
              message_->showMessage(error, InlineMessage::Level::Error);
              events_->addMessage(EventKind::Error, error);
            }
            emit runDatabaseOpened(path, error);
          });
  connect(library_, &RunLibrary::resumePointRead, this,
          [this](quint64, const StoredRun& run, qint64 upTo, const QString& error) {
            if (!error.isEmpty()) {
              message_->showMessage(error, InlineMessage::Level::Error);
              return;
            }
            startResumedRun(run, upTo);
          });
  connect(library_, &RunLibrary::interruptedRunsFound, this,
          [this](quint64, const QVector<qint64>& ids, const QString& error) {
            if (!error.isEmpty()) events_->addMessage(EventKind::Warning, error);
            offerInterruptedRuns(ids);
          });
}

bool MainWindow::openRunDatabase(const QString& path, bool create) {
  if (controller_->isBusy() || sweep_->isActive()) {
    const QString why = tr("%1: stop the run before switching run databases").arg(path);
    message_->showMessage(why, InlineMessage::Level::Error);
    events_->addMessage(EventKind::Error, why);
    return false;
  }
  library_->checkDatabase(path, create);
  return true;
}

void MainWindow::switchRunDatabase(const QString& path) {
  message_->hide();
  controller_->setDatabasePath(path.toStdString());
  compare_->setDatabasePath(path);
  history_->setDatabasePath(path);
  settings_->setLastDatabase(path);
  showRunDatabase();
  events_->addMessage(EventKind::Info, tr("Runs are recorded in %1").arg(path));
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
  library_->readResumePoint(runDatabasePath(), runId);
  return true;
}

void MainWindow::startResumedRun(const StoredRun& run, qint64 upTo) {
  const RunRecord& r = run.record;
  if (controller_->isBusy() || sweep_->isActive()) {  // started while the curve was read
    message_->showMessage(tr("Run %1: stop the current run before resuming another").arg(r.id),
                          InlineMessage::Level::Error);
    return;
  }
  try {
    const Policy policy = parse_policy(r.policy);
    plots_->beginRun(policy, tr("%1 · %2 (resumed)")
                                 .arg(QString::fromStdString(r.name), policyLabel(policy)));
    plots_->setStoredRun(runDatabasePath(), r.id);
  } catch (const std::exception& e) {
    message_->showMessage(QString::fromUtf8(e.what()), InlineMessage::Level::Error);
    return;
  }
  plots_->appendSteps(run.steps);
  plots_->appendEpochs(run.epochs);
  events_->addMessage(EventKind::Info, tr("Resuming run %1 (%2) from step %3…")
                                           .arg(r.id)
                                           .arg(QString::fromStdString(r.name))
                                           .arg(upTo));
  message_->hide();
  status_->runPreparing();
  controller_->resumeRun(r.id);
  tabs_->setCurrentWidget(trainingPage_);
}

void MainWindow::offerToResumeInterruptedRuns() {
  interruptedRuns_.clear();
  library_->findInterruptedRuns(runDatabasePath());
}

void MainWindow::offerInterruptedRuns(const QVector<qint64>& runIds) {
  interruptedRuns_ = runIds;
  if (interruptedRuns_.isEmpty()) {
    emit interruptedRunsOffered(0);
    return;
  }
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
  emit interruptedRunsOffered(int(interruptedRuns_.size()));
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

bool MainWindow::saveProjectAs(const QString& given) {
  // "cnn" is saved as cnn.json, which File ▸ Open's filter then shows.
  const QString path = QFileInfo(given).suffix().isEmpty() ? given + QStringLiteral(".json") : given;
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
  // File ▸ New is a blank canvas with the sample's data and training
  // settings, so Train works once a model is drawn; the samples are under
  // File ▸ New from Sample.
  if (fromSample.isEmpty()) {
    p.name = "untitled";
    p.model.layers.clear();
  }
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
