#pragma once
// RunStore: every training run, its metrics, events and checkpoints, kept in
// one SQLite database (DESIGN.md "Storage").
//
// Threading: a RunStore is owned by the thread that opened it and must not be
// shared. Another thread (the studio's GUI thread reading while the trainer
// writes, or a second trainer in `compare`) opens its own RunStore on the same
// file; the database runs in WAL mode, so readers never wait for the writer and
// writers wait up to StoreOptions::busy_timeout for each other.
//
// Durability: metrics are buffered and committed in one transaction by the
// first append that finds StoreOptions::batch_interval passed since the last
// commit (and by flush(), set_status(), add_checkpoint(), reads and
// destruction); a trainer that pauses for long calls flush(). A process that
// dies loses at most the batch it had not committed yet; committed data
// survives a crash of the process (synchronous=NORMAL; a power cut may also
// lose the last commits).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mantissa/error.hpp"
#include "mantissa/metrics.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/provenance.hpp"

namespace mantissa {

// The database could not be opened, read or written. what() is one line that
// starts with the database file.
class StoreError : public Error {
 public:
  using Error::Error;
};

// Another process held the database longer than the busy timeout. The studio
// may offer to retry.
class StoreLockedError : public StoreError {
 public:
  using StoreError::StoreError;
};

// No room to write: the disk, the quota or the process's file-size limit.
// What was committed before is intact.
class StoreFullError : public StoreError {
 public:
  using StoreError::StoreError;
};

enum class RunStatus { Running, Finished, Stopped, Failed, Interrupted };
std::string_view run_status_name(RunStatus s);   // "running", "finished", ...
RunStatus parse_run_status(std::string_view s);  // throws InputError listing the valid names

// $MANTISSA_DB if set, else $XDG_DATA_HOME/mantissa/runs.db, else
// ~/.local/share/mantissa/runs.db.
std::filesystem::path default_database_path();

// Whether a store may be opened for reading only.
enum class StoreAccess {
  ReadWrite,     // fails when the file or its directory cannot be written
  ReadOnlyIfNotWritable,  // read-only when the file or its directory cannot be written
};

struct StoreOptions {
  StoreAccess access = StoreAccess::ReadWrite;
  // How long to wait for another writer: long enough for another process's
  // checkpoint of a large model to commit on a slow disk.
  std::chrono::milliseconds busy_timeout{15000};
  std::chrono::milliseconds batch_interval{250};  // metrics commit at most this often
  std::size_t max_buffered_rows = 8192;           // commit early past this many rows
  int checkpoints_kept = 3;                       // newest checkpoints kept per run

