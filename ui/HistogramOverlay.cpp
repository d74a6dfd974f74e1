#include "HistogramOverlay.hpp"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>
#include <cmath>

#include "PolicyColors.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

namespace {

namespace nb = numerics_bits;

constexpr int kMaxChecked = 4;

// Where a bin sits on the log2 axis: its binade's exponent; zero and fp32
// subnormals at the left edge, non-finite values at the right.
double binX(int bin) {
  if (bin == nb::kBinZero || bin == nb::kBinSubnormal) return nb::kLowExponent - 2;
  if (bin == nb::kBinNonFinite) return nb::kHighExponent + 2;
  return double(*bin_exponent(bin));
}

bool isGradient(TensorRole role) {
  return role == TensorRole::ActivationGrad || role == TensorRole::WeightGrad;
}

}  // namespace

HistogramOverlay::HistogramOverlay(QWidget* parent)
    : QWidget(parent), tensorBox_(new QComboBox(this)), runList_(new QListWidget(this)),
      unscaled_(new QCheckBox(tr("Gradients unscaled (÷ loss scale)"), this)),
      plot_(new QCustomPlot(this)) {
  auto* layout = new QHBoxLayout(this);
  auto* side = new QVBoxLayout;
  side->addWidget(new QLabel(tr("Tensor:"), this));
  tensorBox_->setObjectName(QStringLiteral("overlayTensor"));
  side->addWidget(tensorBox_);
  side->addWidget(new QLabel(tr("Runs:"), this));
  runList_->setObjectName(QStringLiteral("overlayRuns"));
  side->addWidget(runList_, 1);
  unscaled_->setChecked(true);
  side->addWidget(unscaled_);
  layout->addLayout(side);
  layout->addWidget(plot_, 1);
  plot_->setMinimumSize(560, 380);
  connect(tensorBox_, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
  connect(runList_, &QListWidget::itemChanged, this, [this] { redraw(); });
  connect(unscaled_, &QCheckBox::toggled, this, [this] { redraw(); });
}

void HistogramOverlay::load(const std::filesystem::path& database, qint64 runId) {
  database_ = database;
  runId_ = runId;
  message_.clear();
  const QSignalBlocker b1(tensorBox_), b2(runList_);
  tensorBox_->clear();
  runList_->clear();
  try {
    RunStore store(database, StoreOptions::reading());
    const RunRecord base = store.require_run(runId);
    for (const NumericsSlot& s : store.numerics_slots(runId))
      tensorBox_->addItem(QString::fromStdString(s.label()));
    RunFilter same;
    same.project_name = base.project_name;
    int checked = 0;
    for (const RunRecord& r : store.list_runs(same)) {  // newest first
      bool histograms = false;
      for (const RunStore::NumericsStep& s : store.numerics_steps(r.id)) histograms = histograms || s.histograms;
      if (!histograms) continue;
      auto* item = new QListWidgetItem(
          tr("run %1 · %2 · %3").arg(r.id).arg(QString::fromStdString(r.policy),
                                              QString::fromStdString(r.name)),
          runList_);
      item->setData(Qt::UserRole, qint64(r.id));
      item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
      const bool on = r.id == runId || checked < kMaxChecked - 1;
      if (on && r.id != runId) ++checked;
      item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
    }
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
  }
  redraw();
}

void HistogramOverlay::setStep(std::int64_t step) {
  step_ = step;
  redraw();
}

void HistogramOverlay::setTensor(const QString& label) {
  tensorBox_->setCurrentIndex(tensorBox_->findText(label));
}

void HistogramOverlay::setRuns(const QVector<qint64>& runs) {
  {
    const QSignalBlocker block(runList_);
    for (int i = 0; i < runList_->count(); ++i) {
      QListWidgetItem* item = runList_->item(i);
      item->setCheckState(runs.contains(item->data(Qt::UserRole).toLongLong()) ? Qt::Checked
                                                                                : Qt::Unchecked);
    }
  }
  redraw();
}

QVector<qint64> HistogramOverlay::checkedRuns() const {
  QVector<qint64> out;
  for (int i = 0; i < runList_->count(); ++i)
    if (runList_->item(i)->checkState() == Qt::Checked)
      out.push_back(runList_->item(i)->data(Qt::UserRole).toLongLong());
  return out;
}

void HistogramOverlay::setUnscaled(bool on) {
  unscaled_->setChecked(on);
}

int HistogramOverlay::curves() const {
  return int(shown_.size());
}

void HistogramOverlay::redraw() {
  shown_.clear();
  plot_->clearGraphs();
  const QString label = tensorBox_->currentText();
  if (database_.empty() || label.isEmpty()) {
    plot_->replot();
    return;
  }
  try {
    RunStore store(database_, StoreOptions::reading());
    for (qint64 run : checkedRuns()) {
      const std::vector<NumericsSlot> runSlots = store.numerics_slots(run);
      std::size_t slot = runSlots.size();
      for (std::size_t i = 0; i < runSlots.size(); ++i)
        if (QString::fromStdString(runSlots[i].label()) == label) slot = i;
      if (slot == runSlots.size()) continue;  // this run has no such tensor
      // The stored step with histograms nearest the one asked for.
      std::int64_t best = 0;
      for (const RunStore::NumericsStep& s : store.numerics_steps(run)) {  // by step
        if (!s.histograms) continue;
        if (best == 0 || step_ == 0 || std::llabs(s.step - step_) < std::llabs(best - step_))
          best = s.step;
      }
      const auto sample = best > 0 ? store.numerics_sample(run, best) : std::nullopt;
      if (!sample || slot >= sample->histograms.size()) continue;
      const Histogram& h = sample->histograms[slot];
      double total = 0;
      for (std::uint32_t c : h) total += c;
      if (total <= 0) continue;
      Curve c;
      c.run = run;
      c.step = sample->step;
      c.shift = unscaled_->isChecked() && isGradient(runSlots[slot].role) && sample->scale > 0
                    ? std::log2(sample->scale)
                    : 0.0;
      for (std::uint32_t n : h) c.share.push_back(double(n) / total);
      const RunRecord r = store.require_run(run);
      Policy policy = Policy::Float32;
      try {
        policy = parse_policy(r.policy);
      } catch (const std::exception&) {
      }
      auto* g = plot_->addGraph();
      g->setPen(QPen(policyColor(policy), 1.8, run == runId_ ? Qt::SolidLine : Qt::DashLine));
      g->setLineStyle(QCPGraph::lsStepCenter);
      g->setName(tr("run %1 · %2 · step %3").arg(run).arg(QString::fromStdString(r.policy)).arg(c.step));
      for (int b = 0; b < nb::kBins; ++b) {
        const bool binade = bin_exponent(b).has_value();
        g->addData(binX(b) - (binade ? c.shift : 0.0), c.share[std::size_t(b)]);
      }
      shown_.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
  }
  plot_->xAxis->setRange(nb::kLowExponent - 3, nb::kHighExponent + 3);
  plot_->xAxis->setLabel(tr("|x| binade (log2); left: zero and fp32 subnormal, right: inf/NaN"));
  plot_->yAxis->setLabel(tr("share of values"));
  plot_->yAxis->rescale();
  plot_->yAxis->setRangeLower(0);
  plot_->legend->setVisible(!shown_.empty());
  plot_->replot();
}

}  // namespace mantissa::ui
