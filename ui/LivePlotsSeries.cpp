// The live plots' series: which row of the metrics table each one draws, on
// which panel and axis; the graphs, their pens, and the points each step and
// epoch adds to them. A series that draws a row's value at every step needs
// only its line in kSeries; the derived ones (skip markers, running mean,
// outliers, validation loss) are computed below.
#include <qcustomplot.h>

#include <QComboBox>
#include <algorithm>
#include <cmath>
#include <utility>

#include "LivePlots.hpp"
#include "MetricFields.hpp"
#include "PlotReadout.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

constexpr int kMeanWindow = 20;  // steps in the throughput running mean

using S = LivePlots::Series;
using P = LivePlots::Panel;
using D = LivePlots::Draw;

// stepField() in a constant expression: a name the metrics table lacks does
// not compile.
constexpr std::array<LivePlots::SeriesInfo, LivePlots::kSeriesCount> kSeries{{
    {S::TrainLoss, P::Loss, &stepField("loss"), D::Value,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "train")},
    {S::TrainLossSmoothed, P::Loss, &stepField("loss"), D::Derived,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "train, smoothed")},
    {S::ValidationLoss, P::Loss, nullptr, D::Epoch,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "validation")},
    {S::LossScale, P::Scale, &stepField("loss_scale"), D::Value,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "scale")},
    {S::SkippedMarkers, P::Scale, &stepField("skipped"), D::Derived,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "skipped step")},
    {S::TracedEvents, P::Scale, &stepField("loss_scale"), D::Derived,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "overflow traced")},
    {S::SkippedTotal, P::Scale, &stepField("skipped_total"), D::Value,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "skipped total"), true},
    {S::MemoryInUse, P::Memory, &stepField("memory_in_use"), D::Value,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "in use")},
    {S::MemoryPeak, P::Memory, &stepField("memory_peak"), D::Value,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "peak")},
    {S::Throughput, P::Throughput, &stepField("samples_per_s"), D::Value,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "per step")},
    {S::ThroughputMean, P::Throughput, &stepField("samples_per_s"), D::Derived,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "mean of %1")},
    {S::ThroughputOutliers, P::Throughput, &stepField("samples_per_s"), D::Derived,
     QT_TRANSLATE_NOOP("mantissa::ui::LivePlots", "off the scale")},
    {S::Metric, P::Metric, nullptr, D::Chosen, ""},
}};

constexpr bool inSeriesOrder() {
  for (std::size_t i = 0; i < kSeries.size(); ++i)
    if (std::size_t(kSeries[i].series) != i) return false;
  return true;
}
static_assert(inSeriesOrder(), "kSeries lists every series once, in Series order");

int idx(LivePlots::Series s) {
  return int(s);
}

// `all[first..]`'s values of `field` in its display unit; non-finite values
// are gaps.
QVector<double> valuesOf(const StepField& field, const QVector<StepMetrics>& all, qsizetype first) {
  const double divisor = displayUnit(field).divisor;
  QVector<double> out(all.size() - first);
  for (qsizetype i = 0; i < out.size(); ++i) {
    const double v = metricValue(field, all[first + i]) / divisor;
    out[i] = std::isfinite(v) ? v : qQNaN();
  }
  return out;
}

}  // namespace

std::span<const LivePlots::SeriesInfo> LivePlots::seriesTable() {
  return kSeries;
}

void LivePlots::createSeries() {
  for (const SeriesInfo& info : kSeries) {
    QCustomPlot* p = plot(info.panel);
    QCPGraph* g = p->addGraph(p->xAxis, info.rightAxis ? p->yAxis2 : p->yAxis);
    g->setName(info.series == Series::ThroughputMean ? tr(info.legend).arg(kMeanWindow)
                                                     : tr(info.legend));
    graphs_[idx(info.series)] = g;
  }
  graph(Series::ValidationLoss)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
  graph(Series::LossScale)->setLineStyle(QCPGraph::lsStepLeft);
  QCPGraph* skips = graph(Series::SkippedMarkers);
  skips->setLineStyle(QCPGraph::lsNone);
  skips->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(skippedStepColor(), 1),
                                         QBrush(skippedStepColor()), 8));
  QCPGraph* traced = graph(Series::TracedEvents);
  traced->setLineStyle(QCPGraph::lsNone);
  traced->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(overflowColor(), 2),
                                          Qt::NoBrush, 14));
  graph(Series::SkippedTotal)->setLineStyle(QCPGraph::lsStepLeft);
  graph(Series::ThroughputOutliers)->setLineStyle(QCPGraph::lsNone);
  labelAxes();
}

