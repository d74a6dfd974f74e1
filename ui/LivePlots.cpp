#include "LivePlots.hpp"

#include <qcustomplot.h>

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QHelpEvent>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "Format.hpp"
#include "MetricFields.hpp"
#include "PlotReadout.hpp"
#include "PlotTheme.hpp"
#include "PolicyColors.hpp"
#include "services/RunLibrary.hpp"

namespace mantissa::ui {

namespace {

constexpr qint64 kMinReplotMs = 33;      // ~30 Hz at most
constexpr qint64 kMaxReplotMs = 500;     // 2 Hz at least
constexpr double kReplotCostShare = 60;  // wait 60× the last replot's duration: <2 % of a core

int idx(LivePlots::Panel p) {
  return int(p);
}

}  // namespace

LivePlots::LivePlots(QWidget* parent) : QWidget(parent), replotTimer_(new QTimer(this)) {
  replotTimer_->setSingleShot(true);
  connect(replotTimer_, &QTimer::timeout, this, &LivePlots::replotAll);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->setSpacing(4);

  // Controls shared by all the plots.
  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(6, 2, 6, 0);
  bar->addWidget(new QLabel(tr("X axis:"), this));
  stepButton_ = new QToolButton(this);
  stepButton_->setText(tr("Step"));
  wallButton_ = new QToolButton(this);
  wallButton_->setText(tr("Wall time"));
  auto* group = new QButtonGroup(this);
  for (QToolButton* b : {stepButton_, wallButton_}) {
    b->setCheckable(true);
    b->setAutoRaise(false);
    group->addButton(b);
    bar->addWidget(b);
  }
  stepButton_->setToolTip(tr("Plot every metric against the training step"));
  wallButton_->setToolTip(tr("Plot every metric against seconds since the run started"));
  stepButton_->setChecked(true);
  connect(stepButton_, &QToolButton::toggled, this,
          [this](bool on) { setXAxisMode(on ? XAxis::Step : XAxis::WallTime); });
  bar->addSpacing(12);
  followBox_ = new QCheckBox(tr("Follow latest"), this);
  followBox_->setChecked(true);
  followBox_->setToolTip(
      tr("Keep the newest step in view. Dragging or zooming a plot turns this off."));
  connect(followBox_, &QCheckBox::toggled, this, &LivePlots::setFollowLatest);
  bar->addWidget(followBox_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel(tr("Also plot:"), this));
  metricBox_ = new QComboBox(this);
  metricBox_->setObjectName(QStringLiteral("plotMetricChooser"));
  metricBox_->setToolTip(tr("Plot another per-step metric under the others"));
  metricBox_->addItem(tr("nothing more"), QString());
  // Every row of the metrics table, named and described as the table does.
  for (const StepField* f : plottableStepFields()) {
    metricBox_->addItem(metricLabel(*f), fromView(f->name));
    metricBox_->setItemData(metricBox_->count() - 1, metricToolTip(*f), Qt::ToolTipRole);
  }
  connect(metricBox_, &QComboBox::currentIndexChanged, this, &LivePlots::showChosenMetric);
  // As wide as its longest name where there is room; narrower where not.
  metricBox_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  metricBox_->setMinimumContentsLength(8);
  bar->addWidget(metricBox_);
  bar->addStretch(1);
  runLabel_ = new QLabel(this);
  runLabel_->setObjectName(QStringLiteral("plotsRunLabel"));
  runLabel_->setTextFormat(Qt::RichText);
  // A long run name gives way (cut at its end) before the plots do.
  runLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  runLabel_->setMinimumWidth(runLabel_->fontMetrics().averageCharWidth() * 8);
  runLabel_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
  runLabel_->installEventFilter(this);
  bar->addWidget(runLabel_, 2);
  outer->addLayout(bar);
  // The loss plot's controls, and how to move about the plots: above them,
  // where neither a tooltip nor the hover read-out can hide it.
  auto* second = new QHBoxLayout;
  second->setContentsMargins(6, 0, 6, 0);
  addLossControls(second);
  const QString hint = tr("Drag: pan · wheel: zoom (all plots together) · double-click: show all · "
                          "right-click: save");
  hintLabel_ = new QLabel(hint, this);
  hintLabel_->setObjectName(QStringLiteral("plotsNavigationHint"));
  hintLabel_->setToolTip(hint);
  hintLabel_->setEnabled(false);  // drawn faint: a reminder, not a control
  // It gives way first in a narrow window; the plots keep their room.
  hintLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  hintLabel_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
  hintLabel_->installEventFilter(this);  // cut at its end, with "…", when narrow
  second->addWidget(hintLabel_, 1);
  outer->addLayout(second);

  auto* grid = new QGridLayout;
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setSpacing(2);
  plots_[idx(Panel::Loss)] = makePlot(tr("Loss"));
  plots_[idx(Panel::Scale)] = makePlot(tr("Loss scale"));
  plots_[idx(Panel::Memory)] = makePlot(tr("Memory"));
  plots_[idx(Panel::Throughput)] = makePlot(tr("Throughput"));
  plots_[idx(Panel::Metric)] = makePlot(QString());
  grid->addWidget(plots_[0], 0, 0);
  grid->addWidget(plots_[1], 0, 1);
  grid->addWidget(plots_[2], 1, 0);
  grid->addWidget(plots_[3], 1, 1);
  grid->addWidget(plots_[4], 2, 0, 1, 2);
  plot(Panel::Metric)->hide();
  outer->addLayout(grid, 1);

  createSeries();

  QCustomPlot* sp = plot(Panel::Scale);
  sp->yAxis->setScaleType(QCPAxis::stLogarithmic);
  sp->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new PowerOfTwoTicker));
  sp->yAxis2->setVisible(true);
  sp->yAxis2->setRange(0, 1);
  QSharedPointer<QCPAxisTickerFixed> intTicker(new QCPAxisTickerFixed);
  intTicker->setTickStep(1);
  intTicker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  sp->yAxis2->setTicker(intTicker);
  sp->yAxis->setRange(1, 65536);

  for (int i = 0; i < kPanelCount; ++i) {
    QCustomPlot* p = plots_[i];
    QCPGraph* main = i == idx(Panel::Loss)         ? graph(Series::TrainLoss)
                     : i == idx(Panel::Scale)      ? graph(Series::LossScale)
                     : i == idx(Panel::Memory)     ? graph(Series::MemoryInUse)
                     : i == idx(Panel::Throughput) ? graph(Series::ThroughputMean)
                                                   : graph(Series::Metric);
    readouts_[i] = std::make_unique<PlotReadout>(p, main);
    auto* empty = new QCPItemText(p);
    empty->position->setType(QCPItemPosition::ptAxisRectRatio);
    empty->position->setCoords(0.5, 0.5);
    empty->setText(tr("No run yet — press Train"));
    empty->setColor(palette().color(QPalette::Disabled, QPalette::Text));
    emptyHints_[i] = empty;
    applyPlotTheme(p);
    p->legend->setVisible(true);
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  }
  applyPolicyStyle();
  showLossCurves();
  connect(RunNotices::instance(), &RunNotices::runRenamed, this, &LivePlots::runRenamed);
}

