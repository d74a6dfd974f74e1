#include "WhatIfPanel.hpp"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>

#include "PlotTheme.hpp"
#include "PolicyColors.hpp"
#include "mantissa/model.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"
#include "mantissa/units.hpp"

namespace mantissa::ui {

namespace {

constexpr int kMaxExponent = 32;  // the initial-scale slider: 2^0 .. 2^32

QString scaleText(double s) {
  return QString::fromStdString(loss_scale_text(s));
}

}  // namespace

WhatIfPanel::WhatIfPanel(QWidget* parent)
    : QWidget(parent),
      title_(new QLabel(this)),
      mode_(new QComboBox(this)),
      initExp_(new QSlider(Qt::Horizontal, this)),
      initLabel_(new QLabel(this)),
      interval_(new QSpinBox(this)),
      growth_(new QDoubleSpinBox(this)),
      backoff_(new QDoubleSpinBox(this)),
      ownButton_(new QPushButton(tr("Run's settings"), this)),
      searchButton_(new QPushButton(tr("Fewest skips"), this)),
      branchButton_(new QPushButton(tr("Branch to verify"), this)),
      branches_(new QLabel(this)),
      summary_(new QLabel(this)),
      plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  title_->setWordWrap(true);
  layout->addWidget(title_);
  auto* controls = new QHBoxLayout;
  auto* form = new QFormLayout;
  mode_->addItem(tr("Dynamic"), int(LossScaleMode::Dynamic));
  mode_->addItem(tr("Fixed"), int(LossScaleMode::Fixed));
  form->addRow(tr("Mode:"), mode_);
  auto* initRow = new QHBoxLayout;
  initExp_->setRange(0, kMaxExponent);
  initExp_->setPageStep(4);
  initExp_->setMinimumWidth(220);
  initExp_->setToolTip(tr("Initial loss scale (fixed: the scale), as a power of two"));
  initLabel_->setMinimumWidth(44);
  initRow->addWidget(initExp_, 1);
  initRow->addWidget(initLabel_);
  form->addRow(tr("Initial scale:"), initRow);
  interval_->setRange(1, 1000000);
  interval_->setToolTip(tr("Clean steps before the scale grows"));
  form->addRow(tr("Growth interval:"), interval_);
  growth_->setRange(1.0, 16.0);
  growth_->setSingleStep(0.5);
  form->addRow(tr("Growth factor:"), growth_);
  backoff_->setRange(0.05, 1.0);
  backoff_->setSingleStep(0.05);
  form->addRow(tr("Backoff factor:"), backoff_);
  controls->addLayout(form);
  auto* buttons = new QVBoxLayout;
  ownButton_->setToolTip(tr("The settings the run trained with"));
  searchButton_->setToolTip(
      tr("Initial scales 2^0–2^24 and several growth intervals: the fewest skips, then the "
         "largest typical scale (the least underflow)"));
  buttons->addWidget(ownButton_);
  buttons->addWidget(searchButton_);
  branchButton_->setToolTip(
      tr("Train these settings as a new run linked to this one, from its newest checkpoint "
         "before the first step decided otherwise, and check the prediction against it"));
  buttons->addWidget(branchButton_);
  buttons->addStretch(1);
  controls->addLayout(buttons);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  controls->addWidget(summary_, 1);
  layout->addLayout(controls);
  plot_->setMinimumSize(640, 340);
  layout->addWidget(plot_, 1);
  branches_->setWordWrap(true);
  branches_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(branches_);

