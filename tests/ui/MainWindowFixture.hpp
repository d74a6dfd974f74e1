// The main window's test fixture: a temporary database, settings file and
// project folder per suite, and small helpers to find what is on screen.
#pragma once

#include <QLabel>
#include <QListWidget>
#include <QObject>
#include <QTemporaryDir>
#include <QTest>

#include "ConnectDialog.hpp"
#include "EventLog.hpp"
#include "MainWindow.hpp"
#include "ProjectDocument.hpp"
#include "TestSupport.hpp"
#include "services/TrainingController.hpp"

namespace mantissa::ui::testing {

// The studio on the spirals project (Input [2]) saved in `dir`, with its own
// database and settings there.
inline StudioOptions studioIn(const QTemporaryDir& dir) {
  StudioOptions o;
  o.databasePath = dir.filePath(QStringLiteral("runs.db"));
  o.projectPath = writeFile(dir, QStringLiteral("spirals.json"), spiralsJson(60));
  o.settingsFile = dir.filePath(QStringLiteral("studio.ini"));
  o.restoreWindowState = false;
  return o;
}

class MainWindowFixture : public QObject {
 protected:
  QTemporaryDir dir_;

  StudioOptions options(const QString& projectPath) const {
    StudioOptions o;
    o.databasePath = dir_.filePath(QStringLiteral("runs.db"));
    o.settingsFile = dir_.filePath(QStringLiteral("studio.ini"));
    o.projectPath = projectPath;
    o.restoreWindowState = false;
    return o;
  }
  QString project(const QString& name, const QString& json) const {
    return writeFile(dir_, name, json);
  }

  static bool idle(MainWindow& w) {
    return w.controller()->state() == TrainingController::State::Idle;
  }
  static void showActive(MainWindow& w) {
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
  }
  static const LayerSpec* layer(MainWindow& w, const char* id) {
    for (const LayerSpec& l : w.document()->project().model.layers)
      if (l.id == id) return &l;
    return nullptr;
  }
  static QStringList listed(ConnectDialog* d, bool visibleOnly = true) {
    QStringList ids;
    for (int i = 0; i < d->list()->count(); ++i)
      if (!visibleOnly || !d->list()->item(i)->isHidden())
        ids << d->list()->item(i)->text().section(QLatin1Char(' '), 0, 0);
    return ids;
  }
  // The one on screen: a rebuilt inspector leaves its old widgets until
  // they are deleted later.
  template <typename T>
  static T* shown(QWidget* in, const QString& name) {
    for (T* w : in->findChildren<T*>(name))
      if (w->isVisible()) return w;
    return nullptr;
  }
  static QLabel* shownNote(QWidget* in) {
    for (QLabel* l : in->findChildren<QLabel*>(QStringLiteral("rangeNote")))
      if (l->isVisible()) return l;
    return nullptr;
  }
  static bool logHas(MainWindow& w, const QString& text) {
    for (const QString& line : w.eventLog()->lines())
      if (line.contains(text)) return true;
    return false;
  }
};

}  // namespace mantissa::ui::testing
