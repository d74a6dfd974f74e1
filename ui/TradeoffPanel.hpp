#pragma once
// The precision trade-off (docs/tradeoff.md): stored runs of a project or a
// comparison group as points on two chosen axes, one colour per policy (pins
// drawn as diamonds), each group's mean with its replicates' spread, the
// Pareto frontier joined by a line and its groups outlined, dominated groups
// faded, predicted points hollow. Clicking two points opens the two runs in
// Compare (their settings diff and curves). The same as `mantissa tradeoff`.
#include <QVector>
#include <QWidget>
#include <filesystem>
#include <optional>

#include "mantissa/tradeoff.hpp"

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QMouseEvent;
class QTableWidget;

namespace mantissa::ui {

class TradeoffPanel : public QWidget {
  Q_OBJECT

 public:
  explicit TradeoffPanel(QWidget* parent = nullptr);

  // Lists the projects and comparison groups of the database; shows the
  // scope of `runId` (its group if it has one, else its project), or the
  // first project. False, with message(), when the database has no runs.
  bool loadDatabase(const std::filesystem::path& database, qint64 runId = 0);
  const QString& message() const { return message_; }
  void setAxes(TradeoffAxis x, TradeoffAxis y);
  void setScope(int index);  // an entry of scopeBox()

  const Tradeoff& tradeoff() const { return tradeoff_; }
  QCustomPlot* plot() const { return plot_; }
  QComboBox* scopeBox() const { return scope_; }
  QTableWidget* table() const { return table_; }
  // The run whose point is nearest to `pixel` (within a few pixels), or 0.
  qint64 runAt(const QPointF& pixel) const;
  // Where a run's measured point is drawn, in plot pixels (none: no point).
  std::optional<QPointF> pixelOf(qint64 runId) const;
  qint64 pickedRun() const { return picked_; }

 signals:
  // Two points clicked, one after the other: their runs.
  void compareRequested(const QVector<qint64>& runIds);

 private:
  void refresh();
  void draw();
  void fillTable();
  void clicked(QMouseEvent* event);

  std::filesystem::path database_;
  Tradeoff tradeoff_;
  QString message_;
  qint64 picked_ = 0;
  struct Point {
    qint64 run = 0;
    double x = 0, y = 0;
  };
  QVector<Point> points_;  // measured and predicted, in plot coordinates

  QComboBox* scope_;
  QComboBox* xAxis_;
  QComboBox* yAxis_;
  QDoubleSpinBox* target_;
  QLabel* hint_;
  QCustomPlot* plot_;
  QTableWidget* table_;
};

}  // namespace mantissa::ui
