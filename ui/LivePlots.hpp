#pragma once
// The Training tab's live plots: loss, loss scale (log, with a marker at every
// skipped step and the cumulative skip count on the right axis), memory and
// throughput, in a 2×2 grid, and under it, once chosen, any other row of the
// metrics table. Metrics arrive in batches from the controller and each batch
// ends in one queued replot per plot. All plots share their x axis (step or
// wall time), their visible range, and a hover read-out. What each series
// draws, and the axis labels and tooltips, come from the metrics table
// (mantissa/metric_fields.hpp) through seriesTable().
#include <QElapsedTimer>
#include <QVector>
#include <QWidget>
#include <array>
#include <memory>
#include <span>

#include "MetricTypes.hpp"
#include "mantissa/metric_fields.hpp"

class QCustomPlot;
class QCPGraph;
class QCPItemText;
class QCheckBox;
class QComboBox;
class QLabel;
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
    TrainLoss,
    ValidationLoss,
    LossScale,
    SkippedMarkers,
    SkippedTotal,
    MemoryInUse,
    MemoryPeak,
    Throughput,
    ThroughputMean,
    ThroughputOutliers,  // steps above the axis, drawn at its top edge
    Metric,              // the chosen row, on Panel::Metric
  };
  static constexpr int kSeriesCount = 11;
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

  // Clears the plots for a new run drawn in `policy`'s colour.
  void beginRun(mantissa::Policy policy, const QString& label);
  void appendSteps(const QVector<mantissa::StepMetrics>& steps);
  void appendEpochs(const QVector<mantissa::EpochMetrics>& epochs);

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

 signals:
  void xAxisModeChanged(mantissa::ui::LivePlots::XAxis mode);
  void followLatestChanged(bool on);

 protected:
  void changeEvent(QEvent* event) override;
  void showEvent(QShowEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QCustomPlot* makePlot(const QString& title);
  void createSeries();  // the graphs of every panel (LivePlotsSeries.cpp)
  void labelAxes();     // from the metrics table
  void showChosenMetric();
  void addPoints(const QVector<mantissa::StepMetrics>& steps, qsizetype firstIndex);
  void addEpochPoints(const QVector<mantissa::EpochMetrics>& epochs);
  void rebuildData();
  void applyPolicyStyle();
  void onRangeChanged(QCustomPlot* source);
  void fitYAxes(QCustomPlot* plot);
  void fitThroughputAxis();
  void followToLatest();
  void replotAll();
  void scheduleReplot();
  void showContextMenu(QCustomPlot* plot, const QPoint& pos);
  double keyOf(const mantissa::StepMetrics& m) const;
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
  QTimer* replotTimer_;
  QElapsedTimer sinceReplot_;
  bool dirty_ = false;  // data arrived while hidden

  QVector<mantissa::StepMetrics> steps_;
  QVector<mantissa::EpochMetrics> epochs_;
  mantissa::Policy policy_ = mantissa::Policy::Float32;
  XAxis xAxis_ = XAxis::Step;
  bool follow_ = true;
  bool settingRange_ = false;  // ranges being set by code, not by the user
  double throughputWindowSum_ = 0;
};

}  // namespace mantissa::ui