  applyPlotTheme(plot_);
  plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new PowerOfTwoTicker));
  plot_->yAxis->setLabel(tr("loss scale (log2)"));
  plot_->xAxis->setLabel(tr("step"));
  plot_->legend->setVisible(true);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

  const auto changed = [this] { replayNow(); };
  connect(mode_, &QComboBox::currentIndexChanged, this, changed);
  connect(initExp_, &QSlider::valueChanged, this, [this] {
    if (!loading_) exactInit_.reset();  // moved: a power of two from now on
    replayNow();
  });
  connect(interval_, &QSpinBox::valueChanged, this, changed);
  connect(growth_, &QDoubleSpinBox::valueChanged, this, changed);
  connect(backoff_, &QDoubleSpinBox::valueChanged, this, changed);
  connect(ownButton_, &QPushButton::clicked, this, &WhatIfPanel::resetToRunSettings);
  connect(searchButton_, &QPushButton::clicked, this, &WhatIfPanel::searchFewestSkips);
  connect(branchButton_, &QPushButton::clicked, this, &WhatIfPanel::requestBranch);
  setEnabled(false);
}

bool WhatIfPanel::loadRun(const std::filesystem::path& database, qint64 runId) {
  runId_ = runId;
  database_ = database;
  steps_.clear();
  message_.clear();
  try {
    RunStore store(database, StoreOptions::reading());
    const RunRecord r = store.require_run(runId);
    const Project p =
        parse_project(r.project_json, "run " + std::to_string(runId) + " (project snapshot)");
    runPolicy_ = p.training.policy;
    const bool fp16 = runPolicy_ == Policy::MixedFloat16 || runPolicy_ == Policy::Float16;
    policy_ = fp16 ? runPolicy_ : Policy::MixedFloat16;
    own_ = fp16 ? p.training.loss_scale : LossScaleConfig{};
    if (!own_.mode) own_.mode = effective_mode(policy_, own_);
    steps_ = store.step_metrics(runId);
    samples_.clear();
    for (const RunStore::NumericsStep& n : store.numerics_steps(runId))
      if (n.histograms)
        if (auto sample = store.numerics_sample(runId, n.step)) samples_.push_back(std::move(*sample));
    slots_ = store.numerics_slots(runId);
    if (steps_.empty()) throw InputError("run " + std::to_string(runId) + " recorded no steps");
    replay_scaler(steps_, policy_, own_);  // throws when there is no record
    title_->setText(
        fp16 ? tr("Run %1 (%2, %3 steps): its loss scaler replayed under other settings.")
                   .arg(runId)
                   .arg(QString::fromUtf8(policy_name(runPolicy_).data()))
                   .arg(steps_.size())
             : tr("Run %1 (%2, %3 steps): what mixed fp16's loss scaler would have done on its "
                  "steps (an estimate from its %4 gradients).")
                   .arg(runId)
                   .arg(QString::fromUtf8(policy_name(runPolicy_).data()))
                   .arg(steps_.size())
                   .arg(runPolicy_ == Policy::Float32 ? tr("fp32") : tr("bf16")));
    setEnabled(true);
    branchButton_->setEnabled(fp16);
    resetToRunSettings();
    showBranches();
    return true;
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    title_->setText(message_);
    steps_.clear();
    setEnabled(false);
    return false;
  }
}

LossScaleConfig WhatIfPanel::settings() const {
  LossScaleConfig c = own_;
  c.mode = LossScaleMode(mode_->currentData().toInt());
  c.init_scale = exactInit_ ? *exactInit_ : std::ldexp(1.0, initExp_->value());
  c.growth_interval = interval_->value();
  c.growth_factor = growth_->value();
  c.backoff_factor = backoff_->value();
  return c;
}

void WhatIfPanel::setSettings(const LossScaleConfig& c) {
  loading_ = true;
  const LossScaleMode mode = effective_mode(policy_, c);
  mode_->setCurrentIndex(std::max(0, mode_->findData(int(mode))));
  int e = 0;
  const double mantissa = std::frexp(c.init_scale, &e);
  exactInit_.reset();
  if (mantissa != 0.5) exactInit_ = c.init_scale;
  initExp_->setValue(std::clamp(e - 1, 0, kMaxExponent));
  interval_->setValue(int(std::min<long>(c.growth_interval, interval_->maximum())));
  growth_->setValue(c.growth_factor);
  backoff_->setValue(c.backoff_factor);
  loading_ = false;
  replayNow();
}

