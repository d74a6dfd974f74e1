#pragma once
// RunStore's state, shared by the files that implement it: store.cpp (opening,
// recovery, runs), store_metrics.cpp (batched writes, reads, CSV) and
// store_checkpoints.cpp.
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mantissa/store.hpp"
#include "store/file_guard.hpp"
#include "store/sqlite.hpp"

namespace mantissa {

struct RunStore::Impl {
  std::filesystem::path path;
  std::string file;  // path as written in messages
  StoreOptions options;
  // Declared before db so that it outlives the connection (file_guard.hpp).
  std::optional<store::DatabaseFileGuard> guard;
  std::optional<sql::Connection> db;  // optional: opened after the file checks
  bool opened = false;                // past the open-time checks
  std::string read_only_reason;       // why it was opened read-only; empty: read-write
  int schema_version = 0;
  std::string host;
  std::vector<std::int64_t> recovered;

  // Metrics waiting for the next batch commit, each with its run id.
  std::vector<std::pair<std::int64_t, StepMetrics>> steps;
  std::vector<std::pair<std::int64_t, EpochMetrics>> epochs;
  std::vector<std::pair<std::int64_t, RunEvent>> events;
  std::vector<std::pair<std::int64_t, NumericsSample>> numerics;
  std::vector<std::pair<std::int64_t, std::vector<NumericsSlot>>> numerics_slots;
  std::vector<std::pair<std::int64_t, Provenance>> provenances;
  std::vector<std::pair<std::int64_t, std::string>> manifests;
  std::vector<std::pair<std::int64_t, std::vector<std::string>>> weight_names;
  std::chrono::steady_clock::time_point last_commit;

  // Prepared once, reused for every call (persistent statements).
  std::unordered_map<std::string, sql::Statement> statements;

  // A cached statement, reset and with no parameters bound.
  sql::Statement& statement(const std::string& sql);

  // SQLite failure → StoreError (or StoreLockedError) naming the file.
  [[noreturn]] void fail(const sql::SqlError& e) const;
  [[noreturn]] void no_run(std::int64_t run_id) const;

  template <typename F>
  auto guarded(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const sql::SqlError& e) {
      fail(e);
    }
  }

  std::size_t buffered_rows() const {
    return steps.size() + epochs.size() + events.size() + numerics.size() +
           numerics_slots.size() + provenances.size() + manifests.size() +
           weight_names.size();
  }
  void maybe_commit();  // commits when the batch interval has passed or the buffer is full
  void commit_buffered();
  // The buffered numerics rows, provenance records and manifests, inside
  // commit_buffered's transaction.
  void insert_numerics();
  void insert_fingerprints();  // weight names and the steps' weight norms
  void drop_buffered(std::int64_t run_id);

  void open();
  void recover_interrupted_runs();

  // Crash testing (tests/crash/): MANTISSA_KILL_AT_COMMIT=N kills the process
  // with SIGKILL inside this store's N-th commit, MANTISSA_KILL_AT_CHECKPOINT=N
  // inside the commit of its N-th checkpoint. Unset: nothing happens.
  std::int64_t kill_at_commit = 0;
  std::int64_t kill_at_checkpoint = 0;
  std::int64_t checkpoints_added = 0;
  bool kill_in_this_commit = false;
  void arm_crash_points();
};

std::string now_iso8601();  // "2024-05-01T12:00:00.123Z"

// Runs one buffered row's insert. A row whose run was deleted while it was
// buffered (say from the studio, while the trainer still writes) fails its
// foreign key; it is dropped so that the rest of the batch still commits.
template <typename Bind>
inline void insert_row(sql::Statement& insert, Bind&& bind) {
  bind(insert);
  try {
    insert.run();
  } catch (const sql::SqlError& e) {
    if (!sql::is_constraint(e)) throw;
  }
}

}  // namespace mantissa
