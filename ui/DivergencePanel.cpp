#include "DivergencePanel.hpp"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPointer>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ModelCanvas.hpp"
#include "PlotTheme.hpp"
#include "PolicyColors.hpp"
#include "ProjectDocument.hpp"

namespace mantissa::ui {

namespace {

QString runLabel(const RunRecord& r) {
  return QStringLiteral("%1 · %2").arg(r.id).arg(QString::fromStdString(r.name.empty() ? r.policy : r.name));
}

bool namedTwin(const RunRecord& r) {
  return QString::fromStdString(r.name).contains(QStringLiteral("twin"), Qt::CaseInsensitive);
}

QString number(double v) {
  return std::isfinite(v) ? QString::number(v, 'g', 3) : QStringLiteral("non-finite");
}

const char* const kMeasures[][2] = {{"loss", "Loss"},
                                    {"grad_norm", "Gradient norm"},
                                    {"update_norm", "Update norm"},
                                    {"weights", "Weights (per-tensor norms)"}};

}  // namespace

DivergencePanel::DivergencePanel(QWidget* parent)
    : QWidget(parent),
      title_(new QLabel(this)),
      reference_(new QComboBox(this)),
      twin_(new QComboBox(this)),
      measureBox_(new QComboBox(this)),
      probeButton_(new QPushButton(tr("Probe"), this)),
      summary_(new QLabel(this)),
      plot_(new QCustomPlot(this)),
      probeText_(new QLabel(this)),
      table_(new QTableWidget(this)),
      document_(new ProjectDocument(this)),
      canvas_(new ModelCanvas(document_, this)) {
  auto* layout = new QVBoxLayout(this);
  title_->setWordWrap(true);
  layout->addWidget(title_);
  auto* row = new QHBoxLayout;
  row->addWidget(new QLabel(tr("Reference (float32):"), this));
  row->addWidget(reference_, 1);
  row->addWidget(new QLabel(tr("Noise twin:"), this));
  row->addWidget(twin_, 1);
  row->addWidget(new QLabel(tr("Measure:"), this));
  for (const auto& m : kMeasures) measureBox_->addItem(tr(m[1]), QString::fromLatin1(m[0]));
  row->addWidget(measureBox_);
  probeButton_->setToolTip(
      tr("Train the run again up to its first divergent step and run that step in its policy and "
         "in float32 from the same state: which ops create the error"));
  row->addWidget(probeButton_);
  layout->addLayout(row);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(summary_);

  applyPlotTheme(plot_);
  plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  plot_->yAxis->setNumberFormat(QStringLiteral("eb"));
  plot_->yAxis->setNumberPrecision(0);
  plot_->xAxis->setLabel(tr("step"));
  plot_->yAxis->setLabel(tr("relative distance to float32"));
  plot_->legend->setVisible(true);
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
  plot_->setMinimumHeight(240);

  probeText_->setWordWrap(true);
  probeText_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  table_->setColumnCount(4);
  table_->setHorizontalHeaderLabels({tr("Op"), tr("Error"), tr("Inputs' error"), tr("")});
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  canvas_->setReadOnly(true);
  auto* bottom = new QSplitter(Qt::Horizontal, this);
  bottom->addWidget(table_);
  bottom->addWidget(canvas_);
  bottom->setStretchFactor(0, 1);
  bottom->setStretchFactor(1, 1);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(plot_);
  auto* probeBox = new QWidget(split);
  auto* probeLayout = new QVBoxLayout(probeBox);
  probeLayout->setContentsMargins(0, 0, 0, 0);
  probeLayout->addWidget(probeText_);
  probeLayout->addWidget(bottom, 1);
  split->addWidget(probeBox);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
  probeText_->setText(tr("Probe a step to see which ops create the difference from float32."));

  const auto picked = [this] {
    setReference(reference_->currentData().toLongLong(), twin_->currentData().toLongLong());
  };
  connect(reference_, &QComboBox::currentIndexChanged, this, picked);
  connect(twin_, &QComboBox::currentIndexChanged, this, picked);
  connect(measureBox_, &QComboBox::currentIndexChanged, this,
          [this] { setMeasure(measureBox_->currentData().toString()); });
  connect(probeButton_, &QPushButton::clicked, this, &DivergencePanel::probe);
}

DivergencePanel::~DivergencePanel() = default;

bool DivergencePanel::loadRun(const std::filesystem::path& database, qint64 runId) {
  database_ = database;
  runId_ = runId;
  message_.clear();
  float32Runs_.clear();
  probe_.reset();
  try {
    RunStore store(database, StoreOptions::reading());
    run_ = store.require_run(runId);
    for (const RunRecord& r : store.list_runs())
      if (r.id != runId && r.policy == "float32" && r.project_name == run_.project_name &&
          r.seed == run_.seed && r.steps_recorded > 0)
        float32Runs_.push_back(r);
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
  }
  std::sort(float32Runs_.begin(), float32Runs_.end(),
            [](const RunRecord& a, const RunRecord& b) { return a.id < b.id; });
  if (message_.isEmpty() && float32Runs_.size() < 2)
    message_ = tr("Run %1 needs a float32 run of project '%2' with seed %3 and its noise twin to "
                  "compare with: train them with `mantissa train PROJECT --policy float32` and "
                  "the same with `--noise-twin`.")
                   .arg(runId)
                   .arg(QString::fromStdString(run_.project_name))
                   .arg(run_.seed);
  title_->setText(message_.isEmpty()
                      ? tr("Run %1 (%2) against float32 runs of '%3', seed %4: is it further from "
                           "float32 than two float32 runs are from each other?")
                            .arg(runId)
                            .arg(QString::fromStdString(run_.policy))
                            .arg(QString::fromStdString(run_.project_name))
                            .arg(run_.seed)
                      : message_);
  for (QWidget* w : std::initializer_list<QWidget*>{reference_, twin_, measureBox_, probeButton_})
    w->setEnabled(message_.isEmpty());
  if (!message_.isEmpty()) return false;
  try {
    document_->reset(parse_project(run_.project_json,
                                   "run " + std::to_string(runId) + " (project snapshot)"),
                     {});
    canvas_->fitToView();
  } catch (const std::exception&) {
    document_->reset(Project{}, {});  // the plot needs no graph
  }
  // The twin: a run named as one, else the later of the first two.
  const auto twin = std::find_if(float32Runs_.begin(), float32Runs_.end(), namedTwin);
  const qint64 twinId = twin != float32Runs_.end() ? twin->id : float32Runs_[1].id;
  qint64 refId = 0;
  for (const RunRecord& r : float32Runs_)
    if (r.id != twinId && !namedTwin(r)) {
      refId = r.id;
      break;
    }
  if (refId == 0) refId = float32Runs_.front().id == twinId ? float32Runs_[1].id : float32Runs_.front().id;
  {
    const QSignalBlocker a(reference_), b(twin_);
    reference_->clear();
    twin_->clear();
    for (const RunRecord& r : float32Runs_) {
      reference_->addItem(runLabel(r), qint64(r.id));
      twin_->addItem(runLabel(r), qint64(r.id));
    }
  }
  setReference(refId, twinId);
  return true;
}

void DivergencePanel::setReference(qint64 reference, qint64 twin) {
  {
    const QSignalBlocker a(reference_), b(twin_);
    reference_->setCurrentIndex(reference_->findData(reference));
    twin_->setCurrentIndex(twin_->findData(twin));
  }
  compare();
}

void DivergencePanel::setMeasure(const QString& name) {
  measure_ = name;
  {
    const QSignalBlocker b(measureBox_);
    measureBox_->setCurrentIndex(measureBox_->findData(name));
  }
  draw();
}

void DivergencePanel::compare() {
  const qint64 ref = reference_->currentData().toLongLong();
  const qint64 twin = twin_->currentData().toLongLong();
  divergence_ = Divergence{};
  if (ref == twin) {
    summary_->setText(tr("Pick two different float32 runs: the reference and its noise twin."));
    draw();
    return;
  }
  try {
    RunStore store(database_, StoreOptions::reading());
    divergence_ = mantissa::divergence(fingerprints(store, runId_), fingerprints(store, ref),
                                       fingerprints(store, twin));
  } catch (const std::exception& e) {
    summary_->setText(QString::fromStdString(e.what()));
    draw();
    return;
  }
  summary_->setText(summary());
  probeButton_->setText(tr("Probe step %1").arg(probeStep()));
  probeButton_->setEnabled(!divergence_.steps.empty());
  draw();
  emit compared();
}

QString DivergencePanel::summary() const {
  const Divergence& d = divergence_;
  if (d.steps.empty()) return tr("The runs share no applied step.");
  QString s = d.first_divergent
                  ? tr("Its loss leaves the noise band at step %1 (%2 steps in a row beyond "
                       "max(%3 × the twin's distance, 3 × its precision floor)).")
                        .arg(*d.first_divergent)
                        .arg(d.consecutive)
                        .arg(d.k)
                  : tr("Its loss stays within the noise band for all %1 steps compared.")
                        .arg(d.steps.size());
  QStringList others;
  for (const DivergenceMeasure& m : d.measures) {
    if (m.name == "loss") continue;
    others << (m.first_divergent ? tr("%1 leaves at step %2").arg(QString::fromStdString(m.name)).arg(*m.first_divergent)
                                 : tr("%1 stays within").arg(QString::fromStdString(m.name)));
  }
  if (!others.isEmpty()) s += QLatin1Char(' ') + others.join(QStringLiteral("; ")) + QLatin1Char('.');
  if (d.identical_until > 0)
    s += QLatin1Char(' ') + tr("Its weights are bit-identical to the reference's up to step %1.")
                                .arg(d.identical_until);
  return s;
}

std::int64_t DivergencePanel::probeStep() const {
  if (divergence_.first_divergent) return *divergence_.first_divergent;
  return divergence_.steps.empty() ? 0 : divergence_.steps.back();
}

void DivergencePanel::draw() {
  plot_->clearGraphs();
  plot_->clearItems();
  const DivergenceMeasure* m = divergence_.measure(measure_.toStdString());
  if (m == nullptr || divergence_.steps.empty()) {
    plot_->replot();
    return;
  }
  // A log axis shows no zero: distances of exactly 0 (bit-identical) sit at
  // the floor of the plot.
  double lowest = 1e-12;
  for (const auto* series : {&m->candidate, &m->twin, &m->band})
    for (double v : *series)
      if (v > 0 && std::isfinite(v)) lowest = std::max(1e-16, std::min(lowest, v));
  const double floorValue = lowest / 4;
  QVector<double> x, cand, twin, band;
  for (std::size_t i = 0; i < divergence_.steps.size(); ++i) {
    x << double(divergence_.steps[i]);
    cand << std::max(m->candidate[i], floorValue);
    twin << std::max(m->twin[i], floorValue);
    band << std::max(m->band[i], floorValue);
  }
  QCPGraph* bandGraph = plot_->addGraph();
  bandGraph->setName(tr("noise band"));
  QColor fill = okabe_ito::kGrey;
  fill.setAlpha(50);
  bandGraph->setPen(QPen(okabe_ito::kGrey, 1, Qt::DashLine));
  bandGraph->setBrush(fill);
  bandGraph->setData(x, band, true);
  QCPGraph* twinGraph = plot_->addGraph();
  twinGraph->setName(tr("noise twin"));
  twinGraph->setPen(QPen(okabe_ito::kGrey.darker(130), 1.2));
  twinGraph->setData(x, twin, true);
  QCPGraph* candGraph = plot_->addGraph();
  candGraph->setName(tr("run %1 (%2)").arg(runId_).arg(QString::fromStdString(run_.policy)));
  candGraph->setPen(QPen(policyColor(parse_policy(run_.policy)), 1.8));
  candGraph->setData(x, cand, true);
  if (m->first_divergent) {
    auto* line = new QCPItemStraightLine(plot_);
    line->point1->setCoords(double(*m->first_divergent), 1);
    line->point2->setCoords(double(*m->first_divergent), 2);
    line->setPen(QPen(skippedStepColor(), 1.4, Qt::DashLine));
    auto* label = new QCPItemText(plot_);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(double(*m->first_divergent), 0.02);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setText(tr(" leaves the band at step %1").arg(*m->first_divergent));
    label->setColor(skippedStepColor());
  }
  plot_->rescaleAxes();
  plot_->yAxis->setRange(floorValue / 2, plot_->yAxis->range().upper * 4);
  plot_->replot();
}

void DivergencePanel::probe() {
  const std::int64_t step = probeStep();
  if (step <= 0) return;
  const int request = ++request_;
  probeButton_->setEnabled(false);
  probeText_->setText(tr("Training run %1 again up to step %2 and probing it…").arg(runId_).arg(step));
  const std::filesystem::path database = database_;
  const qint64 runId = runId_;
  DivergencePanel* panel = this;
  QPointer<DivergencePanel> self(this);
  workers_.start([panel, self, database, runId, step, request] {
    std::optional<RunProbe> result;
    QString error;
    try {
      RunStore store(database, StoreOptions::reading());
      result = probe_run(store, runId, step);
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        panel,
        [self, request, result, error] {
          if (!self || request != self->request_) return;
          self->probeButton_->setEnabled(true);
          self->probe_ = result;
          if (!error.isEmpty()) self->probeText_->setText(error);
          else self->showProbe();
          emit self->probed();
        },
        Qt::QueuedConnection);
  });
}

void DivergencePanel::showProbe() {
  const RunProbe& r = *probe_;
  const StepProbe& p = r.probe;
  probeText_->setText(
      QString::fromStdString(p.sentence()) + QStringLiteral(". ") +
      (r.reproduced ? tr("Trained again from %1; the step's loss came out bit for bit as recorded.")
                    : tr("Trained again from %1, but the step's loss differs from the recorded "
                         "one: the state probed is not exactly the run's."))
          .arg(r.from_step > 0 ? tr("the checkpoint at step %1").arg(r.from_step) : tr("the start")));
  table_->setRowCount(int(p.ops.size()));
  for (int i = 0; i < int(p.ops.size()); ++i) {
    const ProbeOp& op = p.ops[std::size_t(i)];
    table_->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(op.layer + " " + op.what)));
    table_->setItem(i, 1, new QTableWidgetItem(number(op.error)));
    table_->setItem(i, 2, new QTableWidgetItem(number(op.input_error)));
    table_->setItem(i, 3, new QTableWidgetItem(op.culprit ? tr("culprit") : QString()));
    if (op.culprit)
      for (int c = 0; c < 4; ++c) table_->item(i, c)->setForeground(skippedStepColor());
  }
  table_->resizeColumnsToContents();
  QStringList others;
  for (std::size_t i = 1; i < p.culprits.size(); ++i) others << QString::fromStdString(p.culprits[i]);
  canvas_->showOverflow(p.culprits.empty() ? QString() : QString::fromStdString(p.culprits.front()),
                        others, QString::fromStdString(p.sentence()),
                        tr("precision creates error here too"));
}

}  // namespace mantissa::ui
