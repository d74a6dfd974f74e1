// Opening the run database, recovering runs whose process died, and the runs
// table. Metrics live in store_metrics.cpp, checkpoints in store_checkpoints.cpp.
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "mantissa/error.hpp"
#include "mantissa/names.hpp"
#include "store/migrations.hpp"
#include "store/store_impl.hpp"

namespace mantissa {
namespace {

constexpr std::array<std::string_view, 5> kStatusNames = {"running", "finished", "stopped",
                                                          "failed", "interrupted"};

std::string this_host() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return {};
  return name.data();
}

// A pid we cannot signal for lack of permission (EPERM) still exists.
bool process_alive(std::int64_t pid) {
  if (pid <= 0 || pid > INT_MAX) return false;  // kill(0 or -1, ...) would signal groups
  if (kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

// Fails early, with a message about the file system rather than SQLite's
// "unable to open database file", when the database cannot be written.
// Returns the reason it cannot be written when the caller accepts reading
// only and the database exists; an empty string when it can be written.
std::string check_location(const std::filesystem::path& path, const std::string& file,
                           StoreAccess wanted) {
  namespace fs = std::filesystem;
  if (path.empty()) throw InputError("the run database path is empty");
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  const bool may_read_only = exists && wanted == StoreAccess::ReadOnlyIfNotWritable;
  if (fs::is_directory(path, ec)) throw StoreError(file + ": is a directory, not a database");
  if (!exists) {
    fs::create_directories(dir, ec);
    if (ec) {
      throw StoreError(file + ": cannot write: cannot create directory " + dir.string() + " (" +
                       ec.message() + ")");
    }
  }
  if (exists && access(path.c_str(), W_OK) != 0) {
    const std::string why = std::string("the file is read-only (") + std::strerror(errno) + ")";
    if (may_read_only) return why;
    throw StoreError(file + ": cannot write: " + why);
  }
  // WAL keeps two files (-wal, -shm) next to the database.
  if (access(dir.c_str(), W_OK) != 0) {
    const std::string why =
        "directory " + dir.string() + " is read-only (" + std::strerror(errno) + ")";
    if (may_read_only) return why;
    throw StoreError(file + ": cannot write: " + why);
  }
  return {};
}

const char* kSelectRuns = R"sql(
SELECT r.id, r.name, r.project_name, r.project_json, r.policy, r.loss_scale_json, r.backend,
       r.device, r.library_versions, r.seed, r.status, r.error, r.created_at, r.started_at,
       r.finished_at, r.pid, r.host, r.notes, r.summary_json, r.parent_run_id, r.group_name,
       (SELECT count(*) FROM step_metrics c WHERE c.run_id = r.id),
       last.step, last.skipped_total, last.loss,
       (SELECT max(val_accuracy) FROM epoch_metrics e WHERE e.run_id = r.id),
       (SELECT coalesce(sum(bytes), 0) FROM checkpoints k WHERE k.run_id = r.id),
       (SELECT count(*) FROM events v WHERE v.run_id = r.id),
       (SELECT count(*) FROM epoch_metrics e WHERE e.run_id = r.id)
FROM runs r
LEFT JOIN step_metrics last ON last.run_id = r.id
  AND last.step = (SELECT max(step) FROM step_metrics m WHERE m.run_id = r.id)
WHERE (?1 IS NULL OR r.project_name = ?1) AND (?2 IS NULL OR r.policy = ?2)
  AND (?3 IS NULL OR r.status = ?3) AND (?4 IS NULL OR r.group_name = ?4)
  AND (?5 IS NULL OR r.id = ?5)
ORDER BY r.id DESC
)sql";

constexpr std::int64_t kStepRowBytes = 120;
constexpr std::int64_t kEventRowBytes = 160;
constexpr std::int64_t kEpochRowBytes = 80;

RunRecord read_run(const sql::Statement& q, const std::string& file) {
  RunRecord r;
  r.id = q.column_int(0);
  r.name = q.column_text(1);
  r.project_name = q.column_text(2);
  r.project_json = q.column_text(3);
  r.policy = q.column_text(4);
  r.loss_scale_json = q.column_text(5);
  r.backend = q.column_text(6);
  r.device = q.column_text(7);
  r.library_versions = q.column_text(8);
  r.seed = static_cast<std::uint64_t>(q.column_int(9));
  try {
    r.status = parse_run_status(q.column_text(10));
  } catch (const InputError&) {
    throw StoreError(file + ": run " + std::to_string(r.id) + " has an unknown status '" +
                     q.column_text(10) + "' (the database is damaged)");
  }
  r.error = q.column_text(11);
  r.created_at = q.column_text(12);
  r.started_at = q.column_text(13);
  r.finished_at = q.column_text(14);
  r.pid = q.column_int(15);
  r.host = q.column_text(16);
  r.notes = q.column_text(17);
  r.summary_json = q.column_text(18);
  r.summary = parse_stored_summary(r.summary_json);
  r.parent_run_id = q.column_optional_int(19);
  r.group_name = q.column_optional_text(20);
  r.steps_recorded = q.column_int(21);
  if (!q.column_is_null(22)) {
    r.last_step = q.column_int(22);
    r.skipped_total = q.column_int(23);
    r.final_loss = q.column_double(24);  // NaN when the last loss was not finite
  }
  if (!q.column_is_null(25)) r.best_val_accuracy = q.column_double(25);
  r.checkpoint_bytes = q.column_int(26);
  // Rows as SQLite stores them: a step row holds 16 numbers, an event a line
  // of text, an epoch 9 numbers; close enough to tell a big run from a small one.
  r.metrics_bytes = r.steps_recorded * kStepRowBytes + q.column_int(27) * kEventRowBytes +
                    q.column_int(28) * kEpochRowBytes;
  return r;
}

}  // namespace

std::string_view run_status_name(RunStatus s) {
  return kStatusNames.at(static_cast<size_t>(s));
}

RunStatus parse_run_status(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == s) return static_cast<RunStatus>(i);
  }
  throw InputError("unknown run status '" + std::string(s) +
                   "' (expected running, finished, stopped, failed or interrupted)");
}

