#include "ComparePage.hpp"

#include <qcustomplot.h>

#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>

#include "CompareDiff.hpp"
#include "Format.hpp"
#include "InlineMessage.hpp"
#include "PlotReadout.hpp"
#include "PlotTheme.hpp"
#include "PolicyColors.hpp"
#include "RunTableModel.hpp"

namespace mantissa::ui {

namespace {

QCustomPlot* makePlot(QWidget* parent, const QString& title, const QString& yLabel) {
  auto* plot = new QCustomPlot(parent);
  applyPlotTheme(plot);
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title));
  plot->xAxis->setLabel(QObject::tr("step"));
  plot->yAxis->setLabel(yLabel);
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->setMinimumHeight(160);
  plot->setMouseTracking(true);  // the read-out follows the mouse, no button held
  return plot;
}

// A policy as a marker (one per epoch): float32 circles, float16 triangles,
// bfloat16 squares; hollow for the pure 16-bit policies.
QCPScatterStyle policyScatter(mantissa::Policy policy, const QColor& color,
                              const QColor& background) {
  QCPScatterStyle::ScatterShape shape = QCPScatterStyle::ssCircle;
  switch (policy) {
    case mantissa::Policy::Float32:
      break;
    case mantissa::Policy::MixedFloat16:
    case mantissa::Policy::Float16:
      shape = QCPScatterStyle::ssTriangle;
      break;
    case mantissa::Policy::MixedBFloat16:
    case mantissa::Policy::BFloat16:
      shape = QCPScatterStyle::ssSquare;
      break;
  }
  return QCPScatterStyle(shape, QPen(color, 1.5),
                         isPurePolicy(policy) ? QBrush(background) : QBrush(color), 7);
}

// The index of the point of `keys` (sorted) nearest `key`; -1 when empty.
qsizetype nearestIndex(const QVector<double>& keys, double key) {
  if (keys.isEmpty()) return -1;
  auto it = std::lower_bound(keys.begin(), keys.end(), key);
  if (it == keys.end()) return keys.size() - 1;
  if (it != keys.begin() && key - *(it - 1) < *it - key) --it;
  return it - keys.begin();
}

QTableWidgetItem* cell(const QString& text, const QVariant& value = {}) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  if (value.isValid()) {
    item->setData(ComparePage::kValueRole, value);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  }
  return item;
}

QString runLabel(const RunRecord& r) {
  return QStringLiteral("%1 · %2").arg(r.id).arg(fromView(r.name));
}

// The legend names both what the colour and what the dash stand for.
QString legendLabel(const RunRecord& r) {
  return QStringLiteral("%1 — %2").arg(runLabel(r), policyLabel(recordPolicy(r)));
}

}  // namespace