LivePlots::~LivePlots() = default;

QCustomPlot* LivePlots::makePlot(const QString& title) {
  auto* p = new QCustomPlot(this);
  p->setMinimumSize(240, 170);
  p->setMouseTracking(true);
  // To hide the read-out when the mouse leaves, and the tooltip where the
  // read-out shows.
  p->installEventFilter(this);
  p->setNoAntialiasingOnDrag(true);
  p->setPlottingHint(QCP::phFastPolylines, true);
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  p->axisRect()->setRangeDrag(Qt::Horizontal);
  p->axisRect()->setRangeZoom(Qt::Horizontal);
  p->plotLayout()->insertRow(0);
  QFont tf = font();
  tf.setBold(true);
  auto* t = new QCPTextElement(p, title, tf);
  t->setMargins(QMargins(0, 4, 0, 0));
  p->plotLayout()->addElement(0, 0, t);
  p->xAxis->setLabel(xLabel());
  p->xAxis->setRange(0, 100);
  p->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(p, &QWidget::customContextMenuRequested, this,
          [this, p](const QPoint& pos) { showContextMenu(p, pos); });
  connect(p->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
          [this, p](const QCPRange&) { onRangeChanged(p); });
  connect(p, &QCustomPlot::mouseMove, this, [this, p](QMouseEvent* e) {
    if (!p->axisRect()->rect().contains(e->pos())) {
      hideReadout();
      return;
    }
    showReadoutAt(p->xAxis->pixelToCoord(e->pos().x()));
  });
  connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetView(); });
  return p;
}

