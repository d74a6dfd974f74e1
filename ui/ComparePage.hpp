#pragma once
// The Compare tab (UI.md): 2–6 stored runs overlaid per metric — training
// loss, validation accuracy per epoch, loss scale and throughput, by step or
// by wall time — each run in its own colour, its policy the line's dash
// (float32 solid, float16 dashed, bfloat16 dotted) and the marker's shape; a
// hover read-out with every run's value at the step under the mouse; a
// summary table with speed-up and memory saving over the float32 run; and the
// project settings that differ.
#include <QVector>
#include <QWidget>
#include <array>
#include <memory>
#include <optional>

#include "HistoryPage.hpp"

class QCustomPlot;
class QStackedWidget;
class QTableWidget;
class QToolButton;

namespace mantissa::ui {

class InlineMessage;
class PlotReadout;

class ComparePage : public QWidget {
  Q_OBJECT

 public:
  enum SummaryColumn {
    Run,
    Policy,
    FinalValAccuracy,
    FinalLoss,
    WallTime,
    SamplesPerS,
    SpeedUp,
    MemorySaving,
    Skipped,
    FinalScale,
    SummaryColumnCount
  };
  // Numeric value of a summary cell (speed-up as a ratio, saving as a fraction).
  static constexpr int kValueRole = Qt::UserRole + 1;

  enum class XAxis { Step, WallTime };

  explicit ComparePage(const QString& databasePath, QWidget* parent = nullptr);
  ~ComparePage() override;

  void setDatabasePath(const QString& path) { databasePath_ = path; }

  // Reads the runs on the run library's worker, then shows them: runsShown
  // follows (an inline message when some or all could not be read). False
  // when there is nothing to read.
  bool compareRuns(const QVector<qint64>& runIds);
  bool isLoading() const { return loadRequest_ != 0; }
  // Shows runs already loaded.
  void setRuns(const QVector<StoredRun>& runs);
  void clear();
  // Drops these runs from the comparison (deleted in History).
  void removeRuns(const QVector<qint64>& runIds);

  QCustomPlot* lossPlot() const { return lossPlot_; }
  QCustomPlot* accuracyPlot() const { return accuracyPlot_; }
  QCustomPlot* scalePlot() const { return scalePlot_; }
  QCustomPlot* throughputPlot() const { return throughputPlot_; }
  // Curves by step or by wall time (the toggle above the plots).
  void setXAxis(XAxis axis);
  XAxis xAxis() const { return xAxis_; }
  QTableWidget* summaryTable() const { return summary_; }
  QTableWidget* diffTable() const { return diff_; }
  bool showsEmptyState() const;
  const QVector<StoredRun>& runs() const { return runs_; }
  // The colour of the run at `index` in runs(); its policy is the dash.
  static QColor colorOfRun(int index);

  // The hover read-out at `key` (x in the current axis units) in every plot:
  // the step (or time) and each run's value there. Returns the step nearest
  // `key` in the first run, or -1 when nothing is shown.
  qint64 showReadoutAt(double key);
  void hideReadout();
  QString readoutText(QCustomPlot* plot) const;

 public slots:
  // A run renamed in `database`: its curves, rows and columns take the name.
  void runRenamed(const QString& database, qint64 runId, const QString& name);

 signals:
  // The runs asked for last are read (those that still exist) and drawn.
  void runsShown(int count);

 private:
  void runsLoaded(quint64 request, const QVector<StoredRun>& runs, int missing,
                  const QString& error);
  void rebuild();
  void fillPlots();
  void fillSummary();
  void fillDiff();
  bool eventFilter(QObject* watched, QEvent* event) override;
  QList<QCustomPlot*> plots() const;

  QString databasePath_;
  RunLibrary* library_ = nullptr;
  quint64 loadRequest_ = 0;  // the read under way, 0 when none
  QVector<StoredRun> runs_;
  QStackedWidget* stack_;
  InlineMessage* message_;
  QCustomPlot* lossPlot_;
  QCustomPlot* accuracyPlot_;
  QCustomPlot* scalePlot_;
  QCustomPlot* throughputPlot_;
  QToolButton* stepButton_;
  QToolButton* wallButton_;
  XAxis xAxis_ = XAxis::Step;
  QTableWidget* summary_;
  QTableWidget* diff_;
  std::array<std::unique_ptr<PlotReadout>, 4> readouts_;  // in plots() order
};

}  // namespace mantissa::ui