std::filesystem::path default_database_path() {
  const auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? value : "";
  };
  if (std::string db = env("MANTISSA_DB"); !db.empty()) return db;
  // The XDG spec says to ignore a relative XDG_DATA_HOME.
  if (std::string data = env("XDG_DATA_HOME"); !data.empty() && data.front() == '/') {
    return std::filesystem::path(data) / "mantissa" / "runs.db";
  }
  std::string home = env("HOME");
  if (home.empty()) {
    if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) home = pw->pw_dir;
  }
  if (home.empty()) {
    throw InputError("cannot place the run database: set MANTISSA_DB or HOME");
  }
  return std::filesystem::path(home) / ".local" / "share" / "mantissa" / "runs.db";
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  const size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text.data() + n, text.size() - n, ".%03dZ", static_cast<int>(millis));
  return text.data();
}

// ------------------------------------------------------------------ Impl

sql::Statement& RunStore::Impl::statement(const std::string& sql) {
  auto it = statements.find(sql);
  if (it == statements.end()) it = statements.emplace(sql, db->prepare(sql, true)).first;
  it->second.reset();
  return it->second;
}

void RunStore::Impl::fail(const sql::SqlError& e) const {
  if (sql::is_busy(e)) throw StoreLockedError(file + ": database is locked by another process");
  if (sql::is_disk_full(e)) {
    const std::string why = e.system_errno() == EFBIG ? "the file-size limit is reached"
                            : e.system_errno() == EDQUOT ? "the disk quota is used up"
                                                         : "the disk is full";
    throw StoreFullError(file + ": cannot write: " + why +
                         "; what was stored before is intact (" + e.what() + ")");
  }
  if (sql::is_not_a_database(e)) {
    if (opened) throw StoreError(file + ": database is damaged (" + e.what() + ")");
    throw StoreError(file + ": not a Mantissa run database (" + e.what() + ")");
  }
  if (sql::is_read_only(e)) {
    if (!read_only_reason.empty()) throw StoreError(file + ": cannot write: " + read_only_reason);
    throw StoreError(file + ": cannot write: " + e.what());
  }
  throw StoreError(file + ": " + e.what());
}