ComparePage::ComparePage(const QString& databasePath, QWidget* parent)
    : QWidget(parent), databasePath_(databasePath) {
  library_ = new RunLibrary(this);
  connect(library_, &RunLibrary::runsLoaded, this, &ComparePage::runsLoaded);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  message_ = new InlineMessage(this);
  layout->addWidget(message_);
  stack_ = new QStackedWidget(this);
  layout->addWidget(stack_, 1);

  auto* empty = new QLabel(tr("Select 2–6 runs in History and press Compare"), stack_);
  empty->setAlignment(Qt::AlignCenter);
  empty->setEnabled(false);
  stack_->addWidget(empty);

  auto* splitter = new QSplitter(Qt::Vertical, stack_);
  auto* plots = new QWidget(splitter);
  auto* plotsLayout = new QVBoxLayout(plots);
  plotsLayout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("X axis:"), plots));
  stepButton_ = new QToolButton(plots);
  stepButton_->setText(tr("Step"));
  wallButton_ = new QToolButton(plots);
  wallButton_->setText(tr("Wall time"));
  wallButton_->setObjectName(QStringLiteral("compareWallTime"));
  for (QToolButton* b : {stepButton_, wallButton_}) {
    b->setCheckable(true);
    b->setAutoExclusive(true);
    bar->addWidget(b);
  }
  stepButton_->setChecked(true);
  bar->addStretch(1);
  plotsLayout->addLayout(bar);
  auto* grid = new QGridLayout;
  plotsLayout->addLayout(grid, 1);
  lossPlot_ = makePlot(plots, tr("Training loss"), tr("loss"));
  accuracyPlot_ = makePlot(plots, tr("Validation accuracy"), tr("accuracy (%)"));
  scalePlot_ = makePlot(plots, tr("Loss scale"), tr("scale"));
  scalePlot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  scalePlot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
  throughputPlot_ = makePlot(plots, tr("Throughput"), tr("samples / s"));
  scalePlot_->yAxis->setTicker(QSharedPointer<PowerOfTwoTicker>::create());
  // One legend is enough: each run keeps its colour and dash in every plot,
  // and the summary table under the plots repeats its colour.
  lossPlot_->legend->setVisible(true);
  lossPlot_->legend->setBrush(QColor(255, 255, 255, 200));
  for (QCustomPlot* p : this->plots()) p->installEventFilter(this);  // to hide the read-out on leave
  for (int i = 0; i < int(readouts_.size()); ++i) {
    QCustomPlot* p = this->plots()[i];
    readouts_[std::size_t(i)] = std::make_unique<PlotReadout>(p, nullptr);
    connect(p, &QCustomPlot::mouseMove, this, [this, p](QMouseEvent* e) {
      if (!p->axisRect()->rect().contains(e->pos())) {
        hideReadout();
        return;
      }
      showReadoutAt(p->xAxis->pixelToCoord(e->pos().x()));
    });
  }
  grid->addWidget(lossPlot_, 0, 0);
  grid->addWidget(accuracyPlot_, 0, 1);
  grid->addWidget(scalePlot_, 1, 0);
  grid->addWidget(throughputPlot_, 1, 1);
  connect(wallButton_, &QToolButton::toggled, this, [this](bool wall) {
    xAxis_ = wall ? XAxis::WallTime : XAxis::Step;
    fillPlots();
  });

  summary_ = new QTableWidget(0, SummaryColumnCount, splitter);
  summary_->setHorizontalHeaderLabels({tr("Run"), tr("Policy"), tr("Final val accuracy"),
                                       tr("Final loss"), tr("Wall time"), tr("Samples/s"),
                                       tr("Speed-up vs FP32"), tr("Memory saving vs FP32"),
                                       tr("Skipped"), tr("Final scale")});
  summary_->verticalHeader()->hide();
  // Every column as wide as its header and cells; a narrow window scrolls
  // the table sideways instead of squeezing them.
  summary_->horizontalHeader()->setStretchLastSection(false);
  summary_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  summary_->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  summary_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
  summary_->setWordWrap(false);
  summary_->setEditTriggers(QAbstractItemView::NoEditTriggers);

  diff_ = new QTableWidget(0, 1, splitter);
  diff_->verticalHeader()->hide();
  diff_->horizontalHeader()->setStretchLastSection(true);
  diff_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  // Room for the summary of up to four runs without scrolling; the settings
  // diff is usually a line or two.
  summary_->setMinimumHeight(150);
  splitter->setStretchFactor(0, 4);
  splitter->setStretchFactor(1, 2);
  splitter->setStretchFactor(2, 1);
  stack_->addWidget(splitter);
  connect(RunNotices::instance(), &RunNotices::runRenamed, this, &ComparePage::runRenamed);
}

ComparePage::~ComparePage() = default;

bool ComparePage::showsEmptyState() const {
  return stack_->currentIndex() == 0;
}

bool ComparePage::compareRuns(const QVector<qint64>& runIds) {
  message_->hide();
  if (runIds.isEmpty()) return false;
  loadRequest_ = library_->load(databasePath_, runIds);
  return true;
}

void ComparePage::runsLoaded(quint64 request, const QVector<StoredRun>& loaded, int missing,
                             const QString& error) {
  if (request != loadRequest_) return;  // an older request: dropped
  loadRequest_ = 0;
  if (!error.isEmpty()) {
    message_->showMessage(error, InlineMessage::Level::Error);
    emit runsShown(0);
    return;
  }
  if (missing > 0)
    message_->showMessage(tr("%1 of the selected runs are no longer in the store").arg(missing),
                          InlineMessage::Level::Warning);
  setRuns(loaded);
  emit runsShown(int(loaded.size()));
}

void ComparePage::setRuns(const QVector<StoredRun>& runs) {
  runs_ = runs;
  rebuild();
}

void ComparePage::clear() {
  runs_.clear();
  rebuild();
}

