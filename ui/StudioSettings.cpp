#include "StudioSettings.hpp"

namespace mantissa::ui {

namespace key {
constexpr auto kRecentFiles = "files/recent";
constexpr auto kLastProject = "files/lastProject";
constexpr auto kLastDatabase = "files/lastDatabase";
constexpr auto kDevice = "training/device";
constexpr auto kGeometry = "window/geometry";
constexpr auto kState = "window/state";
constexpr auto kWallTime = "plots/wallTime";
constexpr auto kFollow = "plots/followLatest";
constexpr auto kSmoothing = "plots/lossSmoothing";
constexpr auto kLogLoss = "plots/logLoss";
}  // namespace key

StudioSettings::StudioSettings() : settings_(std::make_unique<QSettings>()) {}

StudioSettings::StudioSettings(const QString& iniFile)
    : settings_(std::make_unique<QSettings>(iniFile, QSettings::IniFormat)) {}

StudioSettings::~StudioSettings() = default;

QStringList StudioSettings::recentFiles() const {
  return settings_->value(key::kRecentFiles).toStringList();
}

void StudioSettings::addRecentFile(const QString& path) {
  QStringList files = recentFiles();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kMaxRecentFiles) files.removeLast();
  settings_->setValue(key::kRecentFiles, files);
}

void StudioSettings::removeRecentFile(const QString& path) {
  QStringList files = recentFiles();
  files.removeAll(path);
  settings_->setValue(key::kRecentFiles, files);
}

QString StudioSettings::lastProject() const {
  return settings_->value(key::kLastProject).toString();
}
void StudioSettings::setLastProject(const QString& path) {
  settings_->setValue(key::kLastProject, path);
}

QString StudioSettings::lastDatabase() const {
  return settings_->value(key::kLastDatabase).toString();
}
void StudioSettings::setLastDatabase(const QString& path) {
  settings_->setValue(key::kLastDatabase, path);
}

QString StudioSettings::device() const {
  return settings_->value(key::kDevice, QStringLiteral("cpu")).toString();
}
void StudioSettings::setDevice(const QString& device) {
  settings_->setValue(key::kDevice, device);
}

QByteArray StudioSettings::windowGeometry() const {
  return settings_->value(key::kGeometry).toByteArray();
}
void StudioSettings::setWindowGeometry(const QByteArray& g) {
  settings_->setValue(key::kGeometry, g);
}

QByteArray StudioSettings::windowState() const {
  return settings_->value(key::kState).toByteArray();
}
void StudioSettings::setWindowState(const QByteArray& s) {
  settings_->setValue(key::kState, s);
}

bool StudioSettings::plotsUseWallTime() const {
  return settings_->value(key::kWallTime, false).toBool();
}
void StudioSettings::setPlotsUseWallTime(bool on) {
  settings_->setValue(key::kWallTime, on);
}

bool StudioSettings::plotsFollowLatest() const {
  return settings_->value(key::kFollow, true).toBool();
}
void StudioSettings::setPlotsFollowLatest(bool on) {
  settings_->setValue(key::kFollow, on);
}

double StudioSettings::lossSmoothing() const {
  bool ok = false;
  const double w = settings_->value(key::kSmoothing, 0.6).toDouble(&ok);
  return ok && w >= 0 && w <= 0.99 ? w : 0.6;  // a hand-edited file cannot break the plots
}
void StudioSettings::setLossSmoothing(double weight) {
  settings_->setValue(key::kSmoothing, weight);
}
bool StudioSettings::logLoss() const {
  return settings_->value(key::kLogLoss, false).toBool();
}
void StudioSettings::setLogLoss(bool on) {
  settings_->setValue(key::kLogLoss, on);
}

void StudioSettings::sync() {
  settings_->sync();
}

}  // namespace mantissa::ui
