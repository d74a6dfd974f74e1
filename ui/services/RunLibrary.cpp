#include "services/RunLibrary.hpp"

#include <QFile>
#include <QFileInfo>
#include <QGlobalStatic>
#include <QObject>
#include <QMetaObject>
#include <exception>
#include <filesystem>
#include <memory>

#include "mantissa/resume.hpp"

namespace mantissa::ui {

namespace {

QString errorText(const std::exception& e) {
  return QString::fromUtf8(e.what());
}

// Opens a database that must exist (reads and edits never create one: a
// missing file is said, not made), read-only where it cannot be written.
RunStore openExisting(const std::string& database) {
  if (!std::filesystem::exists(database))
    throw InputError(database + ": no run database here");
  return RunStore(database, StoreOptions::reading());
}

// An answer built by `fill` from the opened store; what it throws becomes
// the answer's error.
template <class Answer, class Fill>
Answer fromStore(const std::string& database, Fill fill) {
  Answer out;
  try {
    RunStore store = openExisting(database);
    fill(store, out);
  } catch (const std::exception& e) {
    out.error = errorText(e);
  }
  return out;
}

}  // namespace

Q_GLOBAL_STATIC(RunNotices, runNotices)

RunNotices* RunNotices::instance() {
  return runNotices();
}

bool sameDatabase(const QString& a, const QString& b) {
  if (a == b) return true;
  if (a.isEmpty() || b.isEmpty()) return false;
  const QFileInfo fa(a), fb(b);
  const QString ca = fa.canonicalFilePath(), cb = fb.canonicalFilePath();
  return !ca.isEmpty() ? ca == cb : fa.absoluteFilePath() == fb.absoluteFilePath();
}

std::optional<StoredRun> loadStoredRun(RunStore& store, qint64 runId) {
  std::optional<RunRecord> record = store.get_run(runId);
  if (!record) return std::nullopt;
  StoredRun run;
  run.record = std::move(*record);
  const std::vector<StepMetrics> steps = store.step_metrics(runId);
  const std::vector<EpochMetrics> epochs = store.epoch_metrics(runId);
  run.steps = QVector<StepMetrics>(steps.begin(), steps.end());
  run.epochs = QVector<EpochMetrics>(epochs.begin(), epochs.end());
  if (const auto m = store.manifest(runId)) run.manifest = QByteArray::fromStdString(*m);
  run.provenance = store.provenance(runId);
  run.ranks = store.ranks(runId);
  return run;
}

RunLibrary::RunLibrary(QObject* parent) : QObject(parent) {
  qRegisterMetaType<QVector<StoredRun>>();
  qRegisterMetaType<RunList>();
  qRegisterMetaType<RunCheckpoints>();
  qRegisterMetaType<RunRecord>();
}

RunLibrary::~RunLibrary() = default;

template <class Answer, class Job, class Deliver>
void RunLibrary::inOrder(Job job, Deliver deliver) {
  store_.post([this, job = std::move(job), deliver = std::move(deliver)]() mutable {
    auto answer = std::make_shared<Answer>(job());
    QMetaObject::invokeMethod(
        this, [answer, deliver = std::move(deliver)]() mutable { deliver(std::move(*answer)); },
        Qt::QueuedConnection);
  });
}

quint64 RunLibrary::listRuns(const QString& database) {
  const quint64 request = latestList_ = ++request_;
  inOrder<RunList>(
      [db = database.toStdString()] {
        RunList list;
        try {
          list.exists = !db.empty() && std::filesystem::exists(db);
          if (!list.exists) return list;
          RunStore store(db, StoreOptions::reading());
          list.readOnly = store.read_only();
          const std::vector<RunRecord> runs = store.list_runs();
          list.runs = QVector<RunRecord>(runs.begin(), runs.end());
        } catch (const std::exception& e) {
          list.error = errorText(e);
        }
        return list;
      },
      [this, request](RunList list) {
        if (request != latestList_) return;  // a newer list was asked for
        emit runsListed(request, list);
      });
  return request;
}

quint64 RunLibrary::load(const QString& database, const QVector<qint64>& runIds) {
  struct Loaded {
    QVector<StoredRun> runs;
    int missing = 0;
    QString error;
  };
  const quint64 request = latestLoad_ = ++request_;
  inOrder<Loaded>(
      [db = database.toStdString(), runIds] {
        return fromStore<Loaded>(db, [&](RunStore& store, Loaded& out) {
          for (qint64 id : runIds) {
            if (auto run = loadStoredRun(store, id))
              out.runs.push_back(std::move(*run));
            else
              ++out.missing;
          }
        });
      },
      [this, request](Loaded out) {
        if (request != latestLoad_) return;  // a newer load was asked for
        emit runsLoaded(request, out.runs, out.missing, out.error);
      });
  return request;
}

quint64 RunLibrary::readCheckpoints(const QString& database, qint64 runId) {
  const quint64 request = latestCheckpoints_ = ++request_;
  inOrder<RunCheckpoints>(
      [db = database.toStdString(), runId] {
        return fromStore<RunCheckpoints>(db, [&](RunStore& store, RunCheckpoints& out) {
          const RunRecord run = store.require_run(runId);
          out.projectName = QString::fromStdString(run.project_name);
          out.runName = QString::fromStdString(run.name);
          for (const CheckpointInfo& c : store.checkpoints(runId)) out.steps << c.step;
        });
      },
      [this, request, runId](RunCheckpoints out) {
        if (request != latestCheckpoints_) return;
        emit checkpointsRead(request, runId, out);
      });
  return request;
}

quint64 RunLibrary::readResumePoint(const QString& database, qint64 runId) {
  struct Point {
    StoredRun run;
    qint64 step = 0;
    QString error;
  };
  const quint64 request = latestResume_ = ++request_;
  inOrder<Point>(
      [db = database.toStdString(), runId] {
        return fromStore<Point>(db, [&](RunStore& store, Point& out) {
          out.run.record = store.require_run(runId);
          const std::vector<CheckpointInfo> checkpoints = store.checkpoints(runId);
          out.step = checkpoints.empty() ? 0 : checkpoints.front().step;
          for (const StepMetrics& m : store.step_metrics(runId))
            if (m.step <= out.step) out.run.steps.push_back(m);
          for (const EpochMetrics& e : store.epoch_metrics(runId))
            if (e.step <= out.step) out.run.epochs.push_back(e);
        });
      },
      [this, request](Point out) {
        if (request != latestResume_) return;
        emit resumePointRead(request, out.run, out.step, out.error);
      });
  return request;
}

quint64 RunLibrary::findInterruptedRuns(const QString& database) {
  struct Found {
    QVector<qint64> ids;
    QString error;
  };
  const quint64 request = latestInterrupted_ = ++request_;
  inOrder<Found>(
      [db = database.toStdString()] {
        Found out;
        try {
          if (!std::filesystem::exists(db)) return out;
          RunStore store(db, StoreOptions::reading());
          if (store.read_only()) return out;
          for (const std::int64_t id : resumable_interrupted_runs(store)) out.ids << id;
        } catch (const std::exception& e) {
          out.error = errorText(e);
        }
        return out;
      },
      [this, request](Found out) {
        if (request != latestInterrupted_) return;
        emit interruptedRunsFound(request, out.ids, out.error);
      });
  return request;
}

quint64 RunLibrary::checkDatabase(const QString& database, bool create) {
  const quint64 request = latestCheck_ = ++request_;
  inOrder<QString>(
      [database, create]() -> QString {
        const std::string db = database.toStdString();
        const bool exists = std::filesystem::exists(db);
        if (!create && !exists) return tr("%1: no such file").arg(database);
        if (create && exists)
          return tr("%1: already exists; open it with Open Run Database…").arg(database);
        try {
          // Creates it, or checks that it is a run database this build can read.
          RunStore check(db, {.access = create ? StoreAccess::ReadWrite
                                               : StoreAccess::ReadOnlyIfNotWritable});
        } catch (const std::exception& e) {
          return errorText(e);
        }
        return {};
      },
      [this, request, database](QString error) {
        if (request != latestCheck_) return;
        emit databaseChecked(request, database, error);
      });
  return request;
}

namespace {

struct Edited {
  RunRecord record;
  QString error;
};

// Writes with `write` and reads the run back as stored.
template <class Write>
Edited editRun(const std::string& db, qint64 runId, Write write) {
  return fromStore<Edited>(db, [&](RunStore& store, Edited& out) {
    write(store);
    if (auto r = store.get_run(runId)) out.record = std::move(*r);
  });
}

}  // namespace

void RunLibrary::renameRun(const QString& database, qint64 runId, const QString& name) {
  inOrder<Edited>(
      [db = database.toStdString(), runId, name = name.toStdString()] {
        return editRun(db, runId, [&](RunStore& s) { s.rename_run(runId, name); });
      },
      [this, runId, database](Edited out) {
        emit runEdited(runId, out.record, out.error);
        if (!out.error.isEmpty() || out.record.id == 0) return;
        const QString stored = QString::fromStdString(out.record.name);
        emit runRenamed(database, runId, stored);
        emit RunNotices::instance()->runRenamed(database, runId, stored);
      });
}

void RunLibrary::setRunNotes(const QString& database, qint64 runId, const QString& notes) {
  inOrder<Edited>(
      [db = database.toStdString(), runId, notes = notes.toStdString()] {
        return editRun(db, runId, [&](RunStore& s) { s.set_notes(runId, notes); });
      },
      [this, runId](Edited out) { emit runEdited(runId, out.record, out.error); });
}

void RunLibrary::deleteRuns(const QString& database, const QVector<qint64>& runIds) {
  struct Deleted {
    QVector<qint64> ids;
    QStringList errors;
  };
  inOrder<Deleted>(
      [db = database.toStdString(), runIds] {
        Deleted out;
        try {
          RunStore store = openExisting(db);
          for (qint64 id : runIds) {
            try {
              store.delete_run(id);
              out.ids << id;
            } catch (const std::exception& e) {
              out.errors << errorText(e);
            }
          }
        } catch (const std::exception& e) {
          out.errors << errorText(e);
        }
        return out;
      },
      [this](Deleted out) { emit runsDeleted(out.ids, out.errors); });
}

void RunLibrary::exportMetricsCsv(const QString& database, qint64 runId, const QString& file) {
  inOrder<QString>(
      [db = database.toStdString(), runId, file]() -> QString {
        try {
          RunStore store = openExisting(db);
          const std::string csv = store.metrics_csv(runId);
          QFile out(file);
          if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
              out.write(csv.data(), qint64(csv.size())) != qint64(csv.size()) || !out.flush())
            return tr("%1: cannot be written (%2)").arg(file, out.errorString());
        } catch (const std::exception& e) {
          return errorText(e);
        }
        return {};
      },
      [this, runId, file](QString error) { emit metricsExported(runId, file, error); });
}

void RunLibrary::exportWeights(const WeightsExportRequest& request) {
  exports_.start([this, request] {
    const QString error = exportRunWeights(request);
    const qint64 runId = request.runId;
    const QString file = QString::fromStdString(request.file.string());
    QMetaObject::invokeMethod(
        this, [this, runId, file, error] { emit weightsExported(runId, file, error); },
        Qt::QueuedConnection);
  });
}

}  // namespace mantissa::ui