void ComparePage::removeRuns(const QVector<qint64>& runIds) {
  const auto before = runs_.size();
  runs_.removeIf([&](const StoredRun& r) { return runIds.contains(r.record.id); });
  if (runs_.size() != before) rebuild();
}

void ComparePage::rebuild() {
  fillPlots();
  fillSummary();
  fillDiff();
  stack_->setCurrentIndex(runs_.isEmpty() ? 0 : 1);
}

void ComparePage::setXAxis(XAxis axis) {
  (axis == XAxis::Step ? stepButton_ : wallButton_)->setChecked(true);
}

QList<QCustomPlot*> ComparePage::plots() const {
  return {lossPlot_, accuracyPlot_, scalePlot_, throughputPlot_};
}

QColor ComparePage::colorOfRun(int index) {
  return runColor(index);
}

void ComparePage::runRenamed(const QString& database, qint64 runId, const QString& name) {
  if (!sameDatabase(database, databasePath_)) return;
  bool shown = false;
  for (StoredRun& r : runs_)
    if (r.record.id == runId) {
      r.record.name = name.toStdString();
      shown = true;
    }
  if (shown) rebuild();
}

void ComparePage::fillPlots() {
  const bool wall = xAxis_ == XAxis::WallTime;
  const QList<QCustomPlot*> all = plots();
  hideReadout();
  for (auto& r : readouts_) r->setGraph(nullptr);  // its graph is about to go
  for (QCustomPlot* p : all) {
    p->clearGraphs();
    p->xAxis->setLabel(wall ? tr("wall time (s)") : tr("step"));
  }
  const QColor background = lossPlot_->palette().color(QPalette::Base);
  for (int i = 0; i < int(runs_.size()); ++i) {
    const StoredRun& run = runs_[i];
    const mantissa::Policy policy = recordPolicy(run.record);
    const QPen pen(colorOfRun(i), 1.6, policyLineStyle(policy));
    const QString name = legendLabel(run.record);
    QVector<double> steps, loss, scale, rate, epochSteps, accuracy;
    for (const StepMetrics& m : run.steps) {
      steps << (wall ? m.wall_time_s : double(m.step));
      loss << m.loss;
      scale << m.loss_scale;
      rate << m.samples_per_s;
    }
    for (const EpochMetrics& e : run.epochs) {
      epochSteps << (wall ? e.wall_time_s : double(e.step));
      accuracy << e.val_accuracy * 100.0;
    }
    auto add = [&](QCustomPlot* plot, const QVector<double>& x, const QVector<double>& y) {
      QCPGraph* g = plot->addGraph();
      g->setName(name);
      g->setPen(pen);
      g->setData(x, y, true);
      return g;
    };
    add(lossPlot_, steps, loss);
    add(accuracyPlot_, epochSteps, accuracy)
        ->setScatterStyle(policyScatter(policy, pen.color(), background));
    add(scalePlot_, steps, scale);
    add(throughputPlot_, steps, rate);
  }
  for (QCustomPlot* p : all) {
    p->rescaleAxes();
    if (p == scalePlot_) {
      // Room above and below, so a constant scale is not drawn on the frame.
      const QCPRange r = p->yAxis->range();
      p->yAxis->setRange(std::max(r.lower / 4.0, 0.25), r.upper * 4.0);
    } else if (p != accuracyPlot_) {
      p->yAxis->setRangeLower(std::min(0.0, p->yAxis->range().lower));
    }
    p->replot(QCustomPlot::rpQueuedReplot);
  }
  for (int i = 0; i < int(readouts_.size()); ++i)
    readouts_[std::size_t(i)]->setGraph(all[i]->graphCount() > 0 ? all[i]->graph(0) : nullptr);
}

