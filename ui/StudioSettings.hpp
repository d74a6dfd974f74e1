#pragma once
// Typed access to what the studio remembers between sessions. Every key lives
// in StudioSettings.cpp; nothing else in the studio looks a setting up by name.
#include <QByteArray>
#include <QSettings>
#include <QString>
#include <QStringList>
#include <memory>

namespace mantissa::ui {

class StudioSettings {
 public:
  // The user's settings (organisation / application names of the QApplication).
  StudioSettings();
  // Settings in an INI file of their own (tests, portable setups).
  explicit StudioSettings(const QString& iniFile);
  ~StudioSettings();

  static constexpr int kMaxRecentFiles = 8;

  QStringList recentFiles() const;
  void addRecentFile(const QString& path);  // moves it to the front
  void removeRecentFile(const QString& path);

  QString lastProject() const;
  void setLastProject(const QString& path);
  QString lastDatabase() const;
  void setLastDatabase(const QString& path);
  QString device() const;
  void setDevice(const QString& device);

  QByteArray windowGeometry() const;
  void setWindowGeometry(const QByteArray& g);
  QByteArray windowState() const;
  void setWindowState(const QByteArray& s);

  bool plotsUseWallTime() const;
  void setPlotsUseWallTime(bool on);
  bool plotsFollowLatest() const;
  void setPlotsFollowLatest(bool on);
  double lossSmoothing() const;  // the loss plot's TensorBoard smoothing weight
  void setLossSmoothing(double weight);
  bool logLoss() const;
  void setLogLoss(bool on);

  void sync();

 private:
  std::unique_ptr<QSettings> settings_;
};

}  // namespace mantissa::ui
