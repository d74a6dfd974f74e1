#pragma once
// The run library: everything the studio reads from or writes to the run
// database outside a training run (the History list, a run's record with
// every step and epoch, checkpoints, rename, notes, delete, exports), done on
// worker threads so that no widget opens the store and the GUI thread never
// waits on SQLite or a file.
//
// The studio's one threading idiom: a job on a worker, the answer posted back
// with a queued call and a signal named for the past event. A read answers
// the newest request of its kind only: an older request's answer is dropped
// here (opening run A, then run B, never shows A). Store reads and writes run
// in order on one thread, so a read sees every write asked for before it;
// exports, which may take a while, run beside them. A read never creates a
// database that is not there.
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>

#include "MetricTypes.hpp"
#include "SerialWorker.hpp"
#include "WeightsFile.hpp"
#include "WorkerThreads.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

// A stored run with its metrics, as the run view and Compare draw it.
struct StoredRun {
  mantissa::RunRecord record;
  QVector<mantissa::StepMetrics> steps;
  QVector<mantissa::EpochMetrics> epochs;
  QByteArray manifest;  // the numerics manifest (JSON); empty when the run has none
  std::vector<mantissa::Provenance> provenance;  // traced overflow events, by step
  std::optional<mantissa::RankLayout> ranks;      // a data-parallel run's ranks
};
// Reads one run from `store`; nullopt when it is gone. Throws StoreError.
std::optional<StoredRun> loadStoredRun(mantissa::RunStore& store, qint64 runId);

// The run list of a database, as History shows it.
struct RunList {
  QVector<mantissa::RunRecord> runs;  // newest first
  bool exists = false;                // the database file is there
  bool readOnly = false;              // opened read-only (the file cannot be written)
  QString error;                      // the list could not be read
};

// A run's checkpoints, as the export dialog offers them.
struct RunCheckpoints {
  QString projectName;  // empty when the run could not be read
  QString runName;
  QVector<qint64> steps;  // newest first
  QString error;
};

// Where a view hears of an edit written by any run library, its own or
// another view's: a run renamed in History reaches the Training tab, Compare
// and an open export dialog. One per process, on the GUI thread.
class RunNotices : public QObject {
  Q_OBJECT

 public:
  static RunNotices* instance();

 signals:
  void runRenamed(const QString& database, qint64 runId, const QString& name);
};

// Whether two paths name the same run database.
bool sameDatabase(const QString& a, const QString& b);

class RunLibrary : public QObject {
  Q_OBJECT

 public:
  explicit RunLibrary(QObject* parent = nullptr);
  ~RunLibrary() override;

  // Reads. Each returns its request number; the answer carries it, and only
  // the newest request of each kind is answered.
  quint64 listRuns(const QString& database);  // runsListed
  // `runIds` read-only, its own connection; runsLoaded.
  quint64 load(const QString& database, const QVector<qint64>& runIds);
  quint64 readCheckpoints(const QString& database, qint64 runId);  // checkpointsRead
  // The run's curve up to its newest checkpoint, drawn before it resumes;
  // resumePointRead.
  quint64 readResumePoint(const QString& database, qint64 runId);
  // Interrupted runs that can be resumed, newest first; none in a database
  // opened read-only. interruptedRunsFound.
  quint64 findInterruptedRuns(const QString& database);
  // Checks that `database` is a run database this build can read, or with
  // `create` makes a new one (refused where a file is already there);
  // databaseChecked.
  quint64 checkDatabase(const QString& database, bool create);
  // The newest load request; 0 before the first.
  quint64 latestRequest() const { return latestLoad_; }

  // Writes, in the order asked for; every one is answered.
  void renameRun(const QString& database, qint64 runId, const QString& name);  // runEdited
  void setRunNotes(const QString& database, qint64 runId, const QString& notes);  // runEdited
  void deleteRuns(const QString& database, const QVector<qint64>& runIds);  // runsDeleted
  // The run's per-step metrics as CSV into `file`; metricsExported.
  void exportMetricsCsv(const QString& database, qint64 runId, const QString& file);
  // The run's checkpoint as safetensors or ONNX (the export job); weightsExported.
  void exportWeights(const WeightsExportRequest& request);

 signals:
  void runsListed(quint64 request, const mantissa::ui::RunList& list);
  // `runs` in the order asked for, without those no longer stored
  // (`missing` counts them); `error` when the database could not be read.
  void runsLoaded(quint64 request, const QVector<mantissa::ui::StoredRun>& runs, int missing,
                  const QString& error);
  void checkpointsRead(quint64 request, qint64 runId, const mantissa::ui::RunCheckpoints& result);
  // `run` holds the steps and epochs up to `step`, the newest checkpoint's.
  void resumePointRead(quint64 request, const mantissa::ui::StoredRun& run, qint64 step,
                       const QString& error);
  void interruptedRunsFound(quint64 request, const QVector<qint64>& runIds, const QString& error);
  void databaseChecked(quint64 request, const QString& database, const QString& error);
  // `record` is the run as stored after the change; on `error` it is empty
  // (id 0) and nothing was written.
  void runEdited(qint64 runId, const mantissa::RunRecord& record, const QString& error);
  // A rename written, after runEdited; RunNotices::runRenamed tells every view.
  void runRenamed(const QString& database, qint64 runId, const QString& name);
  // The runs deleted, and one line for each that could not be.
  void runsDeleted(const QVector<qint64>& deleted, const QStringList& errors);
  void metricsExported(qint64 runId, const QString& file, const QString& error);
  void weightsExported(qint64 runId, const QString& file, const QString& error);

 private:
  // Runs `job` on the store thread and delivers its answer on the GUI thread.
  template <class Answer, class Job, class Deliver>
  void inOrder(Job job, Deliver deliver);

  quint64 request_ = 0;  // every read request gets the next number
  quint64 latestList_ = 0;
  quint64 latestLoad_ = 0;
  quint64 latestCheckpoints_ = 0;
  quint64 latestResume_ = 0;
  quint64 latestInterrupted_ = 0;
  quint64 latestCheck_ = 0;
  // Last members, joined first, while the rest still exists.
  WorkerThreads exports_;
  SerialWorker store_;
};

}  // namespace mantissa::ui

Q_DECLARE_METATYPE(mantissa::RunRecord)
Q_DECLARE_METATYPE(mantissa::ui::StoredRun)
Q_DECLARE_METATYPE(mantissa::ui::RunList)
Q_DECLARE_METATYPE(mantissa::ui::RunCheckpoints)
