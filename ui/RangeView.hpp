#pragma once
// The range view of a run's per-tensor numerics (docs/numerics.md): one strip
// per tensor in execution order on a log2 axis, p1–p99 as a box, the smallest
// and largest non-zero values as whiskers (from the step's histogram; steps
// stored without one show the largest value alone), with fp16's bands behind:
// flushed to zero, subnormal, normal, overflow. Forward tensors are blue,
// backward ones vermillion. A slider scrubs over the stored steps; the title
// gives the step, its loss scale and the smallest headroom to 65,504. Two
// more tabs: layer × step heatmaps (NumericsHeatmap) and one tensor's
// histogram across runs (HistogramOverlay), both following the slider.
// Opened on a run in progress it follows it live (followLive).
#include <QString>
#include <QStringList>
#include <QWidget>
#include <filesystem>
#include <vector>

#include "mantissa/numerics.hpp"

class QCustomPlot;
class QLabel;
class QSlider;
class QTabWidget;
class QTimer;

namespace mantissa::ui {

class HistogramOverlay;
class NumericsHeatmap;

class RangeView : public QWidget {
  Q_OBJECT
 public:
  explicit RangeView(QWidget* parent = nullptr);

  // Reads run `runId`'s slots and every stored step from `database` on this
  // thread (about 50 KB per stored step for a 150-tensor model) and shows its
  // first event step, else its last stored step. False, with message(), when
  // the run has none.
  bool loadRun(const std::filesystem::path& database, qint64 runId);
  // As loadRun, for a run that may have stored nothing yet: says so and waits.
  void openLive(const std::filesystem::path& database, qint64 runId, int intervalMs = 1000);
  // While the run is running (its status in the database), reads the steps
  // stored since every `intervalMs` and adds them; with the slider at the
  // newest step it moves on to each new one. Stops by itself once the run
  // ends. The view of a run in progress: the Run menu opens it on the
  // current run.
  void followLive(int intervalMs = 1000);
  bool isLive() const;
  // Reads the steps stored after the newest shown; returns how many came.
  int readNewSteps();
  // Shows stored step number `index` (0 .. stepCount() - 1).
  void showIndex(int index);

  int stepCount() const { return int(steps_.size()); }
  std::int64_t shownStep() const { return shown_.step; }
  int strips() const { return strips_; }  // tensors drawn for the shown step
  QString title() const;
  const QString& message() const { return message_; }
  QCustomPlot* plot() const { return plot_; }
  QSlider* slider() const { return slider_; }
  QTabWidget* tabs() const { return tabs_; }
  NumericsHeatmap* heatmap() const { return heatmap_; }
  HistogramOverlay* overlay() const { return overlay_; }

 private:
  std::filesystem::path database_;
  qint64 runId_ = 0;
  std::vector<NumericsSlot> slots_;
  std::vector<std::int64_t> steps_;
  std::vector<NumericsSample> samples_;  // every stored step, by step
  NumericsSample shown_;
  int strips_ = 0;
  QString message_;
  QTimer* live_ = nullptr;
  QLabel* title_;
  QSlider* slider_;
  QTabWidget* tabs_;
  QCustomPlot* plot_;
  NumericsHeatmap* heatmap_;
  HistogramOverlay* overlay_;
};

}  // namespace mantissa::ui
