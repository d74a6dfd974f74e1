#pragma once
// The Training tab's live plots: loss (smoothed as TensorBoard smooths it,
// the raw curve faint behind; linear or log), loss scale (log, with a marker at every
// skipped step and the cumulative skip count on the right axis), memory and
// throughput, in a 2×2 grid, and under it, once chosen, any other row of the
// metrics table. Metrics arrive in batches from the controller and each batch
// ends in one queued replot per plot. All plots share their x axis (step or
// wall time), their visible range (a double click goes back to all of it,
// following the newest step), and a hover read-out. What each series
// draws, and the axis labels and tooltips, come from the metrics table
// (mantissa/metric_fields.hpp) through seriesTable().
#include <QElapsedTimer>
#include <QMap>
#include <QVector>
#include <QWidget>
#include <array>
#include <memory>
#include <span>

#include "LossSmoothing.hpp"
#include "MetricTypes.hpp"
#include "mantissa/metric_fields.hpp"

class QCustomPlot;
class QCPGraph;
class QCPItemText;
class QCheckBox;
class QHBoxLayout;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;
class QTimer;
class QToolButton;

namespace mantissa::ui {

class PlotReadout;

class LivePlots : public QWidget {
  Q_OBJECT

 public:
  // Metric: the row picked in metricChooser(), hidden while none is.
  enum class Panel { Loss, Scale, Memory, Throughput, Metric };
  static constexpr int kPanelCount = 5;
  enum class Series {
    TrainLoss,          // faint behind the smoothed curve while smoothing is on
    TrainLossSmoothed,  // hidden while smoothing is 0
    ValidationLoss,
    LossScale,
    SkippedMarkers,
    TracedEvents,  // skipped steps traced to the op that overflowed first
    SkippedTotal,
    MemoryInUse,
    MemoryPeak,
    Throughput,
    ThroughputMean,
    ThroughputOutliers,  // steps above the axis, drawn at its top edge
    Metric,              // the chosen row, on Panel::Metric
  };
  static constexpr int kSeriesCount = 13;
  // How a series gets its points from the row it names.
  enum class Draw {
    Value,    // the row's value at every step, in its display unit
    Derived,  // computed from the row (markers, running mean, outliers)
    Epoch,    // an epoch metric, not a row of the step table
    Chosen,   // whichever row the metric chooser names
  };
  struct SeriesInfo {
    Series series;
    Panel panel;
    const mantissa::StepField* metric;  // null for Epoch and Chosen
    Draw draw;
    const char* legend;  // untranslated; the chosen row's label for Chosen
    bool rightAxis = false;
  };
  // Every series of the plots, in Series order.
  static std::span<const SeriesInfo> seriesTable();
  enum class XAxis { Step, WallTime };

  explicit LivePlots(QWidget* parent = nullptr);
  ~LivePlots() override;

  QCustomPlot* plot(Panel panel) const;
  QCPGraph* graph(Series series) const;
  int pointCount(Series series) const;
  qsizetype stepCount() const { return steps_.size(); }

  // Clears the plots for a new run drawn in `policy`'s colour; `label` heads
  // them until the run is known in the store (setStoredRun).
  void beginRun(mantissa::Policy policy, const QString& label);
  // The stored run these plots show. Its name in the header follows a rename
  // written by any run library (RunNotices::runRenamed).
  void setStoredRun(const QString& database, qint64 runId);
  qint64 storedRunId() const { return runId_; }
  QString runLabelText() const;  // the header, as plain text

  // TensorBoard's smoothing of the training loss, 0 (none) to 0.99.
  double smoothing() const { return smoothing_; }
  void setSmoothing(double weight);
  QSlider* smoothingSlider() const { return smoothingSlider_; }
  QDoubleSpinBox* smoothingSpinBox() const { return smoothingSpin_; }
  // The loss plot's value axis: logarithmic or linear.
  bool logLoss() const { return logLoss_; }
  void setLogLoss(bool on);
  QCheckBox* logLossBox() const { return logLossBox_; }
  // Back to every step so far, following the newest (a double click on a plot).
  void resetView();
  // How to move about the plots, shown above them where no read-out covers it.
  QLabel* navigationHint() const { return hintLabel_; }
  void appendSteps(const QVector<mantissa::StepMetrics>& steps);
  void appendEpochs(const QVector<mantissa::EpochMetrics>& epochs);
  // A skipped step traced to where it first went non-finite (provenance.hpp):
  // a marker on the loss-scale curve at that step, and `sentence` in the
  // scale read-out there. Marks arriving before their step is drawn wait
  // for it. Cleared by beginRun.
  void markTracedEvent(qint64 step, const QString& sentence);
  int tracedEventCount() const { return int(traced_.size()); }