  // For faces that only read (list, show, export, History, Compare): a
  // database this process cannot write opens read-only.
  static StoreOptions reading() { return {.access = StoreAccess::ReadOnlyIfNotWritable}; }
};

// What the caller knows when a run starts. The store adds id, status
// (running), timestamps, pid and host.
struct NewRun {
  std::string name;
  std::string project_name;
  std::string project_json;     // snapshot of the project file as trained
  std::string policy;           // policy_name(), e.g. "mixed_float16"
  std::string loss_scale_json;  // scaler settings
  std::string backend;          // "cpu", "cuda:0"
  std::string device;           // human-readable device name
  std::string library_versions;
  std::uint64_t seed = 0;
  std::string notes;
  std::optional<std::int64_t> parent_run_id;  // the run this one resumes or is compared with
  std::optional<std::string> group_name;      // runs launched together by `compare`
  // A fix tried for parent_run_id (advice.hpp): the finding's rule and the
  // fix's title; stored as a FixTrial with the run.
  std::optional<std::string> fix_rule, fix_title;
};

// A guided fix tried as a child run, and what the user decided about it.
// Kept when the parent is deleted: advice cites what worked here before.
struct FixTrial {
  std::int64_t run_id = 0;  // the child
  std::int64_t parent_run_id = 0;
  std::string rule, fix;
  std::string decision;  // "", "accepted" or "rejected"
  std::string outcome;   // the comparison the decision was made on
  std::string decided_at;
};

// A run's summary as stored (RunRecorder writes it when the run ends), read
// back typed, once, by the store: a field is empty while the run has no
// summary, or where the value was not finite (stored as null).
struct StoredSummary {
  std::optional<std::int64_t> steps, skipped_steps, peak_memory, peak_activation_memory;
  std::optional<double> final_loss_scale, final_train_loss, final_val_loss, final_val_accuracy,
      wall_time_s, samples_per_s, eval_time_s, checkpoint_time_s;
};
// The JSON text of runs.summary_json as a StoredSummary; text that is not a
// JSON object (a damaged row) gives an empty one.
StoredSummary parse_stored_summary(std::string_view json);
// Every field, null where empty, in the order the recorder writes them.
std::string stored_summary_json(const StoredSummary& summary);

struct RunRecord {
  std::int64_t id = 0;
  std::string name;
  std::string project_name;
  std::string project_json;
  std::string policy;
  std::string loss_scale_json;
  std::string backend;
  std::string device;
  std::string library_versions;
  std::uint64_t seed = 0;
  RunStatus status = RunStatus::Running;
  std::string error;       // why it failed or was interrupted; empty otherwise
  std::string created_at;  // ISO-8601 UTC, "2024-05-01T12:00:00.000Z"
  std::string started_at;
  std::string finished_at;  // empty while running and for interrupted runs
  std::int64_t pid = 0;     // process that trained it
  std::string host;
  std::string notes;
  std::string summary_json;  // as stored; `summary` is what it says
  StoredSummary summary;
  std::optional<std::int64_t> parent_run_id;
  std::optional<std::string> group_name;
  // Derived from the stored metrics.
  std::int64_t steps_recorded = 0;
  std::int64_t last_step = 0;
  std::int64_t skipped_total = 0;
  std::optional<double> final_loss;         // loss of the last recorded step
  std::optional<double> best_val_accuracy;  // over the recorded epochs
  std::int64_t checkpoint_bytes = 0;        // disk its checkpoints take
  std::int64_t metrics_bytes = 0;           // estimate for its metric and event rows
  std::int64_t disk_bytes() const { return checkpoint_bytes + metrics_bytes; }
};

// Unset fields match everything.
struct RunFilter {
  std::optional<std::string> project_name;
  std::optional<std::string> policy;
  std::optional<RunStatus> status;
  std::optional<std::string> group_name;
};

struct CheckpointInfo {
  std::int64_t run_id = 0;
  std::int64_t step = 0;
  std::int64_t epoch = 0;
  std::string created_at;
  std::int64_t bytes = 0;
  CheckpointKind kind = CheckpointKind::Kept;
};

struct Checkpoint : CheckpointInfo {
  std::vector<std::uint8_t> data;
};

class RunStore {
 public:
  // Opens or creates the database (and its parent directories), switches it to
  // WAL, migrates the schema, and marks runs whose process has died as
  // interrupted. Throws StoreError with one line naming the file when it is not
  // a Mantissa database, is newer than this build, cannot be written, or is
  // locked.
  explicit RunStore(std::filesystem::path file, StoreOptions options = {});
  ~RunStore();  // commits buffered metrics; errors there are swallowed, call flush() to see them
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;
  RunStore(RunStore&&) noexcept;
  RunStore& operator=(RunStore&&) noexcept;

  const std::filesystem::path& path() const;
  // Opened read-only (StoreAccess::ReadOnlyIfNotWritable on a file this process cannot
  // write): every read works, every write throws StoreError saying why.
  bool read_only() const;
  int schema_version() const;
  static int latest_schema_version();
  // Runs this open found 'running' with their process gone, now 'interrupted'.
  const std::vector<std::int64_t>& recovered_runs() const;

  // ---- runs
  std::int64_t create_run(const NewRun& run);  // status running, this pid and host
  // Terminal states also set finished_at. Buffered metrics are committed first.
  // Finished drops the run's safety checkpoints (export needs only the kept ones).
  void set_status(std::int64_t run_id, RunStatus status, std::string_view error = {});
  void set_summary(std::int64_t run_id, std::string_view summary_json);
  void rename_run(std::int64_t run_id, std::string_view name);
  void set_notes(std::int64_t run_id, std::string_view notes);
  void delete_run(std::int64_t run_id);  // with its metrics, events and checkpoints
  // Takes a run up again from its checkpoint at `from_step`: status running
  // under this process (error and finished_at cleared), and the metrics, events
  // and checkpoints recorded after that step deleted, so that the resumed steps
  // replace them rather than mix with them.
  void resume_run(std::int64_t run_id, std::int64_t from_step);
  std::vector<RunRecord> list_runs(const RunFilter& filter = {});  // newest first
  std::optional<RunRecord> get_run(std::int64_t run_id);
  RunRecord require_run(std::int64_t run_id);  // InputError "no run 42 in <file>"