QCustomPlot* LivePlots::plot(Panel panel) const {
  return plots_[idx(panel)];
}

QString LivePlots::xLabel() const {
  return xAxis_ == XAxis::Step ? tr("step") : tr("wall time (s)");
}

double LivePlots::keyOf(const StepMetrics& m) const {
  return xAxis_ == XAxis::Step ? double(m.step) : m.wall_time_s;
}

double LivePlots::keyOf(const EpochMetrics& m) const {
  return xAxis_ == XAxis::Step ? double(m.step) : m.wall_time_s;
}

void LivePlots::beginRun(Policy policy, const QString& label) {
  policy_ = policy;
  database_.clear();
  runId_ = 0;
  steps_.clear();
  epochs_.clear();
  traced_.clear();
  smoothedLoss_.clear();
  smoother_.reset();
  for (QCPGraph* g : graphs_) g->data()->clear();
  hideReadout();
  applyPolicyStyle();
  showLossCurves();
  setHeader(label);
  for (QCPItemText* h : emptyHints_) {
    h->setText(tr("Waiting for the first step…"));
    h->setVisible(true);
  }
  replotAll();
}

void LivePlots::appendSteps(const QVector<StepMetrics>& steps) {
  if (steps.isEmpty()) return;
  const qsizetype first = steps_.size();
  steps_.append(steps);
  addPoints(steps_, first);
  for (QCPItemText* h : emptyHints_) h->setVisible(false);
  if (follow_) followToLatest();
  scheduleReplot();
}

void LivePlots::appendEpochs(const QVector<EpochMetrics>& epochs) {
  if (epochs.isEmpty()) return;
  epochs_.append(epochs);
  addEpochPoints(epochs);
  if (follow_) followToLatest();
  scheduleReplot();
}

void LivePlots::markTracedEvent(qint64 step, const QString& sentence) {
  traced_.insert(step, sentence);
  placeTracedEvents();
  scheduleReplot();
}

void LivePlots::setXAxisMode(XAxis mode) {
  if (mode == xAxis_) return;
  xAxis_ = mode;
  (mode == XAxis::Step ? stepButton_ : wallButton_)->setChecked(true);
  for (QCustomPlot* p : plots_) p->xAxis->setLabel(xLabel());
  rebuildData();
  hideReadout();
  followToLatest();
  replotAll();
  emit xAxisModeChanged(mode);
}

void LivePlots::setFollowLatest(bool on) {
  if (on == follow_) return;
  follow_ = on;
  followBox_->setChecked(on);
  if (on) {
    followToLatest();
    replotAll();
  }
  emit followLatestChanged(on);
}

void LivePlots::showAll() {
  followToLatest();
  replotAll();
}

void LivePlots::resetView() {
  if (follow_) {
    followToLatest();
    replotAll();
  } else {
    setFollowLatest(true);
  }
}

void LivePlots::setHeader(const QString& label) {
  runLabel_->setProperty("plainLabel", label);
  runLabel_->setToolTip(label);
  showHeader();
}

void LivePlots::showHeader() {
  const QString label = runLabel_->property("plainLabel").toString();
  const QFontMetrics fm = runLabel_->fontMetrics();
  const int room = std::max(0, runLabel_->width() - fm.horizontalAdvance(QStringLiteral("● ")) - 4);
  const QString shown = runLabel_->width() > 0 ? fm.elidedText(label, Qt::ElideRight, room) : label;
  runLabel_->setText(QStringLiteral("<span style='color:%1'>●</span> %2")
                         .arg(policyColor(policy_).name(), shown.toHtmlEscaped()));
}

QString LivePlots::runLabelText() const {
  return runLabel_->property("plainLabel").toString();
}

void LivePlots::setStoredRun(const QString& database, qint64 runId) {
  database_ = database;
  runId_ = runId;
}