qint64 ComparePage::showReadoutAt(double key) {
  if (runs_.isEmpty()) {
    hideReadout();
    return -1;
  }
  const bool wall = xAxis_ == XAxis::WallTime;
  std::array<QStringList, 4> lines;
  qint64 firstStep = -1;
  double shownKey = key;
  for (int i = 0; i < int(runs_.size()); ++i) {
    const StoredRun& run = runs_[i];
    const QString name = runLabel(run.record);
    QVector<double> keys;
    for (const StepMetrics& m : run.steps) keys << (wall ? m.wall_time_s : double(m.step));
    const qsizetype at = nearestIndex(keys, key);
    if (at >= 0) {
      const StepMetrics& m = run.steps[at];
      if (firstStep < 0) {
        firstStep = m.step;
        shownKey = keys[at];
      }
      const QString where = wall ? tr(" (step %1)").arg(m.step) : QString();
      lines[0] << tr("%1: %2%3").arg(name).arg(m.loss, 0, 'g', 5).arg(where);
      lines[2] << tr("%1: %2%3").arg(name, formatScale(m.loss_scale), where);
      lines[3] << tr("%1: %2 samples/s%3")
                      .arg(name, formatCount(std::int64_t(std::llround(m.samples_per_s))), where);
    }
    QVector<double> epochKeys;
    for (const EpochMetrics& e : run.epochs) epochKeys << (wall ? e.wall_time_s : double(e.step));
    const qsizetype ep = nearestIndex(epochKeys, key);
    if (ep >= 0 && std::isfinite(run.epochs[ep].val_accuracy)) {  // NaN: nothing validated
      const EpochMetrics& e = run.epochs[ep];
      lines[1] << tr("%1: %2 % (epoch %3, step %4)")
                      .arg(name)
                      .arg(e.val_accuracy * 100.0, 0, 'f', 1)
                      .arg(e.epoch + 1)
                      .arg(e.step);
    }
  }
  if (firstStep < 0 && lines[1].isEmpty()) {
    hideReadout();
    return -1;
  }
  const QString head = wall ? tr("%1 s").arg(key, 0, 'f', 2) : tr("step %1").arg(qint64(std::llround(key)));
  const QList<QCustomPlot*> all = plots();
  // The read-out names every run; the legend would only sit under it.
  lossPlot_->legend->setVisible(false);
  for (int p = 0; p < int(all.size()); ++p) {
    if (lines[std::size_t(p)].isEmpty()) {
      readouts_[std::size_t(p)]->hide();
    } else {
      readouts_[std::size_t(p)]->show(p == 1 ? key : shownKey,
                                      head + QLatin1Char('\n') + lines[std::size_t(p)].join(QLatin1Char('\n')));
    }
    all[p]->replot(QCustomPlot::rpQueuedReplot);
  }
  return firstStep;
}

void ComparePage::hideReadout() {
  bool any = false;
  for (auto& r : readouts_) {
    any = any || r->isVisible();
    r->hide();
  }
  lossPlot_->legend->setVisible(true);
  if (any)
    for (QCustomPlot* p : plots()) p->replot(QCustomPlot::rpQueuedReplot);
}

QString ComparePage::readoutText(QCustomPlot* plot) const {
  const int i = int(plots().indexOf(plot));
  if (i < 0 || !readouts_[std::size_t(i)]->isVisible()) return {};
  return readouts_[std::size_t(i)]->text();
}

bool ComparePage::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::Leave) hideReadout();
  return QWidget::eventFilter(watched, event);
}

