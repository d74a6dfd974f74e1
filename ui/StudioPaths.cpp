#include "StudioPaths.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

// Resources of a static library are registered explicitly; this must sit
// outside any namespace.
static void initStudioResources() {
  Q_INIT_RESOURCE(studio);
}

namespace mantissa::ui {

QString sampleProjectsDir() {
  const QString installed = QDir(QCoreApplication::applicationDirPath())
                                .absoluteFilePath(QStringLiteral("../share/mantissa/projects"));
  if (QFileInfo(installed).isDir()) return QDir::cleanPath(installed);
  const QString source = QStringLiteral(MANTISSA_SOURCE_PROJECTS_DIR);
  if (QFileInfo(source).isDir()) return source;
  return {};
}

QString defaultProjectPath() {
  const QString dir = sampleProjectsDir();
  if (dir.isEmpty()) return {};
  const QString path = QDir(dir).absoluteFilePath(QStringLiteral("mnist-mlp.json"));
  return QFileInfo::exists(path) ? path : QString();
}

QIcon applicationIcon() {
  initStudioResources();
  QIcon icon;
  for (int size : {16, 24, 32, 48, 64, 128, 256})
    icon.addFile(QStringLiteral(":/icons/mantissa-%1.png").arg(size), QSize(size, size));
  return icon;
}

}  // namespace mantissa::ui
