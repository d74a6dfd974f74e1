#include "ComparePage.hpp"

#include <qcustomplot.h>

#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
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
  plot->legend->setVisible(true);
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
  auto* grid = new QGridLayout(plots);
  grid->setContentsMargins(0, 0, 0, 0);
  lossPlot_ = makePlot(plots, tr("Training loss"), tr("loss"));
  accuracyPlot_ = makePlot(plots, tr("Validation accuracy"), tr("accuracy (%)"));
  scalePlot_ = makePlot(plots, tr("Loss scale"), tr("scale"));
  scalePlot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  scalePlot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
  grid->addWidget(lossPlot_, 0, 0);
  grid->addWidget(accuracyPlot_, 0, 1);
  grid->addWidget(scalePlot_, 0, 2);

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
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 1);
  splitter->setStretchFactor(2, 1);
  stack_->addWidget(splitter);
}

ComparePage::~ComparePage() = default;

bool ComparePage::showsEmptyState() const {
  return stack_->currentIndex() == 0;
}

bool ComparePage::compareRuns(const QVector<qint64>& runIds) {
  message_->hide();
  QVector<StoredRun> loaded;
  try {
    RunStore store(databasePath_.toStdString());
    for (qint64 id : runIds)
      if (auto run = loadStoredRun(store, id)) loaded.push_back(std::move(*run));
  } catch (const std::exception& e) {
    message_->showMessage(QString::fromUtf8(e.what()), InlineMessage::Level::Error);
    return false;
  }
  if (loaded.size() < runIds.size())
    message_->showMessage(tr("%1 of the selected runs are no longer in the store")
                              .arg(runIds.size() - loaded.size()),
                          InlineMessage::Level::Warning);
  setRuns(loaded);
  return !loaded.isEmpty();
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

void ComparePage::fillPlots() {
  for (QCustomPlot* p : {lossPlot_, accuracyPlot_, scalePlot_}) p->clearGraphs();
  for (const StoredRun& run : runs_) {
    const mantissa::Policy policy = recordPolicy(run.record);
    const QPen pen = policyPen(policy);
    const QString name = runLabel(run.record);
    QVector<double> steps, loss, scale, epochSteps, accuracy;
    for (const StepMetrics& m : run.steps) {
      steps << double(m.step);
      loss << m.loss;
      scale << m.loss_scale;
    }
    for (const EpochMetrics& e : run.epochs) {
      epochSteps << double(e.step);
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
  }
  for (QCustomPlot* p : {lossPlot_, accuracyPlot_, scalePlot_}) {
    p->rescaleAxes();
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
  const RunSummaryFields ref =
      reference ? parseRunSummary(reference->record.summary_json) : RunSummaryFields{};

  summary_->setRowCount(int(runs_.size()));
  for (int row = 0; row < int(runs_.size()); ++row) {
    const StoredRun& run = runs_[row];
    const RunRecord& r = run.record;
    const RunSummaryFields s = parseRunSummary(r.summary_json);
    const mantissa::Policy policy = recordPolicy(r);
    auto* name = cell(runLabel(r));
    name->setData(Qt::DecorationRole, policyColor(policy));
    summary_->setItem(row, Run, name);
    summary_->setItem(row, Policy, cell(policyLabel(policy)));

    std::optional<double> accuracy = s.finalValAccuracy;
    if (!accuracy && !run.epochs.isEmpty()) accuracy = run.epochs.back().val_accuracy;
    summary_->setItem(row, FinalValAccuracy,
                      accuracy ? cell(QStringLiteral("%1 %").arg(*accuracy * 100, 0, 'f', 1),
                                      *accuracy)
                               : cell(QStringLiteral("—")));
    std::optional<double> loss = s.finalTrainLoss;
    if (!loss) loss = r.final_loss;
    summary_->setItem(row, FinalLoss,
                      loss ? cell(QString::number(*loss, 'g', 4), *loss) : cell(QStringLiteral("—")));
    summary_->setItem(row, WallTime,
                      s.wallTimeS ? cell(formatDuration(*s.wallTimeS), *s.wallTimeS)
                                  : cell(QStringLiteral("—")));
    summary_->setItem(row, SamplesPerS,
                      s.samplesPerS
                          ? cell(formatCount(std::int64_t(std::llround(*s.samplesPerS))),
                                 *s.samplesPerS)
                          : cell(QStringLiteral("—")));
    if (reference && s.samplesPerS && ref.samplesPerS && *ref.samplesPerS > 0) {
      const double ratio = *s.samplesPerS / *ref.samplesPerS;
      summary_->setItem(row, SpeedUp, cell(QStringLiteral("%1×").arg(ratio, 0, 'f', 2), ratio));
    } else {
      summary_->setItem(row, SpeedUp, cell(QStringLiteral("—")));
    }
    if (reference && s.peakMemory && ref.peakMemory && *ref.peakMemory > 0) {
      const double saving = 1.0 - *s.peakMemory / *ref.peakMemory;
      summary_->setItem(row, MemorySaving,
                        cell(QStringLiteral("%1 %").arg(saving * 100, 0, 'f', 1), saving));
    } else {
      summary_->setItem(row, MemorySaving, cell(QStringLiteral("—")));
    }
    const qint64 skipped = s.skippedSteps.value_or(r.skipped_total);
    summary_->setItem(row, Skipped, cell(formatCount(skipped), skipped));
    std::optional<double> scale = s.finalLossScale;
    if (!scale && !run.steps.isEmpty()) scale = run.steps.back().loss_scale;
    summary_->setItem(row, FinalScale,
                      scale ? cell(QString::number(*scale, 'g', 6), *scale)
                            : cell(QStringLiteral("—")));
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
