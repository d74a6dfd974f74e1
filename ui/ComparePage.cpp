#include "ComparePage.hpp"

#include <qcustomplot.h>

#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>
#include <exception>

#include "CompareDiff.hpp"
#include "Format.hpp"
#include "InlineMessage.hpp"
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
  return plot;
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
  // One legend is enough: the colours are the policies' everywhere, and the
  // summary table under the plots repeats them.
  lossPlot_->legend->setVisible(true);
  lossPlot_->legend->setBrush(QColor(255, 255, 255, 200));
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
  summary_->horizontalHeader()->setStretchLastSection(true);
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

void ComparePage::fillPlots() {
  const bool wall = xAxis_ == XAxis::WallTime;
  const QList<QCustomPlot*> all{lossPlot_, accuracyPlot_, scalePlot_, throughputPlot_};
  for (QCustomPlot* p : all) {
    p->clearGraphs();
    p->xAxis->setLabel(wall ? tr("wall time (s)") : tr("step"));
  }
  for (const StoredRun& run : runs_) {
    const mantissa::Policy policy = recordPolicy(run.record);
    const QPen pen = policyPen(policy);
    const QString name = runLabel(run.record);
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
        ->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, pen.color(), 5));
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
    name->setData(Qt::DecorationRole, policyColor(policy));
    summary_->setItem(row, Run, name);
    summary_->setItem(row, Policy, cell(policyLabel(policy)));

    std::optional<double> accuracy = s.final_val_accuracy;
    if (!accuracy && !run.epochs.isEmpty()) accuracy = run.epochs.back().val_accuracy;
    summary_->setItem(row, FinalValAccuracy,
                      accuracy
                          ? cell(QStringLiteral("%1 %").arg(*accuracy * 100, 0, 'f', 1), *accuracy)
                          : cell(QStringLiteral("—")));
    std::optional<double> loss = s.final_train_loss;
    if (!loss) loss = r.final_loss;
    summary_->setItem(
        row, FinalLoss,
        loss ? cell(QString::number(*loss, 'g', 4), *loss) : cell(QStringLiteral("—")));
    summary_->setItem(
        row, WallTime,
        s.wall_time_s ? cell(formatDuration(*s.wall_time_s), *s.wall_time_s) : cell(QStringLiteral("—")));
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
  diff_->clear();
  diff_->setColumnCount(int(headers.size()));
  diff_->setHorizontalHeaderLabels(headers);
  diff_->setRowCount(int(diff.size()));
  for (int row = 0; row < int(diff.size()); ++row) {
    diff_->setItem(row, 0, cell(diff[row].field));
    for (int i = 0; i < int(diff[row].values.size()); ++i) {
      const QString v = diff[row].values[i];
      diff_->setItem(row, i + 1, cell(v.isEmpty() ? QStringLiteral("—") : v));
    }
  }
  diff_->resizeColumnsToContents();
}

}  // namespace mantissa::ui