void RunStore::Impl::no_run(std::int64_t run_id) const {
  throw InputError("no run " + std::to_string(run_id) + " in " + file);
}

void RunStore::Impl::open() {
  if (read_only_reason.empty()) {
    db.emplace(file);
  } else {
    // Without write access to the folder SQLite cannot create the -shm file a
    // WAL database needs; nobody can change such a database, so read it as
    // immutable.
    const bool shm_possible = std::filesystem::exists(file + "-shm") ||
                              access(path.has_parent_path() ? path.parent_path().c_str() : ".",
                                     W_OK) == 0;
    db.emplace(file, shm_possible ? sql::Connection::Mode::ReadOnly
                                  : sql::Connection::Mode::Immutable);
  }
  guard.emplace(path);
  arm_crash_points();  // before anything commits: migrations count too
  db->set_busy_timeout(options.busy_timeout);

  // Read the header before anything could write to the file: a file that is
  // not a database fails here and is left exactly as it was.
  const std::int64_t app_id = db->query_int("PRAGMA application_id");
  const std::int64_t version = db->query_int("PRAGMA user_version");
  const int latest = store::latest_schema_version();
  if (app_id != 0 && app_id != store::kApplicationId) {
    throw StoreError(file + ": not a Mantissa run database (another application's SQLite file)");
  }
  if (version > latest) {
    throw StoreError(file + ": database schema version " + std::to_string(version) +
                     " is newer than this build supports (" + std::to_string(latest) + ")");
  }
  if (version == 0 && db->query_int("SELECT count(*) FROM sqlite_schema") > 0) {
    throw StoreError(file +
                     ": not a Mantissa run database (it holds another application's tables)");
  }
  if (!read_only_reason.empty()) {
    if (version < latest) {
      throw StoreError(file + ": database schema version " + std::to_string(version) +
                       " must be upgraded to " + std::to_string(latest) +
                       ", which needs write access (" + read_only_reason + ")");
    }
    schema_version = static_cast<int>(version);
    opened = true;
    return;  // runs of dead processes stay as they are: marking them is a write
  }
  if (db->read_only()) throw StoreError(file + ": cannot write: the file is read-only");

  db->exec("PRAGMA journal_mode = WAL");
  // In WAL mode NORMAL loses no committed transaction when the process dies;
  // only a power cut can roll back the last few.
  db->exec("PRAGMA synchronous = NORMAL");
  db->exec("PRAGMA foreign_keys = ON");
  store::migrate(*db);
  schema_version = static_cast<int>(db->query_int("PRAGMA user_version"));
  opened = true;
  recover_interrupted_runs();
  last_commit = std::chrono::steady_clock::now();
}

void RunStore::Impl::arm_crash_points() {
  const auto number = [](const char* name) -> std::int64_t {
    const char* v = std::getenv(name);
    return v ? std::strtoll(v, nullptr, 10) : 0;
  };
  kill_at_commit = number("MANTISSA_KILL_AT_COMMIT");
  kill_at_checkpoint = number("MANTISSA_KILL_AT_CHECKPOINT");
  if (kill_at_commit <= 0 && kill_at_checkpoint <= 0) return;
  db->on_commit([this] {
    if (kill_in_this_commit || (kill_at_commit > 0 && db->commit_count() == kill_at_commit)) {
      raise(SIGKILL);
    }
  });
}

void RunStore::Impl::recover_interrupted_runs() {
  // Only runs started on this machine can be checked; a pid names nothing on
  // another host sharing the file.
  const std::int64_t self = getpid();
  sql::Statement& q = statement("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?1");
  q.bind(1, host);
  std::vector<std::pair<std::int64_t, std::int64_t>> dead;  // (run id, pid)
  while (q.step()) {
    const std::int64_t pid = q.column_int(1);
    if (pid != self && !process_alive(pid)) dead.emplace_back(q.column_int(0), pid);
  }
  if (dead.empty()) return;

  sql::Transaction tx(*db);
  sql::Statement& mark = statement(
      "UPDATE runs SET status = 'interrupted', error = ?2 WHERE id = ?1 AND status = 'running'");
  for (const auto& [run_id, pid] : dead) {
    mark.bind(1, run_id).bind(
        2, "process " + std::to_string(pid) + " ended without finishing the run");
    mark.run();
    if (db->changes() > 0) recovered.push_back(run_id);
  }
  tx.commit();
}

