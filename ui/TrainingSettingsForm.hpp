#pragma once
// The Inspector's "Training settings": optimizer, learning rate and schedule,
// batch, epochs, seed, loss scaling, and an Advanced section (pure 16-bit
// policies, gradient clipping, fixed-scale skipping, checkpoints). Fields that
// do not apply are disabled with the reason as tooltip. Every edit is
// reported as a whole new TrainingSpec, so the document can undo it.
#include <QWidget>

#include "mantissa/model.hpp"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QSpinBox;
class QToolButton;

namespace mantissa::ui {

class ScientificSpinBox;

class TrainingSettingsForm : public QWidget {
  Q_OBJECT

 public:
  explicit TrainingSettingsForm(QWidget* parent = nullptr);

  // Shows `spec` without emitting edited().
  void setSpec(const mantissa::TrainingSpec& spec);
  const mantissa::TrainingSpec& spec() const { return spec_; }

  QSpinBox* batchSizeBox() const { return batch_; }
  QComboBox* lossScaleModeBox() const { return scaleMode_; }
  QDoubleSpinBox* initScaleBox() const;
  QSpinBox* growthIntervalBox() const { return growthInterval_; }
  QSpinBox* virtualRanksBox() const { return virtualRanks_; }
  QCheckBox* syncBatchNormBox() const { return syncBatchNorm_; }
  QCheckBox* pureBox() const { return pure_; }
  QComboBox* optimizerBox() const { return optimizer_; }
  QDoubleSpinBox* momentumBox() const { return momentum_; }
  QDoubleSpinBox* learningRateBox() const;
  bool advancedVisible() const;

 signals:
  // `continuous`: one of a run of small edits of the same field (spin box
  // steps), which the undo history may fold into one step.
  void edited(const mantissa::TrainingSpec& spec, const QString& field, bool continuous);

 private:
  template <typename Fn>
  void change(const QString& field, Fn&& apply, bool continuous = false);
  template <typename Box, typename Fn>
  void bindNumber(Box* box, const QString& field, Fn&& apply);
  void updateEnabled();
  QWidget* buildAdvanced();

  mantissa::TrainingSpec spec_;
  bool updating_ = false;

  QComboBox* optimizer_;
  ScientificSpinBox* lr_;
  QDoubleSpinBox* momentum_;
  QDoubleSpinBox* weightDecay_;
  QComboBox* schedule_;
  QSpinBox* warmup_;
  QSpinBox* stepSize_;
  QDoubleSpinBox* gamma_;
  QSpinBox* batch_;
  QSpinBox* epochs_;
  QSpinBox* steps_;
  QSpinBox* seed_;
  QComboBox* scaleMode_;
  ScientificSpinBox* initScale_;
  QSpinBox* growthInterval_;
  QDoubleSpinBox* growthFactor_;
  QDoubleSpinBox* backoffFactor_;
  QToolButton* advancedToggle_;
  QWidget* advanced_;
  QCheckBox* pure_;
  QDoubleSpinBox* clip_;
  QCheckBox* skipNonfinite_;
  QSpinBox* checkpointEvery_;
  QSpinBox* virtualRanks_;
  QCheckBox* syncBatchNorm_;
};

}  // namespace mantissa::ui
