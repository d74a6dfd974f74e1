// The loss plot's controls, as TensorBoard has them: smoothing of the
// training loss (0 to 0.99, an exponential moving average with its start
// debiased; the raw curve stays faint behind) and a log scale for the value
// axis. Also how the chosen extra row reads when it is the loss scale: in
// powers of two, on a log₂ axis, as the loss-scale plot does.
#include <qcustomplot.h>

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <cmath>

#include "Format.hpp"
#include "LivePlots.hpp"
#include "MetricFields.hpp"
#include "PlotReadout.hpp"
#include "PlotTheme.hpp"

namespace mantissa::ui {

namespace {

constexpr int kSliderSteps = 99;  // the slider moves in hundredths, to 0.99

bool isLossScale(const StepField* f) {
  return f && f->name == "loss_scale";
}

}  // namespace

void LivePlots::addLossControls(QHBoxLayout* bar) {
  smoother_.setWeight(smoothing_);
  auto* label = new QLabel(tr("Smoothing:"), this);
  bar->addWidget(label);
  smoothingSlider_ = new QSlider(Qt::Horizontal, this);
  smoothingSlider_->setObjectName(QStringLiteral("lossSmoothingSlider"));
  smoothingSlider_->setRange(0, kSliderSteps);
  smoothingSlider_->setFixedWidth(110);
  smoothingSpin_ = new QDoubleSpinBox(this);
  smoothingSpin_->setObjectName(QStringLiteral("lossSmoothingSpin"));
  smoothingSpin_->setRange(0, LossSmoother::kMaxWeight);
  smoothingSpin_->setSingleStep(0.05);
  smoothingSpin_->setDecimals(2);
  smoothingSpin_->setKeyboardTracking(false);  // typed "0.3" is not 0, then 0.3
  const QString tip =
      tr("Smooths the training loss as TensorBoard does: an exponential moving average "
         "(0: none, 0.99: most), debiased at the start. The raw loss stays faint behind it.");
  for (QWidget* w : {static_cast<QWidget*>(label), static_cast<QWidget*>(smoothingSlider_),
                     static_cast<QWidget*>(smoothingSpin_)})
    w->setToolTip(tip);
  label->setBuddy(smoothingSpin_);
  connect(smoothingSlider_, &QSlider::valueChanged, this,
          [this](int v) { setSmoothing(v / 100.0); });
  connect(smoothingSpin_, &QDoubleSpinBox::valueChanged, this, &LivePlots::setSmoothing);
  bar->addWidget(smoothingSlider_);
  bar->addWidget(smoothingSpin_);

  bar->addSpacing(12);
  logLossBox_ = new QCheckBox(tr("Log loss"), this);
  logLossBox_->setObjectName(QStringLiteral("logLossBox"));
  logLossBox_->setToolTip(tr("Draw the loss on a logarithmic axis"));
  connect(logLossBox_, &QCheckBox::toggled, this, &LivePlots::setLogLoss);
  bar->addWidget(logLossBox_);

  const QSignalBlocker a(smoothingSlider_), b(smoothingSpin_);
  smoothingSlider_->setValue(int(std::lround(smoothing_ * 100)));
  smoothingSpin_->setValue(smoothing_);
}

void LivePlots::setSmoothing(double weight) {
  weight = std::isfinite(weight) ? std::clamp(weight, 0.0, LossSmoother::kMaxWeight) : 0.0;
  weight = std::round(weight * 100) / 100;
  if (weight == smoothing_) return;
  smoothing_ = weight;
  {
    const QSignalBlocker a(smoothingSlider_), b(smoothingSpin_);
    smoothingSlider_->setValue(int(std::lround(weight * 100)));
    smoothingSpin_->setValue(weight);
  }
  // Smoothed again from the first step, keyed as the raw loss is.
  smoother_.setWeight(weight);
  QVector<double> raw(steps_.size()), keys(steps_.size());
  for (qsizetype i = 0; i < steps_.size(); ++i) {
    raw[i] = steps_[i].loss;
    keys[i] = keyOf(steps_[i]);
  }
  smoothedLoss_.clear();
  smoothedLoss_.reserve(raw.size());
  for (double v : raw) smoothedLoss_.push_back(smoother_.add(v));
  graph(Series::TrainLossSmoothed)->setData(keys, smoothedLoss_, true);
  applyPolicyStyle();
  showLossCurves();
  fitYAxes(plot(Panel::Loss));
  replotAll();
  emit smoothingChanged(weight);
}

// With smoothing off only the raw loss is drawn, at full strength; with it
// on the smoothed curve leads, in the legend and under the read-out's tracer.
void LivePlots::showLossCurves() {
  const bool on = smoothing_ > 0;
  QCPGraph* smooth = graph(Series::TrainLossSmoothed);
  smooth->setVisible(on);
  if (on)
    smooth->addToLegend();
  else
    smooth->removeFromLegend();
  readouts_[int(Panel::Loss)]->setGraph(on ? smooth : graph(Series::TrainLoss));
}

void LivePlots::setLogLoss(bool on) {
  if (on == logLoss_) return;
  logLoss_ = on;
  {
    const QSignalBlocker block(logLossBox_);
    logLossBox_->setChecked(on);
  }
  QCPAxis* axis = plot(Panel::Loss)->yAxis;
  axis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  axis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                     : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  labelAxes();  // "(log)" after the unit
  fitYAxes(plot(Panel::Loss));
  replotAll();
  emit logLossChanged(on);
}

// A loss scale among the extra rows reads as the loss-scale plot does.
void LivePlots::styleChosenAxis() {
  QCPAxis* axis = plot(Panel::Metric)->yAxis;
  if (isLossScale(chosen_)) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new PowerOfTwoTicker));
  } else {
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  }
}

QString LivePlots::chosenValueText(const StepMetrics& m) const {
  if (!chosen_) return {};
  const double v = metricValue(*chosen_, m);
  return isLossScale(chosen_) ? formatScale(v) : formatMetric(*chosen_, v);
}

}  // namespace mantissa::ui
