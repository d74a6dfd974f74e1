#pragma once
// The run library: reads stored runs (the record with every step and epoch)
// from the run database on a worker thread, so that opening a long run in
// History or comparing runs never blocks the GUI thread. The studio's one
// threading idiom: a job on a worker, the answer posted back with a queued
// call and a signal named for the past event, stale answers (an older
// request) recognised by their request number.
#include <QObject>
#include <QString>
#include <QVector>
#include <optional>

#include "MetricTypes.hpp"
#include "WorkerThreads.hpp"
#include "mantissa/store.hpp"

namespace mantissa::ui {

// A stored run with its metrics, as the run view and Compare draw it.
struct StoredRun {
  mantissa::RunRecord record;
  QVector<mantissa::StepMetrics> steps;
  QVector<mantissa::EpochMetrics> epochs;
};
// Reads one run from `store`; nullopt when it is gone. Throws StoreError.
std::optional<StoredRun> loadStoredRun(mantissa::RunStore& store, qint64 runId);

class RunLibrary : public QObject {
  Q_OBJECT

 public:
  explicit RunLibrary(QObject* parent = nullptr);
  ~RunLibrary() override;

  // Starts reading `runIds` from `database` (read-only, its own connection);
  // runsLoaded follows with the same request number. Returns it.
  quint64 load(const QString& database, const QVector<qint64>& runIds);
  // The newest request; an answer to an older one is stale.
  quint64 latestRequest() const { return request_; }

 signals:
  // `runs` in the order asked for, without those no longer stored
  // (`missing` counts them); `error` when the database could not be read.
  void runsLoaded(quint64 request, const QVector<mantissa::ui::StoredRun>& runs, int missing,
                  const QString& error);

 private:
  quint64 request_ = 0;
  WorkerThreads workers_;  // last member: joined first, while the rest still exists
};

}  // namespace mantissa::ui

Q_DECLARE_METATYPE(mantissa::ui::StoredRun)
