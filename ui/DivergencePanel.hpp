#pragma once
// Divergence from fp32 of a stored run (docs/divergence.md): the run's
// distance to a float32 reference of the same project and seed, per step on
// a log axis, against its noise twin's distance and the band they make, for
// the fingerprint measure picked (loss, gradient norm, update norm, weights);
// the first divergent step marked. "Probe" trains the run again up to that
// step on a worker thread and runs it in its policy and in float32: each op's
// error in a table, the culprit layers on the run's graph. The same as
// `mantissa divergence RUN --reference R --twin T [--probe]`.
#include <QWidget>
#include <filesystem>
#include <optional>
#include <vector>

#include "mantissa/divergence.hpp"
#include "mantissa/model.hpp"
#include "mantissa/probe.hpp"
#include "mantissa/store.hpp"
#include "services/WorkerThreads.hpp"

class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;

namespace mantissa::ui {

class ModelCanvas;
class ProjectDocument;

class DivergencePanel : public QWidget {
  Q_OBJECT

 public:
  explicit DivergencePanel(QWidget* parent = nullptr);
  ~DivergencePanel() override;

  // Reads the run and the float32 runs of its project and seed; picks a
  // reference and a twin (a run named as a twin, else the later one). False,
  // with message(), when there are not two to pick.
  bool loadRun(const std::filesystem::path& database, qint64 runId);
  const QString& message() const { return message_; }
  // Compares against these runs (ids from the combo boxes' lists).
  void setReference(qint64 reference, qint64 twin);
  void setMeasure(const QString& name);  // "loss", "grad_norm", "update_norm", "weights"

  const Divergence& divergence() const { return divergence_; }
  QString summary() const;
  QCustomPlot* plot() const { return plot_; }
  QComboBox* referenceBox() const { return reference_; }
  QComboBox* twinBox() const { return twin_; }
  QPushButton* probeButton() const { return probeButton_; }
  // The step the probe button probes: the first divergent step, else the last.
  std::int64_t probeStep() const;
  void probe();  // on a worker thread; probed() when done
  const std::optional<RunProbe>& lastProbe() const { return probe_; }
  QTableWidget* probeTable() const { return table_; }
  ModelCanvas* canvas() const { return canvas_; }

 signals:
  void compared();
  void probed();

 private:
  void compare();
  void draw();
  void showProbe();

  std::filesystem::path database_;
  qint64 runId_ = 0;
  RunRecord run_;
  std::vector<RunRecord> float32Runs_;
  Divergence divergence_;
  QString measure_ = QStringLiteral("loss");
  std::optional<RunProbe> probe_;
  QString message_;
  int request_ = 0;

  QLabel* title_;
  QComboBox* reference_;
  QComboBox* twin_;
  QComboBox* measureBox_;
  QPushButton* probeButton_;
  QLabel* summary_;
  QCustomPlot* plot_;
  QLabel* probeText_;
  QTableWidget* table_;
  ProjectDocument* document_;
  ModelCanvas* canvas_;
  WorkerThreads workers_;  // last member: joined first, while the rest still exists
};

}  // namespace mantissa::ui
