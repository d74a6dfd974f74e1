// mantissa-studio: the desktop face of the engine.
//
//   mantissa-studio [project.json|weights.safetensors] [--database runs.db]
//                   [--policy mixed_float16] [--init-scale 16777216] [--growth-interval N]
//                   [--steps N] [--train] [--show model|training|compare|history|data]
//                   [--run ID] [--compare ID,ID,...] [--screenshot out.png --after-steps N]
#include <csignal>
#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QEventLoop>
#include <QFileInfo>
#include <QTabWidget>
#include <QTimer>
#include <cstdio>
#include <exception>
#include <memory>

#include "ComparePage.hpp"
#include "DatasetPage.hpp"
#include "HistoryPage.hpp"
#include "MainWindow.hpp"
#include "ProjectDocument.hpp"
#include "StudioPaths.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/version.hpp"

using namespace mantissa;
using namespace mantissa::ui;

namespace {

// Applies the command-line overrides as the document's saved state, so they
// do not count as unsaved edits.
bool applyOverrides(MainWindow& w, const QCommandLineParser& args) {
  const bool any = args.isSet("policy") || args.isSet("init-scale") ||
                   args.isSet("growth-interval") || args.isSet("steps");
  if (!any) return true;  // a reset would also drop the weights an opened file brought
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
  const auto weights = w.controller()->initWeights();
  w.document()->reset(p, w.document()->filePath());
  w.controller()->setInitWeights(weights);
  return true;
}

// Brings a tab to the front: the one holding a widget of type T.
template <typename T>
T* showTab(MainWindow& w) {
  T* page = w.findChild<T*>();
  if (!page) return nullptr;
  for (int i = 0; i < w.tabs()->count(); ++i)
    if (w.tabs()->widget(i)->isAncestorOf(page)) w.tabs()->setCurrentIndex(i);
  return page;
}

QVector<qint64> runIds(const QString& list) {
  QVector<qint64> ids;
  for (const QString& part : list.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const qint64 id = part.trimmed().toLongLong(&ok);
    if (ok && id > 0) ids.push_back(id);
  }
  return ids;
}

// Saves a picture of `widget`'s window once the queued replots have landed,
// then quits with 0 when it was saved.
void saveAndQuit(MainWindow& window, QWidget* widget, const QString& file) {
  QTimer::singleShot(600, &window, [&window, widget, file] {
    const bool ok = widget->window()->grab().save(file, "PNG");
    std::fprintf(stderr, "mantissa-studio: %s %s\n", ok ? "saved" : "could not save",
                 qPrintable(file));
    window.controller()->stop();
    QApplication::exit(ok ? 0 : 1);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit fails writes with EFBIG instead
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
      {"database", "Run database (default: $MANTISSA_DB, else the last one opened, else "
       "~/.local/share/mantissa/runs.db).",
       "file"},
      {"settings", "Keep the studio's settings in this INI file.", "file"},
      {"policy",
       "Policy for this session: float32, mixed_float16, mixed_bfloat16, float16, bfloat16.",
       "name"},
      {"init-scale", "Initial loss scale for this session.", "value"},
      {"growth-interval", "Clean steps before the loss scale grows, for this session.", "n"},
      {"steps", "Train this many steps instead of the project's epochs.", "n"},
      {"train", "Start training as soon as the window is up."},
      {"show", "Open on this page: model, training, compare, history or data.", "page"},
      {"run", "Open this stored run in History.", "id"},
      {"compare", "Compare these stored runs (comma-separated ids).", "ids"},
      {"screenshot",
       "Save a picture of the window to this file and quit. On the training page (the "
       "default) it trains first; on the data page it waits for the dataset to load.",
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
  // Screenshots show exactly what they ask for.
  if (screenshot.isEmpty()) window.offerToResumeInterruptedRuns();

  const QString show = args.value("show");
  const QStringList pages{"model", "training", "compare", "history", "data"};
  if (!show.isEmpty() && !pages.contains(show)) {
    std::fprintf(stderr, "mantissa-studio: --show: unknown page '%s' (one of %s)\n",
                 qPrintable(show), qPrintable(pages.join(", ")));
    return 2;
  }
  if ((args.isSet("run") || args.isSet("compare")) && !options.databasePath.isEmpty() &&
      !QFileInfo::exists(options.databasePath)) {
    std::fprintf(stderr, "mantissa-studio: --database %s: no such file\n",
                 qPrintable(options.databasePath));
    return 2;
  }
  if (args.isSet("run")) {
    const qint64 id = args.value("run").toLongLong();
    HistoryPage* history = showTab<HistoryPage>(window);
    // The run is read on a worker; wait for it before going on.
    bool opened = false;
    if (id > 0 && history) {
      QEventLoop wait;
      QObject::connect(history, &HistoryPage::runOpened, &wait, [&] {
        opened = true;
        wait.quit();
      });
      QObject::connect(history, &HistoryPage::runOpenFailed, &wait, [&] { wait.quit(); });
      if (history->openRun(id)) wait.exec();
    }
    if (!opened) {
      std::fprintf(stderr, "mantissa-studio: --run: no stored run %s\n",
                   qPrintable(args.value("run")));
      return 2;
    }
    history->selectRuns({id});
  }
  if (args.isSet("compare")) {
    const QVector<qint64> ids = runIds(args.value("compare"));
    const qsizetype given =
        args.value("compare").split(QLatin1Char(','), Qt::SkipEmptyParts).size();
    ComparePage* compare = showTab<ComparePage>(window);
    bool shown = false;
    if (ids.size() == given && ids.size() >= 2 && ids.size() <= 6 && compare) {
      QEventLoop wait;
      QObject::connect(compare, &ComparePage::runsShown, &wait, [&](int n) {
        shown = n == ids.size();
        wait.quit();
      });
      if (compare->compareRuns(ids)) wait.exec();
    }
    if (!shown) {
      std::fprintf(stderr, "mantissa-studio: --compare: needs 2 to 6 stored run ids, got '%s'\n",
                   qPrintable(args.value("compare")));
      return 2;
    }
  }
  if (show == u"model") window.tabs()->setCurrentIndex(0);
  if (show == u"training") window.tabs()->setCurrentIndex(1);
  if (show == u"compare") showTab<ComparePage>(window);
  if (show == u"history") showTab<HistoryPage>(window);
  DatasetPage* data = nullptr;
  if (show == u"data") {
    if (auto* open = window.findChild<QAction*>(QStringLiteral("datasetAction"))) open->trigger();
    data = window.findChild<DatasetPage*>();
    if (data) data->load();
  }

  const bool shootTraining = !screenshot.isEmpty() && (show.isEmpty() || show == u"training") &&
                             !args.isSet("run") && !args.isSet("compare");
  if (!screenshot.isEmpty() && data) {
    QObject::connect(data, &DatasetPage::loaded, &window,
                     [&window, data, screenshot] { saveAndQuit(window, data, screenshot); });
    QObject::connect(data, &DatasetPage::loadFailed, &window,
                     [&window, data, screenshot] { saveAndQuit(window, data, screenshot); });
  } else if (!screenshot.isEmpty() && !shootTraining) {
    saveAndQuit(window, &window, screenshot);
  } else if (shootTraining) {
    const qsizetype afterSteps = args.value("after-steps").toLongLong();
    auto* ctl = window.controller();
    auto taken = std::make_shared<bool>(false);
    auto shoot = [&window, screenshot, taken] {
      if (*taken) return;
      *taken = true;
      saveAndQuit(window, &window, screenshot);
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
  if (args.isSet("train") || shootTraining)
    QTimer::singleShot(0, &window, [&window] { window.startTraining(); });
  return QApplication::exec();
}
