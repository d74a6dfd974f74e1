#pragma once
// Layer × step heatmaps of a run's per-tensor numerics (docs/numerics.md):
// one row per tensor in execution order, one column per stored step, the
// colour one metric (flush, subnormal or saturate share in fp16, headroom to
// 65,504, non-finite share). Cells of tensors a step did not produce stay
// empty. Clicking a cell asks for that step (stepChosen).
#include <QWidget>
#include <optional>
#include <vector>

#include "mantissa/numerics.hpp"

class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QLabel;

namespace mantissa::ui {

class NumericsHeatmap : public QWidget {
  Q_OBJECT
 public:
  explicit NumericsHeatmap(QWidget* parent = nullptr);

  void setData(const std::vector<NumericsSlot>& tensors, const std::vector<NumericsSample>& samples);
  void setMetric(NumericsMetric metric);
  NumericsMetric metric() const { return metric_; }
  // The value drawn at (tensor row, stored-step column); none for an empty cell.
  std::optional<double> cell(int row, int column) const;
  int rows() const { return int(slots_.size()); }
  int columns() const { return int(samples_.size()); }
  // "fc1 output, step 40: 12.5 % flush to zero in fp16": what a cell says.
  QString describe(int row, int column) const;

  QComboBox* metricBox() const { return metricBox_; }
  QCustomPlot* plot() const { return plot_; }
  QCPColorMap* colorMap() const { return map_; }

 signals:
  void stepChosen(int column);

 private:
  void redraw();

  std::vector<NumericsSlot> slots_;
  std::vector<NumericsSample> samples_;
  NumericsMetric metric_ = NumericsMetric::FlushF16;
  QComboBox* metricBox_;
  QLabel* hover_;
  QCustomPlot* plot_;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_;
};

}  // namespace mantissa::ui
