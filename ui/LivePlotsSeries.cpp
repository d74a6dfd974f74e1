// The live plots' series: the graphs of each panel, their pens, and the
// points each step and epoch adds to them.
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

#include "LivePlots.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

constexpr int kMeanWindow = 20;  // steps in the throughput running mean
constexpr double kMiB = 1024.0 * 1024.0;

int idx(LivePlots::Series s) {
  return int(s);
}

}  // namespace

void LivePlots::createSeries() {
  auto addGraph = [this](Panel panel, Series series, const QString& name, bool rightAxis = false) {
    QCustomPlot* p = plot(panel);
    QCPGraph* g = p->addGraph(p->xAxis, rightAxis ? p->yAxis2 : p->yAxis);
    g->setName(name);
    graphs_[idx(series)] = g;
    return g;
  };
  addGraph(Panel::Loss, Series::TrainLoss, tr("train"));
  QCPGraph* val = addGraph(Panel::Loss, Series::ValidationLoss, tr("validation"));
  val->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
  QCPGraph* scale = addGraph(Panel::Scale, Series::LossScale, tr("scale"));
  scale->setLineStyle(QCPGraph::lsStepLeft);
  QCPGraph* skips = addGraph(Panel::Scale, Series::SkippedMarkers, tr("skipped step"));
  skips->setLineStyle(QCPGraph::lsNone);
  skips->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(skippedStepColor(), 1),
                                         QBrush(skippedStepColor()), 8));
  QCPGraph* total = addGraph(Panel::Scale, Series::SkippedTotal, tr("skipped total"), true);
  total->setLineStyle(QCPGraph::lsStepLeft);
  addGraph(Panel::Memory, Series::MemoryInUse, tr("in use"));
  addGraph(Panel::Memory, Series::MemoryPeak, tr("peak"));
  addGraph(Panel::Throughput, Series::Throughput, tr("per step"));
  addGraph(Panel::Throughput, Series::ThroughputMean, tr("mean of %1").arg(kMeanWindow));
  QCPGraph* outliers = addGraph(Panel::Throughput, Series::ThroughputOutliers, tr("off the scale"));
  outliers->setLineStyle(QCPGraph::lsNone);
}

QCPGraph* LivePlots::graph(Series series) const {
  return graphs_[idx(series)];
}
int LivePlots::pointCount(Series series) const {
  return graph(series)->dataCount();
}

void LivePlots::applyPolicyStyle() {
  const QColor c = policyColor(policy_);
  const Qt::PenStyle style = policyPenStyle(policy_);
  // Widths in device-independent pixels, so lines keep their weight on
  // high-DPI screens.
  auto pen = [](QColor color, qreal width, Qt::PenStyle s) { return QPen(color, width, s); };
  graph(Series::TrainLoss)->setPen(pen(c, 1.4, style));
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
}

// Adds the points of all[firstIndex..] to every step series in one addData()
// per graph.
void LivePlots::addPoints(const QVector<StepMetrics>& all, qsizetype firstIndex) {
  const qsizetype n = all.size() - firstIndex;
  QVector<double> keys(n), loss(n), scale(n), total(n), inUse(n), peak(n), rate(n), mean(n);
  QVector<double> skipKeys, skipScale;
  for (qsizetype i = 0; i < n; ++i) {
    const qsizetype k = firstIndex + i;
    const StepMetrics& m = all[k];
    keys[i] = keyOf(m);
    loss[i] = std::isfinite(m.loss) ? m.loss : qQNaN();
    scale[i] = m.loss_scale;
    total[i] = double(m.skipped_total);
    inUse[i] = double(m.memory_in_use) / kMiB;
    peak[i] = double(m.memory_peak) / kMiB;
    rate[i] = m.samples_per_s;
    double sum = 0;
    const qsizetype from = std::max<qsizetype>(0, k - kMeanWindow + 1);
    for (qsizetype j = from; j <= k; ++j) sum += all[j].samples_per_s;
    mean[i] = sum / double(k - from + 1);
    if (m.skipped) {
      skipKeys.push_back(keys[i]);
      skipScale.push_back(m.loss_scale);
    }
  }
  graph(Series::TrainLoss)->addData(keys, loss, true);
  graph(Series::LossScale)->addData(keys, scale, true);
  graph(Series::SkippedTotal)->addData(keys, total, true);
  graph(Series::MemoryInUse)->addData(keys, inUse, true);
  graph(Series::MemoryPeak)->addData(keys, peak, true);
  graph(Series::Throughput)->addData(keys, rate, true);
  graph(Series::ThroughputMean)->addData(keys, mean, true);
  if (!skipKeys.isEmpty()) graph(Series::SkippedMarkers)->addData(skipKeys, skipScale, true);
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
  if (!steps_.isEmpty()) addPoints(steps_, 0);
  if (!epochs_.isEmpty()) addEpochPoints(epochs_);
}

}  // namespace mantissa::ui