void LivePlots::runRenamed(const QString& database, qint64 runId, const QString& name) {
  if (runId_ == 0 || runId != runId_ || !sameDatabase(database, database_)) return;
  setHeader(tr("%1 · %2").arg(name, policyLabel(policy_)));
}

void LivePlots::replotAll() {
  replotTimer_->stop();
  dirty_ = false;
  sinceReplot_.restart();
  for (QCustomPlot* p : plots_)
    if (!p->isHidden()) p->replot(QCustomPlot::rpQueuedReplot);
}

// New data is drawn at most every kMinReplotMs, and less often when drawing is
// slow: the plots take no more than about 1/kReplotCostShare of the GUI
// thread, which on a small machine shares its cores with the trainer. Plots
// nobody sees are drawn when they are shown.
void LivePlots::scheduleReplot() {
  if (!isVisible()) {
    dirty_ = true;
    return;
  }
  double cost = 0;
  for (QCustomPlot* p : plots_) cost += std::max(0.0, p->replotTime());
  // Never slower than twice a second, however slow drawing is.
  const qint64 interval =
      std::clamp<qint64>(qint64(cost * kReplotCostShare), kMinReplotMs, kMaxReplotMs);
  const qint64 since = sinceReplot_.isValid() ? sinceReplot_.elapsed() : interval;
  if (since >= interval) {
    replotAll();
    return;
  }
  if (!replotTimer_->isActive()) replotTimer_->start(int(interval - since));
}

void LivePlots::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (dirty_) replotAll();
}

qsizetype LivePlots::indexNearest(double key) const {
  if (steps_.isEmpty()) return -1;
  auto it = std::lower_bound(steps_.begin(), steps_.end(), key,
                             [this](const StepMetrics& m, double k) { return keyOf(m) < k; });
  if (it == steps_.end()) return steps_.size() - 1;
  if (it != steps_.begin() && key - keyOf(*(it - 1)) < keyOf(*it) - key) --it;
  return it - steps_.begin();
}

qint64 LivePlots::showReadoutAt(double key) {
  const qsizetype i = indexNearest(key);
  if (i < 0) {
    hideReadout();
    return -1;
  }
  const StepMetrics& m = steps_[i];
  const double k = keyOf(m);
  const EpochMetrics* epoch = nullptr;
  for (const EpochMetrics& e : epochs_)
    if (e.step <= m.step) epoch = &e;

  QString loss = tr("step %1 · %2 s\ntrain loss %3")
                     .arg(m.step)
                     .arg(m.wall_time_s, 0, 'f', 2)
                     .arg(m.loss, 0, 'g', 5);
  if (smoothing_ > 0 && i < smoothedLoss_.size())
    loss += tr(" · smoothed %1").arg(smoothedLoss_[i], 0, 'g', 5);
  if (epoch && !(std::isnan(epoch->val_loss) && std::isnan(epoch->val_accuracy)))
    loss += tr("\nval loss %1 · accuracy %2 % (epoch %3)")
                .arg(epoch->val_loss, 0, 'g', 4)
                .arg(epoch->val_accuracy * 100.0, 0, 'f', 1)
                .arg(epoch->epoch + 1);
  const QString scale = tr("step %1\nscale %2%3\nskipped so far %4")
                            .arg(m.step)
                            .arg(formatScale(m.loss_scale))
                            .arg(m.skipped ? tr(" · skipped") : QString())
                            .arg(m.skipped_total) +
                        (traced_.contains(m.step) ? QStringLiteral("\n") + traced_.value(m.step)
                                                  : QString());
  const StepField& inUse = stepField("memory_in_use");
  const StepField& peak = stepField("memory_peak");
  const QString memory = tr("step %1\nin use %2\npeak %3")
                             .arg(m.step)
                             .arg(formatMetric(inUse, metricValue(inUse, m)),
                                  formatMetric(peak, metricValue(peak, m)));
  const QString rate = tr("step %1\n%2 samples/s\nstep time %3 ms")
                           .arg(m.step)
                           .arg(QLocale().toString(m.samples_per_s, 'f', 0))
                           .arg(m.step_time_s * 1000.0, 0, 'f', 2);
  // The read-out names its values; the legends would only sit under it.
  for (QCustomPlot* p : plots_) p->legend->setVisible(false);
  readouts_[idx(Panel::Loss)]->show(k, loss);
  readouts_[idx(Panel::Scale)]->show(k, scale);
  readouts_[idx(Panel::Memory)]->show(k, memory);
  readouts_[idx(Panel::Throughput)]->show(k, rate);
  if (chosen_)
    readouts_[idx(Panel::Metric)]->show(
        k, tr("step %1\n%2 %3").arg(m.step).arg(metricLabel(*chosen_), chosenValueText(m)));
  replotAll();
  return m.step;
}

