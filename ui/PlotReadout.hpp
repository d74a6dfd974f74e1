#pragma once
// The hover read-out of one plot: a vertical line at the hovered step, a
// tracer on the plot's main curve and a label with the values. LivePlots moves
// all four read-outs together, so hovering one plot shows the same step in
// every plot.
#include <QString>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCPItemTracer;

namespace mantissa::ui {

class PlotReadout {
 public:
  // `graph`, which the tracer sits on, may be null (none yet).
  PlotReadout(QCustomPlot* plot, QCPGraph* graph);

  void show(double key, const QString& text);
  void hide();
  bool isVisible() const;
  QString text() const;
  double key() const { return key_; }
  void applyPalette();
  // The curve the tracer sits on; null before a curve that is removed.
  void setGraph(QCPGraph* graph);

 private:
  QCustomPlot* plot_;
  QCPGraph* graph_;
  QCPItemStraightLine* line_;
  QCPItemTracer* tracer_;
  QCPItemText* label_;
  double key_ = 0;
};

}  // namespace mantissa::ui
