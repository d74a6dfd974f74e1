// What the live plots show of their data: the newest steps followed, the
// panels' x ranges kept together, and each value axis fitted to what is in
// view (LivePlots.cpp builds the panels and feeds them).
#include "LivePlots.hpp"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace mantissa::ui {

namespace {

// Pixels kept between the highest (lowest) point and the frame, so that a
// marker drawn there (validation loss, skipped step) is whole.
constexpr double kMarkerRoomPx = 9;

// The padding of a value range [lo, hi] drawn over `px` pixels: a share of
// the range, and never less than kMarkerRoomPx.
double rangePadding(double lo, double hi, double share, double px) {
  const double span = hi - lo;
  double pad = span * share;
  if (px > 4 * kMarkerRoomPx) pad = std::max(pad, span * kMarkerRoomPx / (px - 2 * kMarkerRoomPx));
  return pad;
}

}  // namespace

// Shows everything from the first point to the newest one.
void LivePlots::followToLatest() {
  if (steps_.isEmpty()) return;
  const double lo = std::min(0.0, keyOf(steps_.front()));
  const double hi = keyOf(steps_.back());
  const double span = std::max(hi - lo, xAxis_ == XAxis::Step ? 10.0 : 1e-3);
  settingRange_ = true;
  for (QCustomPlot* p : plots_) p->xAxis->setRange(lo - span * 0.01, lo + span * 1.02);
  settingRange_ = false;
  for (QCustomPlot* p : plots_) fitYAxes(p);
}

void LivePlots::onRangeChanged(QCustomPlot* source) {
  if (settingRange_) return;
  // The user dragged or zoomed `source`: the others follow it, and the view
  // stops jumping to the newest step.
  settingRange_ = true;
  const QCPRange range = source->xAxis->range();
  for (QCustomPlot* p : plots_)
    if (p != source) p->xAxis->setRange(range);
  settingRange_ = false;
  if (follow_) setFollowLatest(false);
  for (QCustomPlot* p : plots_) fitYAxes(p);
  replotAll();
}

// Fits each value axis to the data inside the visible x range.
// The throughput axis follows the bulk of the steps in view, not its extremes:
// one step timed across a hiccup (a page fault, another process) would
// otherwise flatten every other to the bottom. The axis ends at the upper
// quartile plus three interquartile ranges (Tukey's far fence); steps above
// it are drawn as markers on the top edge, and the readout gives their value.
void LivePlots::fitThroughputAxis() {
  QCustomPlot* p = plot(Panel::Throughput);
  const QCPRange keys = p->xAxis->range();
  std::vector<double> rates;
  for (auto it = graph(Series::Throughput)->data()->findBegin(keys.lower, false);
       it != graph(Series::Throughput)->data()->constEnd() && it->key <= keys.upper; ++it) {
    if (std::isfinite(it->value) && it->value >= 0) rates.push_back(it->value);
  }
  QCPGraph* outliers = graph(Series::ThroughputOutliers);
  outliers->data()->clear();
  if (rates.empty()) return;
  const auto quantile = [&rates](double q) {
    const auto k = static_cast<std::ptrdiff_t>(q * double(rates.size() - 1));
    std::nth_element(rates.begin(), rates.begin() + k, rates.end());
    return rates[std::size_t(k)];
  };
  const double q1 = quantile(0.25);
  const double q3 = quantile(0.75);
  const double top = *std::max_element(rates.begin(), rates.end());
  const double fence = q3 + 3.0 * (q3 - q1);
  const double upper = std::min(top, std::max(fence, q3 * 1.05)) * 1.08 + 1e-9;
  p->yAxis->setRange(0, upper);
  QVector<double> outKeys, outValues;
  for (auto it = graph(Series::Throughput)->data()->findBegin(keys.lower, false);
       it != graph(Series::Throughput)->data()->constEnd() && it->key <= keys.upper; ++it) {
    if (it->value > upper) {
      outKeys.push_back(it->key);
      outValues.push_back(upper);
    }
  }
  outliers->setData(outKeys, outValues, true);
}

void LivePlots::fitYAxes(QCustomPlot* p) {
  if (p == plot(Panel::Throughput)) {
    fitThroughputAxis();
    return;
  }
  const QCPRange keyRange = p->xAxis->range();
  for (QCPAxis* axis : {p->yAxis, p->yAxis2}) {
    if (!axis->visible()) continue;
    const bool log = axis->scaleType() == QCPAxis::stLogarithmic;
    bool any = false;
    QCPRange total;
    for (int i = 0; i < p->graphCount(); ++i) {
      QCPGraph* g = p->graph(i);
      if (g->valueAxis() != axis || g->data()->isEmpty()) continue;
      bool found = false;
      const QCPRange r = g->getValueRange(found, log ? QCP::sdPositive : QCP::sdBoth, keyRange);
      if (!found) continue;
      total = any ? QCPRange(std::min(total.lower, r.lower), std::max(total.upper, r.upper)) : r;
      any = true;
    }
    if (!any) continue;
    const double px = axis->axisRect()->height();
    if (log) {
      // At least one doubling beyond the data at each end, in log₂ units.
      const double lo = std::log2(total.lower), hi = std::log2(total.upper);
      const double pad = std::max(1.0, rangePadding(lo, hi, 0, px));
      axis->setRange(std::exp2(lo - pad), std::exp2(hi + pad));
    } else if (axis == p->yAxis2) {
      axis->setRange(0, std::max(1.0, total.upper * 1.15));
    } else {
      const double pad = std::max(rangePadding(total.lower, total.upper, 0.08, px),
                                  std::abs(total.upper) * 0.02 + 1e-9);
      const double lower = total.lower >= 0 && total.lower - pad < 0 ? 0 : total.lower - pad;
      axis->setRange(lower, total.upper + pad);
    }
  }
}

}  // namespace mantissa::ui