void LivePlots::hideReadout() {
  bool any = false;
  for (auto& r : readouts_) {
    any = any || r->isVisible();
    r->hide();
  }
  for (QCustomPlot* p : plots_) p->legend->setVisible(true);
  if (any) replotAll();
}

QString LivePlots::readoutText(Panel panel) const {
  const auto& r = readouts_[idx(panel)];
  return r->isVisible() ? r->text() : QString();
}

QString LivePlots::chosenMetric() const {
  return chosen_ ? fromView(chosen_->name) : QString();
}

void LivePlots::setChosenMetric(const QString& name) {
  const int i = metricBox_->findData(name);
  metricBox_->setCurrentIndex(std::max(i, 0));
}

bool LivePlots::savePng(Panel panel, const QString& path) const {
  return plot(panel)->savePng(path, 0, 0, 2.0);
}

bool LivePlots::saveAllPng(const QString& path) {
  return grab().save(path, "PNG");
}

void LivePlots::showContextMenu(QCustomPlot* p, const QPoint& pos) {
  QMenu menu(this);
  menu.addAction(tr("Save Plot as PNG…"), this, [this, p] {
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save Plot"), QString(), tr("PNG images (*.png)"));
    if (!path.isEmpty()) p->savePng(path, 0, 0, 2.0);
  });
  menu.addAction(tr("Save All Plots as PNG…"), this, [this] {
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save Plots"), QString(), tr("PNG images (*.png)"));
    if (!path.isEmpty()) saveAllPng(path);
  });
  menu.addSeparator();
  QAction* follow = menu.addAction(tr("Follow Latest"));
  follow->setCheckable(true);
  follow->setChecked(follow_);
  connect(follow, &QAction::toggled, this, &LivePlots::setFollowLatest);
  QAction* wall = menu.addAction(tr("X Axis in Wall Time"));
  wall->setCheckable(true);
  wall->setChecked(xAxis_ == XAxis::WallTime);
  connect(wall, &QAction::toggled, this,
          [this](bool on) { setXAxisMode(on ? XAxis::WallTime : XAxis::Step); });
  menu.exec(p->mapToGlobal(pos));
}

bool LivePlots::eventFilter(QObject* watched, QEvent* event) {
  if (watched == runLabel_) {
    if (event->type() == QEvent::Resize) showHeader();
    return QWidget::eventFilter(watched, event);
  }
  if (watched == hintLabel_) {
    if (event->type() == QEvent::Resize)
      hintLabel_->setText(hintLabel_->fontMetrics().elidedText(hintLabel_->toolTip(),
                                                               Qt::ElideRight, hintLabel_->width()));
    return QWidget::eventFilter(watched, event);
  }
  if (event->type() == QEvent::Leave) hideReadout();
  // Over the data the read-out says what is there; the panel's tooltip (what
  // its rows mean) shows over the axes and the title, never on top of it.
  if (event->type() == QEvent::ToolTip) {
    auto* p = qobject_cast<QCustomPlot*>(watched);
    const QPoint pos = static_cast<QHelpEvent*>(event)->pos();
    if (p && p->axisRect()->rect().contains(pos)) {
      QToolTip::hideText();
      event->ignore();
      return true;
    }
  }
  return QWidget::eventFilter(watched, event);
}

void LivePlots::changeEvent(QEvent* event) {
  if (event->type() == QEvent::PaletteChange) {
    for (QCustomPlot* p : plots_) applyPlotTheme(p);
    for (auto& r : readouts_) r->applyPalette();
    for (QCPItemText* h : emptyHints_)
      h->setColor(palette().color(QPalette::Disabled, QPalette::Text));
    applyPolicyStyle();
    replotAll();
  }
  QWidget::changeEvent(event);
}

}  // namespace mantissa::ui