// --------------------------------------------------------------- RunStore

RunStore::RunStore(std::filesystem::path file, StoreOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.path = std::move(file);
  s.file = s.path.string();
  s.options = options;
  s.host = this_host();
  s.read_only_reason = check_location(s.path, s.file, options.access);
  s.guarded([&] { s.open(); });
}

RunStore::~RunStore() {
  if (!impl_ || !impl_->db) return;
  try {
    impl_->commit_buffered();
  } catch (...) {
    // A destructor cannot report; flush() is the call that does.
  }
}

RunStore::RunStore(RunStore&&) noexcept = default;

RunStore& RunStore::operator=(RunStore&& other) noexcept {
  if (this != &other) {
    RunStore previous(std::move(*this));  // its destructor commits what it buffered
    impl_ = std::move(other.impl_);
  }
  return *this;
}

const std::filesystem::path& RunStore::path() const {
  return impl_->path;
}
bool RunStore::read_only() const {
  return !impl_->read_only_reason.empty();
}
int RunStore::schema_version() const {
  return impl_->schema_version;
}
int RunStore::latest_schema_version() {
  return store::latest_schema_version();
}
const std::vector<std::int64_t>& RunStore::recovered_runs() const {
  return impl_->recovered;
}
std::int64_t RunStore::commit_count() const {
  return impl_->db->commit_count();
}

std::int64_t RunStore::create_run(const NewRun& run) {
  Impl& s = *impl_;
  // A name built from a given one (a project's plus its policy, a fix's
  // title) may run long: cut, not refused. What it holds is checked.
  const std::string name = fit_name(run.name);
  if (const std::string why = name_problem(name); !why.empty())
    throw InputError("the run's name " + why);
  if (run.parent_run_id && !get_run(*run.parent_run_id)) s.no_run(*run.parent_run_id);
  return s.guarded([&] {
    const std::string now = now_iso8601();
    sql::Transaction tx(*s.db);
    sql::Statement& insert = s.statement(R"sql(
      INSERT INTO runs (name, project_name, project_json, policy, loss_scale_json, backend, device,
                        library_versions, seed, status, created_at, started_at, pid, host, notes,
                        parent_run_id, group_name)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, ?10, ?11, ?12, ?13, ?14, ?15)
    )sql");
    insert.bind(1, name).bind(2, run.project_name).bind(3, run.project_json);
    insert.bind(4, run.policy).bind(5, run.loss_scale_json).bind(6, run.backend);
    insert.bind(7, run.device).bind(8, run.library_versions);
    insert.bind(9, static_cast<std::int64_t>(run.seed)).bind(10, now);
    insert.bind(11, static_cast<std::int64_t>(getpid())).bind(12, s.host).bind(13, run.notes);
    insert.bind(14, run.parent_run_id).bind(15, run.group_name);
    insert.run();
    const std::int64_t id = s.db->last_insert_rowid();
    if (run.name.empty()) {
      s.statement("UPDATE runs SET name = 'run ' || id WHERE id = ?1").bind(1, id).run();
    }
    if (run.fix_rule && run.fix_title && run.parent_run_id) {
      s.statement("INSERT INTO fix_trials (run_id, parent_run_id, rule, fix) VALUES (?1, ?2, ?3, ?4)")
          .bind(1, id)
          .bind(2, *run.parent_run_id)
          .bind(3, *run.fix_rule)
          .bind(4, *run.fix_title)
          .run();
    }
    tx.commit();
    return id;
  });
}

