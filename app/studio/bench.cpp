// mantissa-studio-bench: how responsive the studio stays while it trains, and
// what the open window costs in training throughput.
//
// Trains the same project under the same policy headless (the Trainer with no
// sink work) and through the studio's window and controller, alternating,
// `--reps` times each. During the studio runs a 5 ms timer on the GUI thread
// measures how late the event loop serves it. Prints the median throughputs
// and the p50 / p99 / max event-loop delay over all studio runs.
//
// --history-steps N instead stores two runs of N steps each and measures the
// longest event-loop stall (a 5 ms probe timer) while History opens one and
// Compare shows both (reading, plotting and tables included).
#include <qcustomplot.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "ComparePage.hpp"
#include "HistoryPage.hpp"
#include "LivePlots.hpp"
#include "MainWindow.hpp"
#include "ProjectDocument.hpp"
#include "StudioPaths.hpp"
#include "services/TrainingController.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/store.hpp"

using namespace mantissa;
using namespace mantissa::ui;

namespace {

constexpr std::int64_t kWarmupSteps = 10;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// On a thread of its own, as the studio trains: the GUI thread never starts
// an OpenMP team, and a team left idle on it could compete with the trainer's.
double headlessSamplesPerSecond(const Project& project) {
  double rate = 0;
  std::thread worker([&] {
    auto backend = create_backend(project.training.backend);
    TrainOptions options;
    options.evaluate = false;
    options.warmup_steps_excluded = kWarmupSteps;
    Trainer trainer(project, *backend, options);
    MetricsSink none;
    TrainControl control;
    rate = trainer.run(none, control).samples_per_s;
  });
  worker.join();
  return rate;
}

struct StudioResult {
  double samplesPerSecond = 0;
  std::vector<double> delaysMs;  // how late each probe tick fired
  double replotMs = 0;           // the four plots, mean of their last replots
  double guiBusy = 0;            // GUI thread CPU time over wall time, while training
  bool ok = false;
};

StudioResult studioRun(const Project& project, const QTemporaryDir& tmp, int intervalMs) {
  StudioResult r;
  StudioOptions options;
  options.databasePath = tmp.filePath(QStringLiteral("bench.db"));
  options.settingsFile = tmp.filePath(QStringLiteral("bench.ini"));
  options.restoreWindowState = false;
  MainWindow window(options);
  window.document()->reset(project, QString::fromStdString(project.file.string()));
  window.resize(1600, 1000);
  window.show();

  QElapsedTimer clock;
  qint64 last = 0;
  bool measuring = false;
  double cpuAtStart = 0;
  QTimer probe;
  probe.setTimerType(Qt::PreciseTimer);
  probe.setInterval(intervalMs);
  QObject::connect(&probe, &QTimer::timeout, &window, [&] {
    const qint64 now = clock.nsecsElapsed();
    if (measuring) r.delaysMs.push_back(std::max(0.0, double(now - last) / 1e6 - intervalMs));
    last = now;
  });
  // Throughput as the headless run counts it: samples over step time, after
  // the warm-up steps.
  double samples = 0, seconds = 0;
  TrainingController* ctl = window.controller();
  QObject::connect(ctl, &TrainingController::stepsRecorded, &window,
                   [&](quint64, const QVector<StepMetrics>& steps) {
                     for (const StepMetrics& m : steps) {
                       if (m.step <= kWarmupSteps) continue;
                       samples += m.samples_per_s * m.step_time_s;
                       seconds += m.step_time_s;
                     }
                   });
  QObject::connect(ctl, &TrainingController::runStarted, &window,
                   [&](quint64, qint64, const RunStart&) {
                     measuring = true;
                     cpuAtStart = threadCpuSeconds();
                     clock.start();
                     last = 0;
                     probe.start();
                   });
  QObject::connect(
      ctl, &TrainingController::runFinished, &window, [&](quint64, qint64, const RunSummary&) {
        measuring = false;
        probe.stop();
        r.guiBusy = (threadCpuSeconds() - cpuAtStart) / (double(clock.nsecsElapsed()) * 1e-9);
        QApplication::exit(0);
      });
  QObject::connect(ctl, &TrainingController::runFailed, &window, [&](quint64, const QString& m) {
    std::fprintf(stderr, "mantissa-studio-bench: %s\n", qPrintable(m));
    QApplication::exit(1);
  });
  QTimer::singleShot(200, &window, [&] { window.startTraining(); });
  r.ok = QApplication::exec() == 0;
  r.samplesPerSecond = seconds > 0 ? samples / seconds : 0;
  for (auto panel : {LivePlots::Panel::Loss, LivePlots::Panel::Scale, LivePlots::Panel::Memory,
                     LivePlots::Panel::Throughput})
    r.replotMs += window.livePlots()->plot(panel)->replotTime(true);
  return r;
}

// Two stored runs of `steps` steps each (and an epoch per 1,000 steps).
std::vector<qint64> storeLongRuns(const QString& db, std::int64_t steps) {
  RunStore store(db.toStdString());
  std::vector<qint64> ids;
  for (const char* policy : {"float32", "mixed_float16"}) {
    NewRun n;
    n.name = std::string("long ") + policy;
    n.project_name = "long";
    n.policy = policy;
    const std::int64_t id = store.create_run(n);
    for (std::int64_t s = 1; s <= steps; ++s) {
      StepMetrics m;
      m.step = s;
      m.epoch = (s - 1) / 1000;
      m.loss = 2.0 / double(1 + s / 100);
      m.loss_scale = 65536;
      m.samples_per_s = 50000 + double(s % 97);
      m.step_time_s = 0.002;
      m.memory_in_use = m.memory_peak = 1 << 20;
      m.wall_time_s = 0.002 * double(s);
      store.append_step(id, m);
      if (s % 1000 == 0) store.append_epoch(id, {m.epoch, s, m.loss, m.loss, 0.9, m.wall_time_s});
    }
    store.flush();
    ids.push_back(id);
  }
  return ids;
}

// Runs `start`, then the event loop until `done` is emitted, with a 5 ms
// probe timer on the GUI thread: the longest the loop kept it waiting.
template <class Sender, class Signal>
double longestStallMs(const std::function<void()>& start, Sender* sender, Signal done) {
  QEventLoop loop;
  QObject::connect(sender, done, &loop, [&] { loop.quit(); });
  QElapsedTimer clock;
  qint64 last = 0;
  double longest = 0;
  QTimer probe;
  probe.setTimerType(Qt::PreciseTimer);
  probe.setInterval(5);
  QObject::connect(&probe, &QTimer::timeout, &loop, [&] {
    const qint64 now = clock.nsecsElapsed();
    longest = std::max(longest, double(now - last) / 1e6 - 5.0);
    last = now;
  });
  clock.start();
  probe.start();
  start();
  // The call itself holds the loop too.
  longest = std::max(longest, double(clock.nsecsElapsed() - last) / 1e6);
  QTimer::singleShot(60000, &loop, [&] { loop.quit(); });
  loop.exec();
  // The handler that emitted `done` ran since the last tick.
  longest = std::max(longest, double(clock.nsecsElapsed() - last) / 1e6);
  return std::max(0.0, longest);
}

int historyBench(std::int64_t steps) {
  QTemporaryDir tmp;
  const QString db = tmp.filePath(QStringLiteral("long.db"));
  QElapsedTimer fill;
  fill.start();
  const std::vector<qint64> ids = storeLongRuns(db, steps);
  std::printf("stored 2 runs of %lld steps in %.1f s\n", static_cast<long long>(steps),
              double(fill.elapsed()) / 1000.0);
  StudioOptions options;
  options.databasePath = db;
  options.settingsFile = tmp.filePath(QStringLiteral("bench.ini"));
  options.restoreWindowState = false;
  MainWindow window(options);
  window.resize(1600, 1000);
  window.show();
  QApplication::processEvents();
  auto* history = window.findChild<HistoryPage*>();
  auto* compare = window.findChild<ComparePage*>();
  if (history == nullptr || compare == nullptr) return 1;
  const double open = longestStallMs([&] { history->openRun(ids[0]); }, history,
                                     &HistoryPage::runOpened);
  const double both = longestStallMs(
      [&] { compare->compareRuns(QVector<qint64>(ids.begin(), ids.end())); }, compare,
      &ComparePage::runsShown);
  const bool ok = history->openedRunId() == ids[0] && compare->runs().size() == 2;
  std::printf(
      "longest GUI event-loop stall: History opening a %lld-step run %.0f ms; Compare of two "
      "%.0f ms\n",
      static_cast<long long>(steps), open, both);
  return ok ? 0 : 1;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = std::size_t(q * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double median(std::vector<double> v) {
  return percentile(std::move(v), 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QCommandLineParser args;
  args.addHelpOption();
  args.addOptions({
      {"project", "Project file (default: the sample mnist-mlp).", "file"},
      {"policy", "Precision policy.", "name", "float32"},
      {"steps", "Steps per run.", "n", "200"},
      {"reps", "Runs of each kind.", "n", "3"},
      {"interval", "Probe timer interval in ms.", "ms", "5"},
      {"history-steps", "Instead: how long History and Compare block on runs of n steps.", "n"},
  });
  args.process(app);
  if (args.isSet("history-steps"))
    return historyBench(std::max<std::int64_t>(1, args.value("history-steps").toLongLong()));

  Project project;
  try {
    const QString path = args.isSet("project") ? args.value("project") : defaultProjectPath();
    project = load_project(path.toStdString());
    project.training.policy = parse_policy(args.value("policy").toStdString());
    project.training.steps = args.value("steps").toLongLong();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mantissa-studio-bench: %s\n", e.what());
    return 2;
  }
  const int interval = std::max(1, args.value("interval").toInt());
  const int reps = std::max(1, args.value("reps").toInt());
  std::printf("project %s, policy %s, %lld steps, batch %lld, %d runs of each\n",
              project.name.c_str(), std::string(policy_name(project.training.policy)).c_str(),
              static_cast<long long>(*project.training.steps),
              static_cast<long long>(project.training.batch_size), reps);

  QTemporaryDir tmp;
  std::vector<double> headless, studio, delays, replot, busy;
  for (int i = 0; i < reps; ++i) {
    headless.push_back(headlessSamplesPerSecond(project));
    StudioResult r = studioRun(project, tmp, interval);
    if (!r.ok) return 1;
    studio.push_back(r.samplesPerSecond);
    delays.insert(delays.end(), r.delaysMs.begin(), r.delaysMs.end());
    replot.push_back(r.replotMs);
    busy.push_back(r.guiBusy);
    std::printf("  run %d: headless %.0f samples/s, studio %.0f samples/s\n", i + 1,
                headless.back(), studio.back());
  }
  const double h = median(headless), s = median(studio);
  std::printf("headless trainer (median):     %.0f samples/s\n", h);
  std::printf("studio, window open (median):  %.0f samples/s (%.1f %% of headless)\n", s,
              h > 0 ? 100.0 * s / h : 0.0);
  std::printf(
      "GUI event-loop delay, %d ms timer, %zu ticks: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      interval, delays.size(), percentile(delays, 0.5), percentile(delays, 0.99),
      delays.empty() ? 0.0 : *std::max_element(delays.begin(), delays.end()));
  std::printf("replot of the four plots: %.2f ms; GUI thread busy %.1f %% of the run (medians)\n",
              median(replot), 100.0 * median(busy));
  return 0;
}