void ComparePage::fillSummary() {
  summary_->setRowCount(0);
  // The float32 run the ratios are taken against: the first one selected.
  const StoredRun* reference = nullptr;
  for (const StoredRun& r : runs_)
    if (recordPolicy(r.record) == mantissa::Policy::Float32) {
      reference = &r;
      break;
    }
  const StoredSummary ref = reference ? reference->record.summary : StoredSummary{};

  summary_->setRowCount(int(runs_.size()));
  for (int row = 0; row < int(runs_.size()); ++row) {
    const StoredRun& run = runs_[row];
    const RunRecord& r = run.record;
    const StoredSummary& s = r.summary;
    const mantissa::Policy policy = recordPolicy(r);
    auto* name = cell(runLabel(r));
    name->setData(Qt::DecorationRole, colorOfRun(row));  // its curves' colour
    summary_->setItem(row, Run, name);
    summary_->setItem(row, Policy, cell(policyLabel(policy)));

    std::optional<double> accuracy = s.final_val_accuracy;
    if (!accuracy && !run.epochs.isEmpty()) accuracy = run.epochs.back().val_accuracy;
    if (accuracy && !std::isfinite(*accuracy)) accuracy.reset();  // no validation split
    summary_->setItem(row, FinalValAccuracy,
                      accuracy
                          ? cell(QStringLiteral("%1 %").arg(*accuracy * 100, 0, 'f', 1), *accuracy)
                          : cell(QStringLiteral("—")));
    std::optional<double> loss = s.final_train_loss;
    if (!loss) loss = r.final_loss;
    summary_->setItem(
        row, FinalLoss,
        loss ? cell(QString::number(*loss, 'g', 4), *loss) : cell(QStringLiteral("—")));
    // The run's time as stored; a run that ended without a summary (killed)
    // has its last step's.
    std::optional<double> wall = s.wall_time_s;
    if (!wall && !run.steps.isEmpty()) wall = run.steps.back().wall_time_s;
    summary_->setItem(row, WallTime,
                      wall ? cell(formatDuration(*wall), *wall) : cell(QStringLiteral("—")));
    summary_->setItem(row, SamplesPerS,
                      s.samples_per_s ? cell(formatCount(std::int64_t(std::llround(*s.samples_per_s))),
                                           *s.samples_per_s)
                                    : cell(QStringLiteral("—")));
    if (reference && s.samples_per_s && ref.samples_per_s && *ref.samples_per_s > 0) {
      const double ratio = *s.samples_per_s / *ref.samples_per_s;
      summary_->setItem(row, SpeedUp, cell(QStringLiteral("%1×").arg(ratio, 0, 'f', 2), ratio));
    } else {
      summary_->setItem(row, SpeedUp, cell(QStringLiteral("—")));
    }
    if (reference && s.peak_memory && ref.peak_memory && *ref.peak_memory > 0) {
      const double saving = 1.0 - double(*s.peak_memory) / double(*ref.peak_memory);
      summary_->setItem(row, MemorySaving,
                        cell(QStringLiteral("%1 %").arg(saving * 100, 0, 'f', 1), saving));
    } else {
      summary_->setItem(row, MemorySaving, cell(QStringLiteral("—")));
    }
    const qint64 skipped = s.skipped_steps.value_or(r.skipped_total);
    summary_->setItem(row, Skipped, cell(formatCount(skipped), skipped));
    std::optional<double> scale = s.final_loss_scale;
    if (!scale && !run.steps.isEmpty()) scale = run.steps.back().loss_scale;
    summary_->setItem(
        row, FinalScale,
        scale ? cell(formatScale(*scale), *scale) : cell(QStringLiteral("—")));
  }
  summary_->resizeColumnsToContents();
}

void ComparePage::fillDiff() {
  QVector<QMap<QString, QString>> snapshots;
  QStringList headers{tr("Setting")};
  for (const StoredRun& r : runs_) {
    snapshots << flattenJson(QByteArray::fromStdString(r.record.project_json));
    headers << runLabel(r.record);
  }
  const QVector<SettingsDifference> diff = settingsDiff(snapshots);
  // What decided the arithmetic (the runs' numerics manifests) comes first,
  // each difference with its consequence.
  QVector<QMap<QString, QString>> manifests;
  bool anyManifest = false;
  for (const StoredRun& r : runs_) {
    manifests << flattenJson(r.manifest);
    anyManifest = anyManifest || !r.manifest.isEmpty();
  }
  const QVector<NumericsDifference> numerics =
      anyManifest ? numericsDiff(manifests) : QVector<NumericsDifference>();
  diff_->clear();
  diff_->setColumnCount(int(headers.size()));
  diff_->setHorizontalHeaderLabels(headers);
  diff_->setRowCount(int(numerics.size() + diff.size()));
  int row = 0;
  for (const NumericsDifference& d : numerics) {
    QTableWidgetItem* name = cell(tr("numerics: %1 (%2)").arg(d.field, d.consequence));
    name->setForeground(QColor(213, 94, 0));
    name->setToolTip(d.consequence);
    diff_->setItem(row, 0, name);
    for (int i = 0; i < int(d.values.size()); ++i) {
      const QString v = d.field == QLatin1String("op_paths") ? tr("(see runs manifest)") : d.values[i];
      diff_->setItem(row, i + 1, cell(v.isEmpty() ? QStringLiteral("—") : v));
    }
    ++row;
  }
  for (const SettingsDifference& d : diff) {
    diff_->setItem(row, 0, cell(d.field));
    for (int i = 0; i < int(d.values.size()); ++i) {
      const QString v = d.values[i];
      diff_->setItem(row, i + 1, cell(v.isEmpty() ? QStringLiteral("—") : v));
    }
    ++row;
  }
  diff_->resizeColumnsToContents();
}

}  // namespace mantissa::ui
