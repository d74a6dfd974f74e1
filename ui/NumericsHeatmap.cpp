#include "NumericsHeatmap.hpp"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <cmath>

#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

// Shares: white (none) through orange to vermillion (all); headroom: red at
// or below 0 binades (overflow), white around 4, blue with room to spare.
QCPColorGradient gradientFor(NumericsMetric m) {
  QCPColorGradient g;
  g.clearColorStops();
  if (m == NumericsMetric::Headroom) {
    g.setColorStopAt(0.0, okabe_ito::kVermillion);
    g.setColorStopAt(0.25, QColor(255, 255, 255));
    g.setColorStopAt(1.0, okabe_ito::kBlue);
  } else {
    g.setColorStopAt(0.0, QColor(255, 255, 255));
    g.setColorStopAt(0.3, okabe_ito::kOrange);
    g.setColorStopAt(1.0, okabe_ito::kVermillion);
  }
  g.setNanHandling(QCPColorGradient::nhTransparent);
  return g;
}

}  // namespace

NumericsHeatmap::NumericsHeatmap(QWidget* parent)
    : QWidget(parent), metricBox_(new QComboBox(this)), hover_(new QLabel(this)),
      plot_(new QCustomPlot(this)), scale_(new QCPColorScale(plot_)) {
  plot_->plotLayout()->addElement(0, 1, scale_);
  auto* layout = new QVBoxLayout(this);
  auto* row = new QHBoxLayout;
  row->addWidget(new QLabel(tr("Colour:"), this));
  for (NumericsMetric m : kNumericsMetrics)
    metricBox_->addItem(QString::fromUtf8(metric_title(m).data(), int(metric_title(m).size())),
                        QString::fromUtf8(metric_key(m).data(), int(metric_key(m).size())));
  metricBox_->setObjectName(QStringLiteral("heatmapMetric"));
  row->addWidget(metricBox_);
  row->addStretch(1);
  layout->addLayout(row);
  layout->addWidget(plot_, 1);
  hover_->setObjectName(QStringLiteral("heatmapCell"));
  layout->addWidget(hover_);
  plot_->setMinimumSize(640, 380);
  connect(metricBox_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (i >= 0 && i < int(std::size(kNumericsMetrics))) setMetric(kNumericsMetrics[i]);
  });
  // A click names the cell and asks for its step.
  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
    if (map_ == nullptr) return;
    double x = 0, y = 0;
    map_->pixelsToCoords(e->pos(), x, y);
    const int column = int(std::lround(x)), r = int(std::lround(-y));
    if (column < 0 || column >= columns() || r < 0 || r >= rows()) return;
    hover_->setText(describe(r, column));
    emit stepChosen(column);
  });
}

void NumericsHeatmap::setData(const std::vector<NumericsSlot>& tensors,
                              const std::vector<NumericsSample>& samples) {
  slots_ = tensors;
  samples_ = samples;
  redraw();
}

void NumericsHeatmap::setMetric(NumericsMetric metric) {
  metric_ = metric;
  const int index = int(std::find(std::begin(kNumericsMetrics), std::end(kNumericsMetrics), metric) -
                        std::begin(kNumericsMetrics));
  if (metricBox_->currentIndex() != index) {
    const QSignalBlocker block(metricBox_);
    metricBox_->setCurrentIndex(index);
  }
  redraw();
}

std::optional<double> NumericsHeatmap::cell(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) return std::nullopt;
  const auto& stats = samples_[std::size_t(column)].stats;
  if (std::size_t(row) >= stats.size()) return std::nullopt;
  return metric_value(stats[std::size_t(row)], metric_);
}

QString NumericsHeatmap::describe(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) return {};
  const std::optional<double> v = cell(row, column);
  const QString what = QString::fromStdString(slots_[std::size_t(row)].label());
  const auto step = samples_[std::size_t(column)].step;
  const QString title = QString::fromUtf8(metric_title(metric_).data(), int(metric_title(metric_).size()));
  if (!v) return tr("%1, step %2: not produced (or all zero)").arg(what).arg(step);
  return tr("%1, step %2: %3 — %4").arg(what).arg(step).arg(*v, 0, 'g', 4).arg(title);
}

void NumericsHeatmap::redraw() {
  plot_->clearPlottables();
  map_ = nullptr;
  if (slots_.empty() || samples_.empty()) {
    plot_->replot();
    return;
  }
  map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
  const int nx = columns(), ny = rows();
  // Row r at y = -r: execution order from the top.
  map_->data()->setSize(nx, ny);
  map_->data()->setRange(QCPRange(0, std::max(1, nx - 1)), QCPRange(-(ny - 1), 0));
  if (nx == 1) map_->data()->setKeyRange(QCPRange(-0.5, 0.5));
  double hi = 0;
  for (int c = 0; c < nx; ++c)
    for (int r = 0; r < ny; ++r) {
      const std::optional<double> v = cell(r, c);
      map_->data()->setCell(c, ny - 1 - r, v ? *v : std::nan(""));
      if (v) hi = std::max(hi, *v);
    }
  map_->setColorScale(scale_);
  map_->setGradient(gradientFor(metric_));
  scale_->axis()->setLabel(QString::fromUtf8(metric_title(metric_).data(), int(metric_title(metric_).size())));
  map_->setInterpolate(false);
  map_->setDataRange(metric_ == NumericsMetric::Headroom ? QCPRange(-4, 16)
                                                          : QCPRange(0, std::max(hi, 1e-9)));
  QSharedPointer<QCPAxisTickerText> names(new QCPAxisTickerText);
  for (int r = 0; r < ny; ++r)
    names->addTick(-r, QString::fromStdString(slots_[std::size_t(r)].label()));
  plot_->yAxis->setTicker(names);
  plot_->yAxis->setRange(-ny + 0.5, 0.5);
  QSharedPointer<QCPAxisTickerText> steps(new QCPAxisTickerText);
  const int every = std::max(1, nx / 10);
  for (int c = 0; c < nx; c += every)
    steps->addTick(c, QString::number(samples_[std::size_t(c)].step));
  plot_->xAxis->setTicker(steps);
  plot_->xAxis->setRange(-0.5, nx - 0.5);
  plot_->xAxis->setLabel(tr("stored step"));
  plot_->setMinimumHeight(std::max(380, 16 * ny + 80));
  plot_->replot();
}

}  // namespace mantissa::ui