  XAxis xAxisMode() const { return xAxis_; }
  void setXAxisMode(XAxis mode);
  bool followLatest() const { return follow_; }
  void setFollowLatest(bool on);
  // Fits every plot to all the data shown (a stored run just loaded).
  void showAll();

  // The hover read-out at `key` (x in the current axis units) in every plot.
  // Returns the step shown, or -1 when there is no data.
  qint64 showReadoutAt(double key);
  void hideReadout();
  QString readoutText(Panel panel) const;

  // The row of the metrics table drawn on Panel::Metric (empty: none) and
  // the combo box that picks it, listing every plottable row.
  QString chosenMetric() const;
  void setChosenMetric(const QString& name);
  QComboBox* metricChooser() const { return metricBox_; }

  bool savePng(Panel panel, const QString& path) const;
  bool saveAllPng(const QString& path);

 public slots:
  // A run renamed in `database`: the header follows when it is the one shown.
  void runRenamed(const QString& database, qint64 runId, const QString& name);

 signals:
  void xAxisModeChanged(mantissa::ui::LivePlots::XAxis mode);
  void followLatestChanged(bool on);
  void smoothingChanged(double weight);
  void logLossChanged(bool on);

 protected:
  void changeEvent(QEvent* event) override;
  void showEvent(QShowEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QCustomPlot* makePlot(const QString& title);
  void addLossControls(QHBoxLayout* bar);  // LivePlotsLoss.cpp
  void showLossCurves();                   // raw and smoothed, as smoothing_ says
  void setHeader(const QString& label);
  void showHeader();  // the header, cut to the label's width
  void ensureHeadroom(QCustomPlot* plot);
  void styleChosenAxis();
  void createSeries();  // the graphs of every panel (LivePlotsSeries.cpp)
  void labelAxes();     // from the metrics table
  void showChosenMetric();
  void addPoints(const QVector<mantissa::StepMetrics>& steps, qsizetype firstIndex);
  void addEpochPoints(const QVector<mantissa::EpochMetrics>& epochs);
  void rebuildData();
  void placeTracedEvents();  // the TracedEvents points, from traced_ and steps_
  void applyPolicyStyle();
  void onRangeChanged(QCustomPlot* source);
  void fitYAxes(QCustomPlot* plot);
  void fitThroughputAxis();
  void followToLatest();
  void replotAll();
  void scheduleReplot();
  void showContextMenu(QCustomPlot* plot, const QPoint& pos);
  double keyOf(const mantissa::StepMetrics& m) const;
  QString chosenValueText(const mantissa::StepMetrics& m) const;
  double keyOf(const mantissa::EpochMetrics& m) const;
  qsizetype indexNearest(double key) const;
  QString xLabel() const;

  std::array<QCustomPlot*, kPanelCount> plots_{};
  std::array<QCPGraph*, kSeriesCount> graphs_{};
  std::array<std::unique_ptr<PlotReadout>, kPanelCount> readouts_;
  std::array<QCPItemText*, kPanelCount> emptyHints_{};
  QToolButton* stepButton_ = nullptr;
  QToolButton* wallButton_ = nullptr;
  QCheckBox* followBox_ = nullptr;
  QComboBox* metricBox_ = nullptr;
  const mantissa::StepField* chosen_ = nullptr;  // drawn on Panel::Metric
  QLabel* runLabel_ = nullptr;
  QLabel* hintLabel_ = nullptr;
  QSlider* smoothingSlider_ = nullptr;
  QDoubleSpinBox* smoothingSpin_ = nullptr;
  QCheckBox* logLossBox_ = nullptr;
  QTimer* replotTimer_;
  QElapsedTimer sinceReplot_;
  bool dirty_ = false;  // data arrived while hidden

  QVector<mantissa::StepMetrics> steps_;
  QVector<mantissa::EpochMetrics> epochs_;
  QMap<qint64, QString> traced_;  // step -> what its provenance says
  QVector<double> smoothedLoss_;  // one per step, smoothing_ applied
  LossSmoother smoother_;         // where smoothedLoss_ got to
  double smoothing_ = 0.6;        // TensorBoard's default
  bool logLoss_ = false;
  QString database_;  // the stored run shown, once known
  qint64 runId_ = 0;
  mantissa::Policy policy_ = mantissa::Policy::Float32;
  XAxis xAxis_ = XAxis::Step;
  bool follow_ = true;
  bool settingRange_ = false;  // ranges being set by code, not by the user
  double throughputWindowSum_ = 0;
};

}  // namespace mantissa::ui