  // ---- metrics (buffered; see "Durability" above)
  void append_step(std::int64_t run_id, const StepMetrics& m);
  void append_epoch(std::int64_t run_id, const EpochMetrics& m);
  void append_event(std::int64_t run_id, const RunEvent& e);
  // ---- per-tensor numerics (numerics.hpp)
  // The slots the run records (replaces any stored; buffered with the metrics).
  void set_numerics_slots(std::int64_t run_id, const std::vector<NumericsSlot>& slots);
  // One step's statistics (buffered with the metrics).
  void append_numerics(std::int64_t run_id, const NumericsSample& sample);
  std::vector<NumericsSlot> numerics_slots(std::int64_t run_id);
  struct NumericsStep {
    std::int64_t step = 0;
    std::string reason;
    double scale = 1;
    bool histograms = false;
  };
  std::vector<NumericsStep> numerics_steps(std::int64_t run_id);  // by step
  // The stored sample of `step`; none when that step was not stored.
  std::optional<NumericsSample> numerics_sample(std::int64_t run_id, std::int64_t step);
  // Overflow provenance of a step (buffered with the metrics).
  void add_provenance(std::int64_t run_id, const Provenance& p);
  std::vector<Provenance> provenance(std::int64_t run_id);  // by step
  // The run's numerics manifest (manifest.hpp; replaces an earlier one, as a
  // resumed run writes its own).
  void set_manifest(std::int64_t run_id, const std::string& json);
  std::optional<std::string> manifest(std::int64_t run_id);
  void flush();  // commits everything buffered in one transaction
  std::size_t buffered_rows() const;
  // Transactions this store has committed (all writes, not only metrics).
  std::int64_t commit_count() const;

  std::vector<StepMetrics> step_metrics(std::int64_t run_id);  // by step
  // Fixes tried (NewRun::fix_rule): of one parent, or all (0), newest first.
  std::vector<FixTrial> fix_trials(std::int64_t parent_run_id = 0);
  // Accepts or rejects a trial, with the outcome it was judged on; throws
  // InputError when run_id is no fix trial.
  void decide_fix(std::int64_t run_id, const std::string& decision, const std::string& outcome);
  // The weight fingerprint's per-master norms (StepMetrics::weight_norms,
  // written with the steps): the masters' names, once per run, and each
  // step's norms in that order (steps without them are absent).
  void set_weight_names(std::int64_t run_id, const std::vector<std::string>& names);
  // A data-parallel run's ranks (store_ranks.cpp); none for a one-rank run.
  void set_ranks(std::int64_t run_id, const RankLayout& ranks);
  std::optional<RankLayout> ranks(std::int64_t run_id);
  std::vector<std::string> weight_names(std::int64_t run_id);
  std::map<std::int64_t, std::vector<double>> weight_norms(std::int64_t run_id);
  std::vector<EpochMetrics> epoch_metrics(std::int64_t run_id);
  std::vector<RunEvent> events(std::int64_t run_id);  // in the order recorded
  // Step metrics as CSV: a header line, then one line per step.
  std::string metrics_csv(std::int64_t run_id);

  // ---- checkpoints (kept as BLOBs; the newest StoreOptions::checkpoints_kept
  // of each kind per run). Written in one transaction: a crash leaves the old
  // set or the new one.
  void add_checkpoint(std::int64_t run_id, std::int64_t step, std::int64_t epoch,
                      std::span<const std::uint8_t> data,
                      CheckpointKind kind = CheckpointKind::Kept);
  std::optional<Checkpoint> latest_checkpoint(std::int64_t run_id);
  std::optional<Checkpoint> checkpoint(std::int64_t run_id, std::int64_t step);
  // The newest readable checkpoint taken before `step` (a branch, a fix or
  // a probe resumes there); none: start over.
  std::optional<Checkpoint> checkpoint_before(std::int64_t run_id, std::int64_t step);
  std::vector<CheckpointInfo> checkpoints(std::int64_t run_id);  // newest first, without data

  struct Impl;  // defined in src/store/; public so functions there can take one

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mantissa
