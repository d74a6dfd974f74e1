#pragma once
// The loss scaler's what-if for a stored run (docs/whatif.md): the scaler's
// settings as controls, and on one log2 plot the scale the run trained at
// (grey, its skipped steps as grey triangles) under the scale those settings
// would have used (the policy's colour, predicted skips in vermillion), with
// the step up to which the prediction is exact marked. Every change replays
// at once; "Fewest skips" searches initial scales and growth intervals;
// "Run's settings" goes back to what the run used. The same as
// `mantissa whatif`.
#include <QWidget>
#include <filesystem>
#include <optional>
#include <vector>

#include "mantissa/metrics.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/whatif.hpp"
#include "services/TrainingController.hpp"

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace mantissa::ui {

class WhatIfPanel : public QWidget {
  Q_OBJECT

 public:
  explicit WhatIfPanel(QWidget* parent = nullptr);

  // Reads the run's steps and settings on this thread (a few dozen bytes a
  // step); false, with message(), when it has no scaler record.
  bool loadRun(const std::filesystem::path& database, qint64 runId);
  const QString& message() const { return message_; }

  LossScaleConfig settings() const;
  void setSettings(const LossScaleConfig& c);  // replays
  void resetToRunSettings();
  void searchFewestSkips();

  const ScalerReplay& replay() const { return replay_; }
  const UnderflowEstimate& underflow() const { return underflow_; }
  QString summary() const;
  QCustomPlot* plot() const { return plot_; }
  QSlider* initScaleSlider() const { return initExp_; }
  QSpinBox* growthIntervalBox() const { return interval_; }

  // Branch to verify: the current settings trained as a child of the run,
  // from its newest checkpoint before the first differing step
  // (branch_request). Emits branchRequested; false with message() when the
  // run is no fp16 run.
  bool requestBranch();
  // The run's earlier branches, each checked against its own settings'
  // replay (check_branch), one line each.
  QString branchesText() const;
  QPushButton* branchButton() const { return branchButton_; }

 signals:
  void replayed();
  void branchRequested(const mantissa::Project& child, const RunLink& link);

 private:
  void replayNow();
  void draw();

  qint64 runId_ = 0;
  Policy runPolicy_ = Policy::MixedFloat16;
  Policy policy_ = Policy::MixedFloat16;  // what the replay runs as
  LossScaleConfig own_;
  std::vector<StepMetrics> steps_;
  std::vector<NumericsSample> samples_;  // stored steps with histograms
  std::vector<NumericsSlot> slots_;
  UnderflowEstimate underflow_;
  ScalerReplay replay_;
  QString message_;
  bool loading_ = false;
  // An initial scale that is no power of two (the run's, say), kept exactly
  // until the slider is moved.
  std::optional<double> exactInit_;

  QLabel* title_;
  QComboBox* mode_;
  QSlider* initExp_;
  QLabel* initLabel_;
  QSpinBox* interval_;
  QDoubleSpinBox* growth_;
  QDoubleSpinBox* backoff_;
  QPushButton* ownButton_;
  QPushButton* searchButton_;
  QPushButton* branchButton_;
  QLabel* branches_;
  std::filesystem::path database_;
  void showBranches();
  QLabel* summary_;
  QCustomPlot* plot_;
};

}  // namespace mantissa::ui