void RunStore::set_status(std::int64_t run_id, RunStatus status, std::string_view error) {
  Impl& s = *impl_;
  // The metrics of a finished run are complete before it says so. Where the
  // disk has no room for them, the status matters more: they are dropped.
  try {
    flush();
  } catch (const StoreFullError&) {
    s.steps.clear();
    s.epochs.clear();
    s.events.clear();
  }
  const auto write = [&] { return s.guarded([&] {
    sql::Transaction tx(*s.db);
    sql::Statement& update = s.statement(R"sql(
      UPDATE runs SET status = ?2, error = ?3,
                      finished_at = CASE WHEN ?2 = 'running' THEN NULL ELSE ?4 END
      WHERE id = ?1
    )sql");
    update.bind(1, run_id).bind(2, run_status_name(status)).bind(3, error).bind(4, now_iso8601());
    update.run();
    if (s.db->changes() == 0) return false;
    // A finished run is never resumed: its safety checkpoints go, unless one
    // is all there is to export.
    if (status == RunStatus::Finished) {
      s.statement(R"sql(
        DELETE FROM checkpoints WHERE run_id = ?1 AND kind = 'safety'
          AND EXISTS (SELECT 1 FROM checkpoints WHERE run_id = ?1 AND kind = 'kept')
      )sql").bind(1, run_id).run();
    }
    tx.commit();
    return true;
  }); };
  bool updated = false;
  try {
    updated = write();
  } catch (const StoreFullError&) {
    // A checkpoint of the WAL lets the next transaction reuse its start
    // instead of growing it: a status line fits where nothing larger does.
    try {
      s.db->exec("PRAGMA wal_checkpoint(RESTART)");
    } catch (const sql::SqlError&) {
    }
    updated = write();
  }
  if (!updated) s.no_run(run_id);
}

namespace {

void update_text(RunStore::Impl& s, const std::string& sql, std::int64_t run_id,
                 std::string_view value) {
  s.guarded([&] { s.statement(sql).bind(1, run_id).bind(2, value).run(); });
  if (s.db->changes() == 0) s.no_run(run_id);
}

}  // namespace

void RunStore::set_summary(std::int64_t run_id, std::string_view summary_json) {
  update_text(*impl_, "UPDATE runs SET summary_json = ?2 WHERE id = ?1", run_id, summary_json);
}

void RunStore::rename_run(std::int64_t run_id, std::string_view name) {
  if (const std::string why = name_problem(name); !why.empty())
    throw InputError("run " + std::to_string(run_id) + ": the name " + why);
  update_text(*impl_, "UPDATE runs SET name = ?2 WHERE id = ?1", run_id, name);
}

void RunStore::set_notes(std::int64_t run_id, std::string_view notes) {
  update_text(*impl_, "UPDATE runs SET notes = ?2 WHERE id = ?1", run_id, notes);
}

void RunStore::delete_run(std::int64_t run_id) {
  Impl& s = *impl_;
  s.drop_buffered(run_id);
  // Metrics, events and checkpoints go with it (ON DELETE CASCADE).
  s.guarded([&] { s.statement("DELETE FROM runs WHERE id = ?1").bind(1, run_id).run(); });
  if (s.db->changes() == 0) s.no_run(run_id);
}

std::vector<RunRecord> RunStore::list_runs(const RunFilter& filter) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement(kSelectRuns);
    q.bind(1, filter.project_name).bind(2, filter.policy).bind(4, filter.group_name);
    if (filter.status) q.bind(3, run_status_name(*filter.status));
    std::vector<RunRecord> runs;
    while (q.step()) runs.push_back(read_run(q, s.file));
    return runs;
  });
}

std::optional<RunRecord> RunStore::get_run(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&]() -> std::optional<RunRecord> {
    sql::Statement& q = s.statement(kSelectRuns);
    q.bind(5, run_id);
    if (!q.step()) return std::nullopt;
    RunRecord r = read_run(q, s.file);
    q.reset();
    return r;
  });
}

RunRecord RunStore::require_run(std::int64_t run_id) {
  std::optional<RunRecord> r = get_run(run_id);
  if (!r) impl_->no_run(run_id);
  return std::move(*r);
}

}  // namespace mantissa