void WhatIfPanel::resetToRunSettings() {
  setSettings(own_);
}

void WhatIfPanel::searchFewestSkips() {
  if (steps_.empty()) return;
  const long intervals[] = {long(interval_->value()), 10, 50, 200, 1000, 2000};
  LossScaleConfig base = settings();
  base.mode = LossScaleMode::Dynamic;
  setSettings(search_scaler(steps_, policy_, base, intervals).best);
}

void WhatIfPanel::replayNow() {
  initLabel_->setText(exactInit_ ? QString::number(*exactInit_, 'g', 6)
                                 : QStringLiteral("2^%1").arg(initExp_->value()));
  const bool dynamic = mode_->currentData().toInt() == int(LossScaleMode::Dynamic);
  interval_->setEnabled(dynamic);
  growth_->setEnabled(dynamic);
  backoff_->setEnabled(dynamic);
  if (loading_ || steps_.empty()) return;
  replay_ = replay_scaler(steps_, policy_, settings());
  underflow_ = estimate_underflow(replay_, samples_, slots_);
  draw();
  summary_->setText(summary());
  emit replayed();
}

QString WhatIfPanel::summary() const {
  if (steps_.empty()) return message_;
  const auto n = qsizetype(replay_.steps.size());
  QString s = tr("Predicted: %1 of %2 steps skipped (%3 %), final scale %4; the run: %5 "
                 "skipped.")
                  .arg(replay_.skipped)
                  .arg(n)
                  .arg(100.0 * replay_.wasted_fraction(), 0, 'f', 1)
                  .arg(scaleText(replay_.final_scale))
                  .arg(replay_.recorded_skipped);
  s += QStringLiteral("\n") + tr("%1 steps ran within one binade of overflow.").arg(replay_.knife_edge);
  if (underflow_.steps > 0)
    s += QStringLiteral("\n") +
         tr("Underflow: %1 % of the gradients' values would flush to zero in fp16 (the run: "
            "%2 %), from %3 stored steps.")
             .arg(100.0 * underflow_.predicted, 0, 'f', 3)
             .arg(100.0 * underflow_.recorded, 0, 'f', 3)
             .arg(underflow_.steps);
  const bool fp16 = runPolicy_ == Policy::MixedFloat16 || runPolicy_ == Policy::Float16;
  if (!fp16)
    s += QStringLiteral("\n") + tr("An estimate: the run did not train in fp16.");
  else if (replay_.first_difference)
    s += QStringLiteral("\n") +
         tr("Exact up to step %1, where it first decides otherwise than the run; an estimate "
            "after it.")
             .arg(*replay_.first_difference);
  else
    s += QStringLiteral("\n") + tr("Every skip decision as the run's: exact throughout.");
  if (replay_.first_applied_overflow)
    s += QStringLiteral("\n") +
         tr("Step %1 would apply non-finite gradients (this scaler does not skip).")
             .arg(*replay_.first_applied_overflow);
  return s;
}

