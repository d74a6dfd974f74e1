#pragma once
// Where the studio finds its sample projects and its application icon.
#include <QIcon>
#include <QString>

namespace mantissa::ui {

// The folder of sample projects: ../share/mantissa/projects next to an
// installed binary, else the source tree this binary was built from. Empty if
// neither exists.
QString sampleProjectsDir();
// The project opened on first start (mnist-mlp.json), or empty.
QString defaultProjectPath();
// The application icon at every size the resources hold.
QIcon applicationIcon();

}  // namespace mantissa::ui
