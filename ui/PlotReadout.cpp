#include "PlotReadout.hpp"

#include <qcustomplot.h>

namespace mantissa::ui {

PlotReadout::PlotReadout(QCustomPlot* plot, QCPGraph* graph)
    : plot_(plot),
      graph_(graph),
      line_(new QCPItemStraightLine(plot)),
      tracer_(new QCPItemTracer(plot)),
      label_(new QCPItemText(plot)) {
  for (QCPItemPosition* pos : {line_->point1, line_->point2}) {
    pos->setTypeX(QCPItemPosition::ptPlotCoords);
    pos->setTypeY(QCPItemPosition::ptAxisRectRatio);
  }
  line_->point1->setCoords(0, 0);
  line_->point2->setCoords(0, 1);
  line_->setClipToAxisRect(true);

  tracer_->setInterpolating(false);
  tracer_->setStyle(QCPItemTracer::tsCircle);
  tracer_->setSize(7);

  label_->position->setType(QCPItemPosition::ptAxisRectRatio);
  label_->position->setCoords(0.015, 0.03);
  label_->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
  label_->setTextAlignment(Qt::AlignLeft);
  label_->setPadding(QMargins(5, 3, 5, 3));
  label_->setClipToAxisRect(true);
  applyPalette();
  hide();
}

void PlotReadout::applyPalette() {
  const QPalette pal = plot_->palette();
  QColor fg = pal.color(QPalette::Text);
  QColor bg = pal.color(QPalette::Base);
  bg.setAlpha(225);
  QColor lineColor = fg;
  lineColor.setAlpha(110);
  line_->setPen(QPen(lineColor, 1, Qt::DashLine));
  tracer_->setPen(QPen(fg, 1.2));
  tracer_->setBrush(Qt::NoBrush);
  label_->setColor(fg);
  label_->setBrush(bg);
  label_->setPen(QPen(lineColor));
  QFont f = plot_->font();
  f.setPointSizeF(f.pointSizeF() * 0.9);
  label_->setFont(f);
}

void PlotReadout::show(double key, const QString& text) {
  key_ = key;
  line_->point1->setCoords(key, 0);
  line_->point2->setCoords(key, 1);
  tracer_->setGraphKey(key);
  label_->setText(text);
  // Keep the label out of the way of the line: left of it in the right half.
  const double ratio = plot_->xAxis->range().size() > 0
                           ? (key - plot_->xAxis->range().lower) / plot_->xAxis->range().size()
                           : 0;
  if (ratio > 0.5) {
    label_->position->setCoords(0.015, 0.03);
    label_->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
  } else {
    label_->position->setCoords(0.985, 0.97);
    label_->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
  }
  // A tracer follows its graph only while the graph has data; QCustomPlot
  // complains about a tracer on an empty graph.
  const bool hasGraphData = graph_ && !graph_->data()->isEmpty();
  tracer_->setGraph(hasGraphData ? graph_ : nullptr);
  tracer_->setVisible(hasGraphData);
  line_->setVisible(true);
  label_->setVisible(true);
}

void PlotReadout::setGraph(QCPGraph* graph) {
  graph_ = graph;
  if (!graph) tracer_->setGraph(nullptr);
  if (isVisible()) show(key_, text());
}

void PlotReadout::hide() {
  tracer_->setGraph(nullptr);
  line_->setVisible(false);
  tracer_->setVisible(false);
  label_->setVisible(false);
}

bool PlotReadout::isVisible() const {
  return label_->visible();
}

QString PlotReadout::text() const {
  return label_->text();
}

}  // namespace mantissa::ui