void WhatIfPanel::draw() {
  plot_->clearGraphs();
  plot_->clearItems();
  QVector<double> x, recorded, predicted, runSkipX, runSkipY, skipX, skipY;
  for (std::size_t i = 0; i < steps_.size() && i < replay_.steps.size(); ++i) {
    const double step = double(steps_[i].step);
    x << step;
    recorded << steps_[i].loss_scale;
    predicted << replay_.steps[i].scale;
    if (steps_[i].skipped) runSkipX << step, runSkipY << steps_[i].loss_scale;
    if (replay_.steps[i].skipped) skipX << step, skipY << replay_.steps[i].scale;
  }
  const QColor grey = okabe_ito::kGrey;
  QCPGraph* run = plot_->addGraph();
  run->setName(tr("the run"));
  run->setLineStyle(QCPGraph::lsStepLeft);
  run->setPen(QPen(grey, 2));
  run->setData(x, recorded, true);
  QCPGraph* pred = plot_->addGraph();
  pred->setName(tr("these settings"));
  pred->setLineStyle(QCPGraph::lsStepLeft);
  pred->setPen(QPen(policyColor(policy_), 1.6));
  pred->setData(x, predicted, true);
  QCPGraph* runSkips = plot_->addGraph();
  runSkips->setName(tr("the run's skips"));
  runSkips->setLineStyle(QCPGraph::lsNone);
  runSkips->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(grey), QBrush(grey), 7));
  runSkips->setData(runSkipX, runSkipY, true);
  QCPGraph* skips = plot_->addGraph();
  skips->setName(tr("predicted skips"));
  skips->setLineStyle(QCPGraph::lsNone);
  skips->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(skippedStepColor(), 1.4),
                                         Qt::NoBrush, 10));
  skips->setData(skipX, skipY, true);
  if (replay_.first_difference) {
    auto* line = new QCPItemStraightLine(plot_);
    line->point1->setCoords(double(*replay_.first_difference), 1);
    line->point2->setCoords(double(*replay_.first_difference), 2);
    line->setPen(QPen(grey, 1, Qt::DashLine));
    auto* label = new QCPItemText(plot_);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(double(*replay_.first_difference), 0.02);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setText(tr(" exact up to here"));
    label->setColor(grey.darker(150));
  }
  plot_->rescaleAxes();
  plot_->xAxis->setRange(0, plot_->xAxis->range().upper);
  plot_->yAxis->setRange(plot_->yAxis->range().lower / 2, plot_->yAxis->range().upper * 2);
  plot_->replot();
}

bool WhatIfPanel::requestBranch() {
  if (policy_ != runPolicy_) {
    message_ = tr("A branch verifies a replay of the run's own scaler; run %1 trained under %2.")
                   .arg(runId_)
                   .arg(QString::fromUtf8(policy_name(runPolicy_).data()));
    summary_->setText(message_);
    return false;
  }
  try {
    RunStore store(database_, StoreOptions::reading());
    BranchPlan plan = branch_request(store, runId_, settings(), replay_);
    RunLink link;
    link.parent = runId_;
    link.name = plan.request.new_run.name;
    link.notes = plan.request.new_run.notes;
    link.resume_from = std::move(plan.request.options.resume_from);
    link.scaler_state = plan.request.options.scaler_state;
    emit branchRequested(plan.request.project, link);
    return true;
  } catch (const std::exception& e) {
    message_ = QString::fromStdString(e.what());
    summary_->setText(message_);
    return false;
  }
}

void WhatIfPanel::showBranches() {
  branches_->setText(branchesText());
}

QString WhatIfPanel::branchesText() const {
  QStringList lines;
  try {
    RunStore store(database_, StoreOptions::reading());
    for (const RunRecord& r : store.list_runs()) {
      if (r.parent_run_id != runId_ || r.name.find(" branch: ") == std::string::npos) continue;
      const Project child = parse_project(r.project_json, "run " + std::to_string(r.id));
      const ScalerReplay replay = replay_scaler(steps_, policy_, child.training.loss_scale);
      const BranchCheck c = check_branch(replay, store.step_metrics(r.id));
      if (c.compared == 0) continue;
      lines << (c.verified()
                    ? tr("Branch run %1 (%2): %3 skips where %4 were predicted; every decision "
                         "over the %5 exact steps as predicted.")
                    : tr("Branch run %1 (%2): %3 skips where %4 were predicted; NOT as "
                         "predicted over the %5 exact steps."))
                   .arg(r.id)
                   .arg(QString::fromStdString(describe_scaler(policy_, child.training.loss_scale)))
                   .arg(c.actual_skips)
                   .arg(c.predicted_skips)
                   .arg(c.exact_steps);
    }
  } catch (const std::exception&) {
    // An unreadable child is not listed.
  }
  return lines.join(QLatin1Char('\n'));
}

}  // namespace mantissa::ui
