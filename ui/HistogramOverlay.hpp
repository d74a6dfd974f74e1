#pragma once
// One tensor's histogram overlaid across runs (docs/numerics.md): the share
// of its values per binade, one curve per run, each from that run's stored
// step with a histogram nearest the step asked for (for example the same
// layer under mixed_float16 and mixed_bfloat16). Gradients are stored as
// scaled; by default each curve is shifted back by log2 of its step's loss
// scale, so runs with different scales line up.
#include <QString>
#include <QVector>
#include <QWidget>
#include <filesystem>
#include <vector>

#include "mantissa/numerics.hpp"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QListWidget;

namespace mantissa::ui {

class HistogramOverlay : public QWidget {
  Q_OBJECT
 public:
  explicit HistogramOverlay(QWidget* parent = nullptr);

  // Lists run `runId`'s tensors and the runs of `database` with stored
  // histograms of the same project; checks `runId` and up to three others.
  void load(const std::filesystem::path& database, qint64 runId);
  // Near which step to take each run's histogram (default: each run's last).
  void setStep(std::int64_t step);
  void setTensor(const QString& label);
  void setRuns(const QVector<qint64>& runs);
  QVector<qint64> checkedRuns() const;
  void setUnscaled(bool on);

  int curves() const;
  // Curve k's run, step and values: share of the tensor's values per bin.
  struct Curve {
    qint64 run = 0;
    std::int64_t step = 0;
    double shift = 0;  // binades subtracted (log2 of the loss scale)
    std::vector<double> share;  // per histogram bin
  };
  const std::vector<Curve>& shown() const { return shown_; }

  QComboBox* tensorBox() const { return tensorBox_; }
  QListWidget* runList() const { return runList_; }
  QCustomPlot* plot() const { return plot_; }
  const QString& message() const { return message_; }

 private:
  void redraw();

  std::filesystem::path database_;
  qint64 runId_ = 0;
  std::int64_t step_ = 0;  // 0: each run's last stored histogram
  std::vector<Curve> shown_;
  QString message_;
  QComboBox* tensorBox_;
  QListWidget* runList_;
  QCheckBox* unscaled_;
  QCustomPlot* plot_;
};

}  // namespace mantissa::ui