// Each value axis is labelled with the display unit (or the label) of the
// first row drawn on it, and each panel's tooltip says what its rows are.
void LivePlots::labelAxes() {
  for (int i = 0; i < kPanelCount; ++i) {
    const auto panel = Panel(i);
    QCustomPlot* p = plot(panel);
    QStringList about;
    std::array<bool, 2> labelled{};
    for (const SeriesInfo& info : kSeries) {
      const StepField* field = info.draw == Draw::Chosen ? chosen_ : info.metric;
      if (info.panel != panel || !field) continue;
      const QString tip = metricToolTip(*field);
      if (!about.contains(tip)) about << tip;
      if (info.draw == Draw::Derived || std::exchange(labelled[info.rightAxis], true)) continue;
      QString label = metricAxisLabel(*field);
      if (!info.rightAxis && (panel == Panel::Scale || (panel == Panel::Metric &&
                                                         field->name == "loss_scale")))
        label += tr(" (log₂)");
      if (panel == Panel::Loss && logLoss_ && !info.rightAxis) label += tr(" (log)");
      (info.rightAxis ? p->yAxis2 : p->yAxis)->setLabel(label);
    }
    p->setToolTip(about.join(QLatin1Char('\n')));
  }
}

QCPGraph* LivePlots::graph(Series series) const {
  return graphs_[idx(series)];
}
int LivePlots::pointCount(Series series) const {
  return graph(series)->dataCount();
}

// Draws the row picked in the chooser on Panel::Metric, from every step so far.
void LivePlots::showChosenMetric() {
  chosen_ = findStepField(metricBox_->currentData().toString().toStdString());
  QCustomPlot* p = plot(Panel::Metric);
  const QString label = chosen_ ? metricLabel(*chosen_) : QString();
  if (auto* title = qobject_cast<QCPTextElement*>(p->plotLayout()->element(0, 0)))
    title->setText(label);
  QCPGraph* g = graph(Series::Metric);
  g->setName(label);
  g->data()->clear();
  readouts_[int(Panel::Metric)]->hide();
  labelAxes();
  styleChosenAxis();
  p->setVisible(chosen_ != nullptr);
  if (chosen_ && !steps_.isEmpty()) {
    QVector<double> keys(steps_.size());
    for (qsizetype i = 0; i < steps_.size(); ++i) keys[i] = keyOf(steps_[i]);
    g->setData(keys, valuesOf(*chosen_, steps_, 0), true);
    fitYAxes(p);
  }
  replotAll();
}

void LivePlots::applyPolicyStyle() {
  const QColor c = policyColor(policy_);
  const Qt::PenStyle style = policyPenStyle(policy_);
  // Widths in device-independent pixels, so lines keep their weight on
  // high-DPI screens.
  auto pen = [](QColor color, qreal width, Qt::PenStyle s) { return QPen(color, width, s); };
  // Smoothing on, the raw loss is a faint trace behind the smoothed curve,
  // as in TensorBoard.
  QColor raw = c;
  if (smoothing_ > 0) raw.setAlpha(70);
  graph(Series::TrainLoss)->setPen(pen(raw, smoothing_ > 0 ? 1.0 : 1.4, style));
  graph(Series::TrainLossSmoothed)->setPen(pen(c, 1.6, style));
  // The secondary series of a plot: the policy colour moved away from the
  // background, so it stays visible on light and dark palettes.
  const bool darkBase = palette().color(QPalette::Base).lightnessF() < 0.5;
  QColor darker = darkBase ? c.lighter(145) : c.darker(135);
  graph(Series::ValidationLoss)->setPen(pen(darker, 1.6, Qt::DashLine));
  graph(Series::ValidationLoss)
      ->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(darker, 1.5),
                                        QBrush(palette().color(QPalette::Base)), 7));
  graph(Series::LossScale)->setPen(pen(c, 1.8, style));
  QColor grey = okabe_ito::kGrey;
  graph(Series::SkippedTotal)->setPen(pen(grey, 1.2, Qt::DotLine));
  graph(Series::MemoryInUse)->setPen(pen(c, 1.4, style));
  graph(Series::MemoryPeak)->setPen(pen(darker, 1.4, Qt::DashDotLine));
  QColor faint = c;
  faint.setAlpha(80);
  graph(Series::Throughput)->setPen(pen(faint, 1.0, style));
  graph(Series::ThroughputMean)->setPen(pen(c, 2.0, style));
  graph(Series::ThroughputOutliers)
      ->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(darker, 1.2),
                                        QBrush(palette().color(QPalette::Base)), 7));
  graph(Series::Metric)->setPen(pen(c, 1.4, style));
}

