#pragma once
// The Sample panel: a trained language model (a run on token ids) continues
// a prompt, on a worker thread, with the engine's sample job
// (mantissa/sample.hpp, as `mantissa sample` runs it). The text appears as it
// is generated; Stop ends it early; a new Generate abandons the one before.
#include <QByteArray>
#include <QWidget>
#include <atomic>
#include <memory>

#include "services/WorkerThreads.hpp"

class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace mantissa::ui {

class SamplePanel : public QWidget {
  Q_OBJECT

 public:
  explicit SamplePanel(QWidget* parent = nullptr);
  ~SamplePanel() override;

  // The run to sample from; its checkpoint is read when Generate is pressed.
  void setRun(const QString& databasePath, qint64 runId);
  qint64 runId() const { return runId_; }
  bool generating() const { return bool(stop_); }

  QLineEdit* promptEdit() const { return prompt_; }
  QPlainTextEdit* output() const { return output_; }
  QPushButton* generateButton() const { return generate_; }
  QLabel* status() const { return status_; }
  // The continuation's bytes as generated (the output shows them decoded).
  const QByteArray& generatedBytes() const { return generated_; }

 public slots:
  void generate();
  void stop();

 signals:
  void finished();  // a generation ended (done, stopped or failed)

 private:
  void finish(const QString& status);

  QString database_;
  QString shownPrompt_;  // the prompt of the generation shown
  QByteArray generated_;
  qint64 runId_ = 0;
  QLineEdit* prompt_ = nullptr;
  QSpinBox* tokens_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QPushButton* generate_ = nullptr;
  QPushButton* stopButton_ = nullptr;
  QPlainTextEdit* output_ = nullptr;
  QLabel* status_ = nullptr;
  quint64 request_ = 0;
  std::shared_ptr<std::atomic<bool>> stop_;  // the running generation's; null when idle
  WorkerThreads workers_;  // last member: joined first, while the rest still exists
};

}  // namespace mantissa::ui
