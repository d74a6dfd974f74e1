#pragma once
// The permanent part of the status bar: device (threads) · memory in use
// (peak) · run id · step i/N · skipped · ETA, and a progress bar.
#include <QElapsedTimer>
#include <QWidget>
#include <optional>

#include "MetricTypes.hpp"

class QLabel;
class QProgressBar;
class QTimer;

namespace mantissa::ui {

class RunStatusBar : public QWidget {
  Q_OBJECT

 public:
  explicit RunStatusBar(QWidget* parent = nullptr);

  void setDevice(const QString& description);
  void runPreparing();
  void runStarted(qint64 runId, const mantissa::RunStart& start);
  void stepsRecorded(const mantissa::StepMetrics& last);
  void runEnded(const mantissa::RunSummary& summary);
  void runFailed();

  QString text() const;  // the labels joined, for tests and accessibility
  QProgressBar* progressBar() const { return progress_; }

 private:
  void showStep(const mantissa::StepMetrics& last);

  QLabel* device_;
  QLabel* memory_;
  QLabel* run_;
  QLabel* step_;
  QLabel* skipped_;
  QLabel* eta_;
  QProgressBar* progress_;
  qint64 totalSteps_ = 0;
  qint64 firstStep_ = 1;
  // Text changes relayout and repaint the bar; at most a few per second.
  QTimer* throttle_;
  QElapsedTimer shown_;
  std::optional<mantissa::StepMetrics> pending_;
};

}  // namespace mantissa::ui