// Adds the points of all[firstIndex..] to every step series in one addData()
// per graph.
void LivePlots::addPoints(const QVector<StepMetrics>& all, qsizetype firstIndex) {
  const qsizetype n = all.size() - firstIndex;
  QVector<double> keys(n);
  for (qsizetype i = 0; i < n; ++i) keys[i] = keyOf(all[firstIndex + i]);
  for (const SeriesInfo& info : kSeries)
    if (info.draw == Draw::Value)
      graph(info.series)->addData(keys, valuesOf(*info.metric, all, firstIndex), true);
  // The smoothed loss goes on from where the last batch left it.
  QVector<double> smooth(n);
  for (qsizetype i = 0; i < n; ++i) smooth[i] = smoother_.add(all[firstIndex + i].loss);
  smoothedLoss_.append(smooth);
  graph(Series::TrainLossSmoothed)->addData(keys, smooth, true);
  if (chosen_) graph(Series::Metric)->addData(keys, valuesOf(*chosen_, all, firstIndex), true);

  // Derived: the running mean of the throughput, and a marker on the scale
  // curve at each skipped step.
  QVector<double> mean(n), skipKeys, skipScale;
  for (qsizetype i = 0; i < n; ++i) {
    const qsizetype k = firstIndex + i;
    double sum = 0;
    const qsizetype from = std::max<qsizetype>(0, k - kMeanWindow + 1);
    for (qsizetype j = from; j <= k; ++j) sum += all[j].samples_per_s;
    mean[i] = sum / double(k - from + 1);
    if (all[k].skipped) {
      skipKeys.push_back(keys[i]);
      skipScale.push_back(all[k].loss_scale);
    }
  }
  graph(Series::ThroughputMean)->addData(keys, mean, true);
  if (!skipKeys.isEmpty()) graph(Series::SkippedMarkers)->addData(skipKeys, skipScale, true);
  if (!traced_.isEmpty()) placeTracedEvents();
}

// One diamond per traced step whose row has arrived, on the scale curve.
void LivePlots::placeTracedEvents() {
  QVector<double> keys, values;
  for (auto it = traced_.cbegin(); it != traced_.cend(); ++it) {
    const auto row = std::lower_bound(
        steps_.cbegin(), steps_.cend(), it.key(),
        [](const StepMetrics& m, qint64 step) { return m.step < step; });
    if (row == steps_.cend() || row->step != it.key()) continue;
    keys.push_back(keyOf(*row));
    values.push_back(row->loss_scale);
  }
  graph(Series::TracedEvents)->setData(keys, values, true);
}

void LivePlots::addEpochPoints(const QVector<EpochMetrics>& epochs) {
  QVector<double> keys, values;
  for (const EpochMetrics& e : epochs) {
    if (!std::isfinite(e.val_loss)) continue;
    keys.push_back(keyOf(e));
    values.push_back(e.val_loss);
  }
  graph(Series::ValidationLoss)->addData(keys, values, true);
}

void LivePlots::rebuildData() {
  for (QCPGraph* g : graphs_) g->data()->clear();
  smoothedLoss_.clear();
  smoother_.setWeight(smoothing_);
  if (!steps_.isEmpty()) addPoints(steps_, 0);
  if (!epochs_.isEmpty()) addEpochPoints(epochs_);
  placeTracedEvents();
}

}  // namespace mantissa::ui
