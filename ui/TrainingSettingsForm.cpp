#include "TrainingSettingsForm.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "PolicyColors.hpp"
#include "mantissa/optim.hpp"
#include "RangeNote.hpp"
#include "ScientificSpinBox.hpp"

namespace mantissa::ui {

namespace {

constexpr int kDefaultMode = -1;

QSpinBox* intBox(QWidget* parent, int lo, int hi) {
  auto* b = new QSpinBox(parent);
  b->setRange(lo, hi);
  b->setKeyboardTracking(false);
  b->setGroupSeparatorShown(true);
  return b;
}

QDoubleSpinBox* realBox(QWidget* parent, double lo, double hi, double step, int decimals) {
  auto* b = new QDoubleSpinBox(parent);
  b->setRange(lo, hi);
  b->setSingleStep(step);
  b->setDecimals(decimals);
  b->setKeyboardTracking(false);
  return b;
}

void setTip(QWidget* w, bool enabled, const QString& whenEnabled, const QString& whenDisabled) {
  w->setEnabled(enabled);
  w->setToolTip(enabled ? whenEnabled : whenDisabled);
}

}  // namespace

template <typename Fn>
void TrainingSettingsForm::change(const QString& field, Fn&& apply, bool continuous) {
  if (updating_) return;
  TrainingSpec next = spec_;
  apply(next);
  spec_ = next;
  updateEnabled();
  emit edited(next, field, continuous);
}

// A spin box whose value goes into one field of the spec.
template <typename Box, typename Fn>
void TrainingSettingsForm::bindNumber(Box* box, const QString& field, Fn&& apply) {
  attachRangeNote(box, field);
  connect(box, qOverload<decltype(box->value())>(&Box::valueChanged), this,
          [this, field, apply](auto v) {
            change(
                field, [&](TrainingSpec& s) { apply(s, v); }, true);
          });
}

QDoubleSpinBox* TrainingSettingsForm::learningRateBox() const {
  return lr_;
}

TrainingSettingsForm::TrainingSettingsForm(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* form = new QFormLayout;
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  layout->addLayout(form);

  optimizer_ = new QComboBox(this);
  QStringList optimizerTips;
  for (const OptimizerInfo& o : optimizer_kinds()) {
    const QString label = QString::fromUtf8(o.label.data(), qsizetype(o.label.size()));
    const QString description =
        QString::fromUtf8(o.description.data(), qsizetype(o.description.size()));
    optimizer_->addItem(label, int(o.kind));
    optimizer_->setItemData(optimizer_->count() - 1, description, Qt::ToolTipRole);
    optimizerTips << label + ": " + description;
  }
  optimizer_->setToolTip(optimizerTips.join('\n'));
  form->addRow(tr("Optimizer:"), optimizer_);
  lr_ = new ScientificSpinBox(this);
  lr_->setRange(1e-9, 10);
  lr_->setToolTip(tr("Peak learning rate; accepts 3e-4"));
  form->addRow(tr("Learning rate:"), lr_);
  momentum_ = realBox(this, 0, 0.999, 0.05, 3);
  form->addRow(tr("Momentum:"), momentum_);
  weightDecay_ = realBox(this, 0, 1, 0.0001, 5);
  weightDecay_->setToolTip(tr("Decoupled weight decay (biases and norms excluded)"));
  form->addRow(tr("Weight decay:"), weightDecay_);
  schedule_ = new QComboBox(this);
  schedule_->addItem(tr("Constant"), int(ScheduleKind::Constant));
  schedule_->addItem(tr("Step"), int(ScheduleKind::Step));
  schedule_->addItem(tr("Cosine"), int(ScheduleKind::Cosine));
  schedule_->setToolTip(tr("How the learning rate changes over the optimizer steps"));
  form->addRow(tr("Schedule:"), schedule_);
  warmup_ = intBox(this, 0, 10'000'000);
  warmup_->setToolTip(tr("Linear warm-up from 0 over this many steps"));
  form->addRow(tr("Warm-up steps:"), warmup_);
  stepSize_ = intBox(this, 1, 10'000'000);
  form->addRow(tr("Step every:"), stepSize_);
  gamma_ = realBox(this, 0.001, 1, 0.05, 3);
  form->addRow(tr("Step factor:"), gamma_);
  batch_ = intBox(this, 1, 1 << 20);
  batch_->setToolTip(tr("Samples per step"));
  form->addRow(tr("Batch size:"), batch_);
  epochs_ = intBox(this, 1, 1'000'000);
  form->addRow(tr("Epochs:"), epochs_);
  steps_ = intBox(this, 0, std::numeric_limits<int>::max());
  steps_->setSpecialValueText(tr("from epochs"));
  steps_->setToolTip(tr("Stop after this many steps instead of the epochs (0: use the epochs)"));
  form->addRow(tr("Steps:"), steps_);
  seed_ = intBox(this, 0, std::numeric_limits<int>::max());
  seed_->setGroupSeparatorShown(false);
  seed_->setToolTip(tr("Seeds initialisation, shuffling and dropout: same seed, same run"));
  form->addRow(tr("Seed:"), seed_);

  auto* scaling = new QLabel(tr("<b>Loss scaling</b>"), this);
  form->addRow(scaling);
  scaleMode_ = new QComboBox(this);
  scaleMode_->addItem(tr("Policy default"), kDefaultMode);
  scaleMode_->addItem(tr("None"), int(LossScaleMode::None));
  scaleMode_->addItem(tr("Fixed"), int(LossScaleMode::Fixed));
  scaleMode_->addItem(tr("Dynamic"), int(LossScaleMode::Dynamic));
  form->addRow(tr("Mode:"), scaleMode_);
  initScale_ = new ScientificSpinBox(this);
  initScale_->setRange(std::ldexp(1.0, -24), std::ldexp(1.0, 64));
  form->addRow(tr("Initial scale:"), initScale_);
  growthInterval_ = intBox(this, 1, 100'000'000);
  form->addRow(tr("Growth interval:"), growthInterval_);
  growthFactor_ = realBox(this, 1.001, 1000, 0.5, 3);
  form->addRow(tr("Growth factor:"), growthFactor_);
  backoffFactor_ = realBox(this, 0.001, 0.999, 0.05, 3);
  form->addRow(tr("Backoff factor:"), backoffFactor_);

  advancedToggle_ = new QToolButton(this);
  advancedToggle_->setText(tr("Advanced"));
  advancedToggle_->setCheckable(true);
  advancedToggle_->setAutoRaise(true);
  advancedToggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  advancedToggle_->setArrowType(Qt::RightArrow);
  layout->addWidget(advancedToggle_);
  advanced_ = buildAdvanced();
  advanced_->setVisible(false);
  layout->addWidget(advanced_);
  connect(advancedToggle_, &QToolButton::toggled, this, [this](bool on) {
    advancedToggle_->setArrowType(on ? Qt::DownArrow : Qt::RightArrow);
    advanced_->setVisible(on);
  });

  auto comboData = [](QComboBox* c) { return c->currentData().toInt(); };
  connect(optimizer_, qOverload<int>(&QComboBox::currentIndexChanged), this, [=, this] {
    change(tr("optimizer"),
           [&](TrainingSpec& s) { s.optimizer.kind = OptimizerKind(comboData(optimizer_)); });
  });
  connect(schedule_, qOverload<int>(&QComboBox::currentIndexChanged), this, [=, this] {
    change(tr("schedule"),
           [&](TrainingSpec& s) { s.schedule.kind = ScheduleKind(comboData(schedule_)); });
  });
  connect(scaleMode_, qOverload<int>(&QComboBox::currentIndexChanged), this, [=, this] {
    change(tr("loss scaling"), [&](TrainingSpec& s) {
      const int m = comboData(scaleMode_);
      s.loss_scale.mode = m == kDefaultMode ? std::nullopt : std::optional(LossScaleMode(m));
    });
  });
  using S = TrainingSpec;
  bindNumber(lr_, tr("learning rate"), [](S& s, double v) { s.optimizer.lr = v; });
  bindNumber(momentum_, tr("momentum"), [](S& s, double v) { s.optimizer.momentum = v; });
  bindNumber(weightDecay_, tr("weight decay"),
             [](S& s, double v) { s.optimizer.weight_decay = v; });
  bindNumber(warmup_, tr("warm-up"), [](S& s, int v) { s.schedule.warmup_steps = v; });
  bindNumber(stepSize_, tr("step interval"), [](S& s, int v) { s.schedule.step_size = v; });
  bindNumber(gamma_, tr("step factor"), [](S& s, double v) { s.schedule.gamma = v; });
  bindNumber(batch_, tr("batch size"), [](S& s, int v) { s.batch_size = v; });
  bindNumber(epochs_, tr("epochs"), [](S& s, int v) { s.epochs = v; });
  bindNumber(steps_, tr("steps"),
             [](S& s, int v) { s.steps = v > 0 ? std::optional<std::int64_t>(v) : std::nullopt; });
  bindNumber(seed_, tr("seed"), [](S& s, int v) { s.seed = std::uint64_t(v); });
  bindNumber(initScale_, tr("initial scale"), [](S& s, double v) { s.loss_scale.init_scale = v; });
  bindNumber(growthInterval_, tr("growth interval"),
             [](S& s, int v) { s.loss_scale.growth_interval = v; });
  bindNumber(growthFactor_, tr("growth factor"),
             [](S& s, double v) { s.loss_scale.growth_factor = v; });
  bindNumber(backoffFactor_, tr("backoff factor"),
             [](S& s, double v) { s.loss_scale.backoff_factor = v; });
}

QWidget* TrainingSettingsForm::buildAdvanced() {
  auto* box = new QWidget(this);
  auto* form = new QFormLayout(box);
  form->setContentsMargins(12, 0, 0, 0);
  pure_ = new QCheckBox(tr("Pure 16-bit (no fp32 master weights)"), box);
  form->addRow(pure_);
  clip_ = realBox(box, 0, 1e6, 0.5, 3);
  clip_->setSpecialValueText(tr("off"));
  clip_->setToolTip(tr("Clip the global gradient norm (of the unscaled gradients) to this value"));
  form->addRow(tr("Clip grad norm:"), clip_);
  skipNonfinite_ = new QCheckBox(tr("Skip non-finite steps (fixed scale)"), box);
  form->addRow(skipNonfinite_);
  checkpointEvery_ = intBox(box, 0, std::numeric_limits<int>::max());
  checkpointEvery_->setSpecialValueText(tr("at the end"));
  checkpointEvery_->setToolTip(tr("Keep a checkpoint every this many steps"));
  form->addRow(tr("Checkpoint every:"), checkpointEvery_);
  virtualRanks_ = intBox(box, 1, 4096);
  virtualRanks_->setSpecialValueText(tr("whole batch"));
  virtualRanks_->setToolTip(
      tr("Gradient accumulation: cut each batch into this many shards, run them one after "
         "another, and sum their gradients in fp32 in order (less activation memory; the "
         "data-parallel step in one process)"));
  form->addRow(tr("Batch shards:"), virtualRanks_);
  syncBatchNorm_ = new QCheckBox(tr("Synchronise BatchNorm across processes"), box);
  syncBatchNorm_->setToolTip(
      tr("On CPU × N: each BatchNorm's statistics over every process's rows together, as "
         "one process with the whole batch; off, each process normalises its own rows"));
  form->addRow(syncBatchNorm_);

  connect(pure_, &QCheckBox::toggled, this, [this](bool on) {
    change(tr("master weights"), [&](TrainingSpec& s) {
      const bool fp16 = s.policy == Policy::MixedFloat16 || s.policy == Policy::Float16;
      const bool bf16 = s.policy == Policy::MixedBFloat16 || s.policy == Policy::BFloat16;
      if (fp16) s.policy = on ? Policy::Float16 : Policy::MixedFloat16;
      if (bf16) s.policy = on ? Policy::BFloat16 : Policy::MixedBFloat16;
    });
  });
  bindNumber(clip_, tr("gradient clipping"), [](TrainingSpec& s, double v) {
    s.clip_grad_norm = v > 0 ? std::optional(v) : std::nullopt;
  });
  connect(skipNonfinite_, &QCheckBox::toggled, this, [this](bool on) {
    change(tr("skip non-finite"), [&](TrainingSpec& s) { s.loss_scale.skip_nonfinite = on; });
  });
  bindNumber(checkpointEvery_, tr("checkpoint interval"),
             [](TrainingSpec& s, int v) { s.checkpoint_every = v; });
  bindNumber(virtualRanks_, tr("batch shards"), [](TrainingSpec& s, int v) { s.virtual_ranks = v; });
  connect(syncBatchNorm_, &QCheckBox::toggled, this, [this](bool on) {
    change(tr("BatchNorm across processes"), [&](TrainingSpec& s) { s.sync_batch_norm = on; });
  });
  return box;
}

void TrainingSettingsForm::setSpec(const TrainingSpec& spec) {
  spec_ = spec;
  updating_ = true;
  optimizer_->setCurrentIndex(optimizer_->findData(int(spec.optimizer.kind)));
  lr_->setValue(spec.optimizer.lr);
  momentum_->setValue(spec.optimizer.momentum);
  weightDecay_->setValue(spec.optimizer.weight_decay);
  schedule_->setCurrentIndex(schedule_->findData(int(spec.schedule.kind)));
  warmup_->setValue(int(spec.schedule.warmup_steps));
  stepSize_->setValue(int(spec.schedule.step_size));
  gamma_->setValue(spec.schedule.gamma);
  batch_->setValue(int(spec.batch_size));
  epochs_->setValue(spec.epochs);
  steps_->setValue(spec.steps ? int(*spec.steps) : 0);
  seed_->setValue(int(spec.seed));
  scaleMode_->setCurrentIndex(
      scaleMode_->findData(spec.loss_scale.mode ? int(*spec.loss_scale.mode) : kDefaultMode));
  initScale_->setValue(spec.loss_scale.init_scale);
  growthInterval_->setValue(int(spec.loss_scale.growth_interval));
  growthFactor_->setValue(spec.loss_scale.growth_factor);
  backoffFactor_->setValue(spec.loss_scale.backoff_factor);
  pure_->setChecked(isPurePolicy(spec.policy));
  clip_->setValue(spec.clip_grad_norm.value_or(0.0));
  skipNonfinite_->setChecked(spec.loss_scale.skip_nonfinite);
  checkpointEvery_->setValue(int(spec.checkpoint_every));
  virtualRanks_->setValue(spec.virtual_ranks);
  syncBatchNorm_->setChecked(spec.sync_batch_norm);
  updating_ = false;
  updateEnabled();
}

void TrainingSettingsForm::updateEnabled() {
  const TrainingSpec& s = spec_;
  const OptimizerInfo& optimizer = optimizer_info(s.optimizer.kind);
  setTip(momentum_, optimizer.uses_momentum, tr("SGD momentum"),
         tr("%1 uses beta1 instead").arg(QString::fromUtf8(optimizer.label.data(),
                                                           qsizetype(optimizer.label.size()))));
  setTip(stepSize_, s.schedule.kind == ScheduleKind::Step,
         tr("Multiply the learning rate by the factor every this many steps"),
         tr("Only for the Step schedule"));
  setTip(gamma_, s.schedule.kind == ScheduleKind::Step,
         tr("Multiplier applied at every step interval"), tr("Only for the Step schedule"));
  epochs_->setEnabled(!s.steps.has_value());
  epochs_->setToolTip(s.steps ? tr("The Steps field overrides the epochs")
                              : tr("Passes over the training set"));

  const bool fp16 = s.policy == Policy::MixedFloat16 || s.policy == Policy::Float16;
  const bool bf16 = s.policy == Policy::MixedBFloat16 || s.policy == Policy::BFloat16;
  scaleMode_->setItemText(0, fp16 ? tr("Policy default (dynamic)") : tr("Policy default (none)"));
  scaleMode_->setToolTip(
      bf16 ? tr("bf16 has fp32's exponent range: no loss scaling unless you turn it on")
      : s.policy == Policy::Float32
          ? tr("fp32 gradients do not underflow: scaling is rarely useful")
          : tr("fp16 gradients underflow without scaling: dynamic is the default"));
  const LossScaleMode mode = effective_mode(s.policy, s.loss_scale);
  const QString off =
      bf16 ? tr("Loss scaling is off (the bf16 default); choose Fixed or Dynamic to use it")
           : tr("Loss scaling is off");
  setTip(
      initScale_, mode != LossScaleMode::None,
      mode == LossScaleMode::Fixed ? tr("The constant scale S") : tr("The scale of the first step"),
      off);
  const bool dynamic = mode == LossScaleMode::Dynamic;
  const QString notDynamic =
      mode == LossScaleMode::None ? off : tr("Only for dynamic loss scaling");
  setTip(growthInterval_, dynamic, tr("Clean steps before the scale grows"), notDynamic);
  setTip(growthFactor_, dynamic, tr("Scale multiplier after a clean interval"), notDynamic);
  setTip(backoffFactor_, dynamic, tr("Scale multiplier after a skipped step"), notDynamic);
  setTip(skipNonfinite_, mode == LossScaleMode::Fixed,
         tr("With a fixed scale, skip steps whose gradients are not finite"),
         tr("Only for fixed loss scaling (dynamic always skips)"));
  setTip(pure_, fp16 || bf16,
         tr("Store weights and optimizer state in the 16-bit type too (for comparison: "
            "small updates get lost)"),
         tr("Choose FP16 or BF16 in the toolbar first"));
}

QDoubleSpinBox* TrainingSettingsForm::initScaleBox() const {
  return initScale_;
}

bool TrainingSettingsForm::advancedVisible() const {
  return advanced_->isVisible();
}

}  // namespace mantissa::ui
