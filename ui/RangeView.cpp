#include "RangeView.hpp"

#include <qcustomplot.h>

#include <QLabel>
#include <QSlider>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <cmath>

#include "HistogramOverlay.hpp"
#include "NumericsHeatmap.hpp"
#include "PolicyColors.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/store.hpp"
#include "mantissa/units.hpp"

namespace mantissa::ui {

namespace {

namespace nb = numerics_bits;

constexpr double kLeft = -40, kRight = 24;  // the histogram's binades, in log2

// The log2 position of a histogram bin: its binade's exponent; fp32
// subnormals sit at the left edge.
double binPosition(int bin) {
  if (bin == nb::kBinSubnormal) return kLeft;
  const auto e = bin_exponent(bin);
  return e ? double(*e) : kLeft;
}

struct Spread {
  double lo = 0, p1 = 0, median = 0, p99 = 0, hi = 0;
  bool any = false;
};

// Quantiles of the non-zero finite values from the histogram (binade
// resolution).
Spread spreadOf(const Histogram& h) {
  std::uint64_t total = 0;
  for (int b = nb::kBinSubnormal; b < nb::kBinNonFinite; ++b) total += h[std::size_t(b)];
  Spread s;
  if (total == 0) return s;
  s.any = true;
  const auto quantile = [&](double q) {
    const double want = q * double(total);
    std::uint64_t seen = 0;
    for (int b = nb::kBinSubnormal; b < nb::kBinNonFinite; ++b) {
      seen += h[std::size_t(b)];
      if (double(seen) >= want) return binPosition(b) + 0.5;
    }
    return kRight;
  };
  for (int b = nb::kBinSubnormal; b < nb::kBinNonFinite; ++b)
    if (h[std::size_t(b)] > 0) {
      s.lo = binPosition(b);
      break;
    }
  for (int b = nb::kBinNonFinite - 1; b >= nb::kBinSubnormal; --b)
    if (h[std::size_t(b)] > 0) {
      s.hi = binPosition(b) + 1;
      break;
    }
  s.p1 = quantile(0.01);
  s.median = quantile(0.5);
  s.p99 = quantile(0.99);
  return s;
}

void band(QCustomPlot* plot, double from, double to, const QColor& color, const QString& label) {
  auto* rect = new QCPItemRect(plot);
  rect->setLayer(QStringLiteral("background"));
  rect->topLeft->setTypeX(QCPItemPosition::ptPlotCoords);
  rect->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
  rect->bottomRight->setTypeX(QCPItemPosition::ptPlotCoords);
  rect->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
  rect->topLeft->setCoords(from, 0);
  rect->bottomRight->setCoords(to, 1);
  rect->setPen(Qt::NoPen);
  rect->setBrush(color);
  auto* text = new QCPItemText(plot);
  text->position->setTypeX(QCPItemPosition::ptPlotCoords);
  text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
  text->position->setCoords((from + to) / 2, 0.0);
  text->setPositionAlignment(Qt::AlignHCenter | Qt::AlignTop);
  text->setText(label);
  text->setColor(QColor(90, 90, 90));
  text->setClipToAxisRect(true);
}

}  // namespace

RangeView::RangeView(QWidget* parent)
    : QWidget(parent), title_(new QLabel(this)), slider_(new QSlider(Qt::Horizontal, this)),
      tabs_(new QTabWidget(this)), plot_(new QCustomPlot), heatmap_(new NumericsHeatmap),
      overlay_(new HistogramOverlay) {
  auto* layout = new QVBoxLayout(this);
  title_->setWordWrap(true);
  layout->addWidget(title_);
  layout->addWidget(slider_);
  layout->addWidget(tabs_, 1);
  tabs_->addTab(plot_, tr("Ranges"));
  tabs_->addTab(heatmap_, tr("Heatmap"));
  tabs_->addTab(overlay_, tr("Across runs"));
  slider_->setEnabled(false);
  connect(slider_, &QSlider::valueChanged, this, &RangeView::showIndex);
  connect(heatmap_, &NumericsHeatmap::stepChosen, slider_, &QSlider::setValue);
  plot_->setMinimumSize(640, 420);
}

bool RangeView::loadRun(const std::filesystem::path& database, qint64 runId) {
  database_ = database;
  runId_ = runId;
  slots_.clear();
  steps_.clear();
  samples_.clear();
  message_.clear();
  if (live_) live_->stop();
  try {
    RunStore store(database, StoreOptions::reading());
    store.require_run(runId);
    slots_ = store.numerics_slots(runId);
    std::int64_t first = 0;
    for (const auto& s : store.numerics_steps(runId)) {
      auto sample = store.numerics_sample(runId, s.step);
      if (!sample) continue;
      steps_.push_back(s.step);
      samples_.push_back(std::move(*sample));
      if (first == 0 && s.reason == "event") first = s.step;
    }
    if (slots_.empty() || steps_.empty()) {
      message_ = tr("Run %1 has no per-tensor numerics.").arg(runId);
      title_->setText(message_);
      return false;
    }
    const auto at = std::find(steps_.begin(), steps_.end(), first);
    const int index = at == steps_.end() ? int(steps_.size()) - 1 : int(at - steps_.begin());
    heatmap_->setData(slots_, samples_);
    overlay_->load(database, runId);
    const QSignalBlocker block(slider_);
    slider_->setRange(0, int(steps_.size()) - 1);
    slider_->setEnabled(steps_.size() > 1);
    slider_->setValue(index);
    showIndex(index);
    return true;
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    title_->setText(message_);
    return false;
  }
}

void RangeView::openLive(const std::filesystem::path& database, qint64 runId, int intervalMs) {
  if (!loadRun(database, runId))
    title_->setText(tr("Run %1: waiting for its first stored step…").arg(runId));
  followLive(intervalMs);
}

void RangeView::followLive(int intervalMs) {
  if (!live_) {
    live_ = new QTimer(this);
    connect(live_, &QTimer::timeout, this, [this] {
      bool running = false;
      try {
        RunStore store(database_, StoreOptions::reading());
        const auto run = store.get_run(runId_);
        running = run && run->status == RunStatus::Running;
      } catch (const std::exception&) {
        // Busy or gone for a moment: the next tick reads again.
        running = true;
      }
      readNewSteps();
      if (!running) live_->stop();  // the run's last steps are in
    });
  }
  live_->start(intervalMs);
}

bool RangeView::isLive() const {
  return live_ && live_->isActive();
}

int RangeView::readNewSteps() {
  if (runId_ == 0) return 0;
  const std::int64_t last = steps_.empty() ? 0 : steps_.back();
  const bool atNewest = steps_.empty() || slider_->value() == int(steps_.size()) - 1;
  int added = 0;
  try {
    RunStore store(database_, StoreOptions::reading());
    if (slots_.empty()) slots_ = store.numerics_slots(runId_);
    if (slots_.empty()) return 0;
    for (const auto& s : store.numerics_steps(runId_)) {
      if (s.step <= last) continue;
      auto sample = store.numerics_sample(runId_, s.step);
      if (!sample) continue;
      steps_.push_back(s.step);
      samples_.push_back(std::move(*sample));
      ++added;
    }
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    return 0;
  }
  if (added == 0) return 0;
  message_.clear();
  heatmap_->setData(slots_, samples_);
  if (last == 0) overlay_->load(database_, runId_);
  const int newest = int(steps_.size()) - 1;
  {
    const QSignalBlocker block(slider_);
    slider_->setRange(0, newest);
    slider_->setEnabled(steps_.size() > 1);
    if (atNewest) slider_->setValue(newest);
  }
  if (atNewest) showIndex(newest);
  return added;
}

QString RangeView::title() const {
  return title_->text();
}

void RangeView::showIndex(int index) {
  if (index < 0 || index >= int(samples_.size())) return;
  shown_ = samples_[std::size_t(index)];
  overlay_->setStep(shown_.step);
  plot_->clearPlottables();
  plot_->clearItems();
  plot_->clearGraphs();
  // fp16's ranges behind the strips (bf16 keeps fp32's range: normal on the
  // whole axis).
  band(plot_, kLeft, -25, QColor(120, 120, 120, 40), tr("flush (fp16)"));
  band(plot_, -25, -14, QColor(230, 159, 0, 45), tr("subnormal"));
  band(plot_, -14, 16, QColor(0, 158, 115, 28), tr("fp16 normal"));
  band(plot_, std::log2(65520.0), kRight, QColor(213, 94, 0, 55), tr("overflow"));

  QSharedPointer<QCPAxisTickerText> names(new QCPAxisTickerText);
  auto* forward = new QCPStatisticalBox(plot_->yAxis, plot_->xAxis);
  auto* backward = new QCPStatisticalBox(plot_->yAxis, plot_->xAxis);
  forward->setBrush(QColor(0, 114, 178, 90));
  forward->setPen(QPen(QColor(0, 114, 178)));
  backward->setBrush(QColor(213, 94, 0, 90));
  backward->setPen(QPen(QColor(213, 94, 0)));
  forward->setName(tr("forward"));
  backward->setName(tr("backward"));
  auto* peaks = plot_->addGraph(plot_->yAxis, plot_->xAxis);
  peaks->setLineStyle(QCPGraph::lsNone);
  peaks->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, 7));
  peaks->setName(tr("|x|max"));
  strips_ = 0;
  double headroom = INFINITY;
  int row = 0;
  for (std::size_t i = 0; i < slots_.size() && i < shown_.stats.size(); ++i) {
    const TensorStats& s = shown_.stats[i];
    if (!s.produced()) continue;
    const double y = -double(row++);  // top to bottom in execution order
    names->addTick(y, QString::fromStdString(slots_[i].label()) +
                          (s.nonfinite() > 0 ? QStringLiteral("  ✕ %1 non-finite").arg(s.nonfinite())
                                             : QString()));
    ++strips_;
    const bool back = slots_[i].role == TensorRole::ActivationGrad ||
                      slots_[i].role == TensorRole::WeightGrad;
    if (s.amax > 0) {
      peaks->addData(y, std::log2(double(s.amax)));
      headroom = std::min(headroom, std::log2(65504.0 / double(s.amax)));
    }
    if (i < shown_.histograms.size()) {
      const Spread sp = spreadOf(shown_.histograms[i]);
      if (sp.any) (back ? backward : forward)->addData(y, sp.lo, sp.p1, sp.median, sp.p99, sp.hi);
    }
  }
  plot_->yAxis->setTicker(names);
  plot_->yAxis->setRange(-double(row) + 0.5, 0.5);
  plot_->xAxis->setRange(kLeft, kRight);
  QSharedPointer<QCPAxisTickerText> binades(new QCPAxisTickerText);
  for (int e = int(kLeft); e <= int(kRight); e += 8)
    binades->addTick(e, QStringLiteral("2^%1").arg(e));
  plot_->xAxis->setTicker(binades);
  plot_->xAxis->setLabel(tr("|x| (log2; boxes p1–p99, whiskers min–max, ◆ largest)"));
  plot_->legend->setVisible(true);
  plot_->setMinimumHeight(std::max(420, 18 * row + 80));
  plot_->replot();
  title_->setText(tr("Run %1, step %2 (%3, scale %4): %5 tensors; smallest headroom to 65,504: %6")
                      .arg(runId_)
                      .arg(shown_.step)
                      .arg(QString::fromStdString(shown_.reason))
                      .arg(QString::fromStdString(loss_scale_text(shown_.scale)))
                      .arg(strips_)
                      .arg(std::isfinite(headroom) ? tr("%1 binades").arg(headroom, 0, 'f', 1)
                                                   : tr("none (all zero)")));
}

}  // namespace mantissa::ui
