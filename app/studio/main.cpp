// mantissa-studio: the desktop face of the engine.
//
//   mantissa-studio [project.json] [--database runs.db] [--policy mixed_float16]
//                   [--init-scale 16777216] [--growth-interval N] [--steps N] [--train]
//                   [--screenshot out.png --after-steps N]
#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QTimer>
#include <cstdio>
#include <exception>
#include <memory>

#include "MainWindow.hpp"
#include "ProjectDocument.hpp"
#include "StudioPaths.hpp"
#include "TrainingController.hpp"
#include "mantissa/version.hpp"

using namespace mantissa;
using namespace mantissa::ui;

namespace {

// Applies the command-line overrides as the document's saved state, so they
// do not count as unsaved edits.
bool applyOverrides(MainWindow& w, const QCommandLineParser& args) {
  Project p = w.document()->project();
  try {
    if (args.isSet("policy")) p.training.policy = parse_policy(args.value("policy").toStdString());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mantissa-studio: %s\n", e.what());
    return false;
  }
  if (args.isSet("init-scale")) {
    p.training.loss_scale.init_scale = args.value("init-scale").toDouble();
    if (!p.training.loss_scale.mode) p.training.loss_scale.mode = LossScaleMode::Dynamic;
  }
  if (args.isSet("growth-interval")) {
    p.training.loss_scale.growth_interval = args.value("growth-interval").toLong();
    if (!p.training.loss_scale.mode) p.training.loss_scale.mode = LossScaleMode::Dynamic;
  }
  if (args.isSet("steps")) p.training.steps = args.value("steps").toLongLong();
  w.document()->reset(p, w.document()->filePath());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("Mantissa"));
  QApplication::setApplicationName(QStringLiteral("Mantissa Studio"));
  QApplication::setApplicationVersion(QString::fromStdString(version_string()));
  QApplication::setWindowIcon(applicationIcon());
  QApplication::setDesktopFileName(QStringLiteral("mantissa"));

  QCommandLineParser args;
  args.setApplicationDescription(QStringLiteral("Train neural networks in mixed precision."));
  args.addHelpOption();
  args.addVersionOption();
  args.addPositionalArgument(QStringLiteral("project"), QStringLiteral("Project file to open."));
  args.addOptions({
      {"database", "Run database (default: the last one, else ~/.local/share/mantissa/runs.db).",
       "file"},
      {"settings", "Keep the studio's settings in this INI file.", "file"},
      {"policy",
       "Policy for this session: float32, mixed_float16, mixed_bfloat16, float16, bfloat16.",
       "name"},
      {"init-scale", "Initial loss scale for this session.", "value"},
      {"growth-interval", "Clean steps before the loss scale grows, for this session.", "n"},
      {"steps", "Train this many steps instead of the project's epochs.", "n"},
      {"train", "Start training as soon as the window is up."},
      {"screenshot", "Save a picture of the window to this file and quit (implies --train).",
       "png"},
      {"after-steps", "With --screenshot: take it once this many steps are plotted.", "n", "200"},
  });
  args.process(app);

  StudioOptions options;
  options.databasePath = args.value("database");
  options.settingsFile = args.value("settings");
  if (!args.positionalArguments().isEmpty())
    options.projectPath = QFileInfo(args.positionalArguments().first()).absoluteFilePath();
  const QString screenshot = args.value("screenshot");
  options.restoreWindowState = screenshot.isEmpty();

  MainWindow window(options);
  if (!applyOverrides(window, args)) return 2;
  window.show();

  if (!screenshot.isEmpty()) {
    const qsizetype afterSteps = args.value("after-steps").toLongLong();
    auto* ctl = window.controller();
    auto taken = std::make_shared<bool>(false);
    auto shoot = [&window, screenshot, taken] {
      if (*taken) return;
      *taken = true;
      // Let the queued replots of the last batch land first.
      QTimer::singleShot(400, &window, [&window, screenshot] {
        const bool ok = window.grab().save(screenshot, "PNG");
        std::fprintf(stderr, "mantissa-studio: %s %s\n", ok ? "saved" : "could not save",
                     qPrintable(screenshot));
        window.controller()->stop();
        QApplication::exit(ok ? 0 : 1);
      });
    };
    auto seen = std::make_shared<qsizetype>(0);
    QObject::connect(ctl, &TrainingController::stepsRecorded, &window,
                     [seen, afterSteps, shoot](quint64, const QVector<StepMetrics>& steps) {
                       *seen += steps.size();
                       if (*seen >= afterSteps) shoot();
                     });
    QObject::connect(ctl, &TrainingController::runFinished, &window,
                     [shoot](quint64, qint64, const RunSummary&) { shoot(); });
    QObject::connect(ctl, &TrainingController::runFailed, &window,
                     [shoot](quint64, const QString&) { shoot(); });
  }
  if (args.isSet("train") || !screenshot.isEmpty())
    QTimer::singleShot(0, &window, [&window] { window.startTraining(); });
  return QApplication::exec();
}
