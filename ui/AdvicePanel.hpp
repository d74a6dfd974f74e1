#pragma once
// Guided fixes for a stored run (docs/advice.md): each finding of the
// advisor with its evidence, and a button per fix that starts it as a new
// run linked to this one (same initial weights and batches, from the run's
// last good checkpoint where the fix keeps the policy). Below, the fixes
// already tried, each against its control (the run's own record) with
// Accept and Reject; a decision is stored and later advice cites it.
// Nothing is applied until a button is pressed. The same as `mantissa
// advise`.
#include <QWidget>
#include <filesystem>
#include <vector>

#include "mantissa/advice.hpp"
#include "services/TrainingController.hpp"

class QLabel;
class QPushButton;
class QVBoxLayout;

namespace mantissa::ui {

class AdvicePanel : public QWidget {
  Q_OBJECT

 public:
  explicit AdvicePanel(QWidget* parent = nullptr);

  // Reads the run's record and advises, on this thread; false, with
  // message(), when the run cannot be read.
  bool loadRun(const std::filesystem::path& database, qint64 runId);
  const QString& message() const { return message_; }
  const std::vector<Finding>& findings() const { return findings_; }
  // The button of fix `fix` of finding `finding` (0-based); null if none.
  QPushButton* fixButton(int finding, int fix) const;
  // The fixes tried for the run, and their Accept / Reject buttons.
  const std::vector<FixTrial>& trials() const { return trials_; }
  QPushButton* decideButton(qint64 trialRun, bool accept) const;
  // Stores the decision on a trial and reloads; false with message().
  bool decide(qint64 trialRun, bool accept);

 signals:
  // A fix to try: the project with it applied, linked to the run.
  void tryFix(const mantissa::Project& project, const mantissa::ui::RunLink& link);

 private:
  void tryFixAt(int finding, int fix);

  void addTrials();

  std::filesystem::path database_;
  std::vector<FixTrial> trials_;
  std::vector<std::pair<qint64, std::pair<QPushButton*, QPushButton*>>> decideButtons_;
  qint64 runId_ = 0;
  RunEvidence evidence_;
  std::vector<Finding> findings_;
  std::vector<std::vector<QPushButton*>> buttons_;
  QString message_;
  QLabel* title_;
  QVBoxLayout* list_;
};

}  // namespace mantissa::ui
