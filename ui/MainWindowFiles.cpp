// MainWindow's project files: new, open (project files and exported weights),
// save, save as, the unsaved-changes prompt, recent files and the title.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>

#include "EventLog.hpp"
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
