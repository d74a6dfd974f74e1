#include "store/migrations.hpp"

#include <span>
#include <string>

namespace mantissa::store {
namespace {

struct Migration {
  int version;      // user_version after this migration
  const char* sql;  // one or more statements, no parameters
};

// Version 1: everything. Times are ISO-8601 UTC text. Metrics tables are
// WITHOUT ROWID keyed by (run_id, step): the key is the order they are read in,
// and a step written again (resume from a checkpoint) replaces the old row.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  name             TEXT NOT NULL,
  project_name     TEXT NOT NULL DEFAULT '',
  project_json     TEXT NOT NULL DEFAULT '',
  policy           TEXT NOT NULL DEFAULT '',
  loss_scale_json  TEXT NOT NULL DEFAULT '',
  backend          TEXT NOT NULL DEFAULT '',
  device           TEXT NOT NULL DEFAULT '',
  library_versions TEXT NOT NULL DEFAULT '',
  seed             INTEGER NOT NULL DEFAULT 0,
  status           TEXT NOT NULL
                   CHECK (status IN ('running', 'finished', 'stopped', 'failed', 'interrupted')),
  error            TEXT NOT NULL DEFAULT '',
  created_at       TEXT NOT NULL,
  started_at       TEXT,
  finished_at      TEXT,
  pid              INTEGER,
  host             TEXT NOT NULL DEFAULT '',
  notes            TEXT NOT NULL DEFAULT '',
  summary_json     TEXT NOT NULL DEFAULT '',
  parent_run_id    INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  group_name       TEXT
);
CREATE INDEX runs_by_project ON runs(project_name);
CREATE INDEX runs_by_status ON runs(status);
CREATE INDEX runs_by_group ON runs(group_name) WHERE group_name IS NOT NULL;
CREATE INDEX runs_by_parent ON runs(parent_run_id) WHERE parent_run_id IS NOT NULL;

CREATE TABLE step_metrics (
  run_id               INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step                 INTEGER NOT NULL,
  epoch                INTEGER NOT NULL,
  loss                 REAL,
  loss_scale           REAL,
  skipped              INTEGER NOT NULL CHECK (skipped IN (0, 1)),
  skipped_total        INTEGER NOT NULL,
  growth_tracker       INTEGER NOT NULL,
  grad_norm            REAL,
  lr                   REAL,
  step_time_s          REAL,
  samples_per_s        REAL,
  memory_in_use        INTEGER NOT NULL,
  memory_peak          INTEGER NOT NULL,
  driver_memory_in_use INTEGER NOT NULL,
  wall_time_s          REAL,
  PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

CREATE TABLE epoch_metrics (
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch        INTEGER NOT NULL,
  step         INTEGER NOT NULL,
  train_loss   REAL,
  val_loss     REAL,
  val_accuracy REAL,
  wall_time_s  REAL,
  PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;

CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step         INTEGER NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('overflow', 'warning', 'info', 'error')),
  message      TEXT NOT NULL,
  scale_before REAL,
  scale_after  REAL,
  tensor       TEXT NOT NULL DEFAULT '',
  wall_time_s  REAL
);
CREATE INDEX events_by_run ON events(run_id, id);

-- A checkpoint lives in `data`; `path` is reserved for checkpoints kept as
-- files next to the database when they outgrow SQLite's value limit.
CREATE TABLE checkpoints (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  epoch      INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  path       TEXT,
  data       BLOB,
  UNIQUE (run_id, step)
);

PRAGMA application_id = 1296979027;
)sql";

// Version 2: the time an epoch spent evaluating and writing checkpoints, kept
// apart from step time; and why a checkpoint was written: 'kept' (asked for
// with checkpoint_every, or the run's last) or 'safety' (by wall time or at an
// epoch end, so that a killed run can resume; dropped when the run finishes).
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE epoch_metrics ADD COLUMN eval_time_s REAL;
ALTER TABLE epoch_metrics ADD COLUMN checkpoint_time_s REAL;
ALTER TABLE checkpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'kept'
  CHECK (kind IN ('kept', 'safety'));
)sql";

// Version 3: per-tensor numerics (numerics.hpp). The slots a run records,
// once per run; the statistics of its sampled and event steps, one row per
// step with the words of every slot as little-endian uint32 blobs (stats:
// slots x 10 words; histograms: slots x 67 bins, null when not sampled).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE numerics_slots (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  slot   INTEGER NOT NULL,
  layer  TEXT NOT NULL,
  role   TEXT NOT NULL
    CHECK (role IN ('weight16', 'activation', 'activation_grad', 'weight_grad')),
  input  INTEGER NOT NULL,
  param  TEXT NOT NULL,
  dtype  TEXT NOT NULL,
  PRIMARY KEY (run_id, slot)
);

CREATE TABLE numerics (
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  scale      REAL NOT NULL,
  stats      BLOB NOT NULL,
  histograms BLOB,
  PRIMARY KEY (run_id, step)
);
)sql";

// Version 4: overflow provenance, one JSON record per traced step.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE provenance (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step   INTEGER NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (run_id, step)
);
)sql";

// Version 5: the numerics manifest of a run (JSON).
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE run_manifests (
  run_id   INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  manifest TEXT NOT NULL
);
)sql";

// Version 6: the loss scaler's record per step (whatif.hpp). Older runs read
// NULL (not measured) and 0.
constexpr const char* kSchemaV6 = R"sql(
ALTER TABLE step_metrics ADD COLUMN unscaled_grad_amax REAL;
ALTER TABLE step_metrics ADD COLUMN forward_nonfinite INTEGER NOT NULL DEFAULT 0
  CHECK (forward_nonfinite IN (0, 1));
)sql";

// Version 7: the weight fingerprint per step (docs/divergence.md): scalars in
// step_metrics, each master's L2 norm in a blob (little-endian fp32, in the
// order of run_weights.names, a JSON array). Older runs read 0 and no rows.
constexpr const char* kSchemaV7 = R"sql(
ALTER TABLE step_metrics ADD COLUMN update_norm REAL NOT NULL DEFAULT 0;
ALTER TABLE step_metrics ADD COLUMN weight_norm REAL NOT NULL DEFAULT 0;
ALTER TABLE step_metrics ADD COLUMN weights_checksum INTEGER NOT NULL DEFAULT 0;
CREATE TABLE run_weights (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  names  TEXT NOT NULL
);
CREATE TABLE step_weight_norms (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step   INTEGER NOT NULL,
  norms  BLOB NOT NULL,
  PRIMARY KEY (run_id, step)
);
)sql";

// Version 8: guided fixes tried as child runs, and the user's decision on
// each. No foreign key to the parent: the history outlives it.
constexpr const char* kSchemaV8 = R"sql(
CREATE TABLE fix_trials (
  run_id        INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  parent_run_id INTEGER NOT NULL,
  rule          TEXT NOT NULL,
  fix           TEXT NOT NULL,
  decision      TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'accepted', 'rejected')),
  outcome       TEXT NOT NULL DEFAULT '',
  decided_at    TEXT NOT NULL DEFAULT ''
);
)sql";

// Version 9: data-parallel runs (docs/data-parallel.md): how many ranks,
// over which engine and devices; per step the slowest rank's passes and the
// time the gradient sum took. Older runs read one rank and 0.
constexpr const char* kSchemaV9 = R"sql(
ALTER TABLE step_metrics ADD COLUMN slowest_rank_s REAL NOT NULL DEFAULT 0;
ALTER TABLE step_metrics ADD COLUMN reduce_time_s REAL NOT NULL DEFAULT 0;
CREATE TABLE run_ranks (
  run_id       INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  world_size   INTEGER NOT NULL CHECK (world_size >= 1),
  engine       TEXT NOT NULL,
  reduce_order TEXT NOT NULL,
  devices      TEXT NOT NULL
);
)sql";

// Version 10: a run the studio trained on "CPU × N" or on several GPUs kept
// the device picker's "cpu*N" or "cuda*A,B" in its project snapshot, which no
// reader (sample, evaluate, export, resume) accepts; the snapshot takes rank
// 0's device instead, as the command line has always recorded it.
constexpr const char* kSchemaV10 = R"sql(
UPDATE runs SET project_json = json_set(project_json, '$.training.backend', 'cpu')
  WHERE json_valid(project_json)
    AND json_extract(project_json, '$.training.backend') LIKE 'cpu*%';
UPDATE runs SET project_json = json_set(project_json, '$.training.backend',
    'cuda:' || substr(json_extract(project_json, '$.training.backend'), 6,
                      instr(substr(json_extract(project_json, '$.training.backend'), 6) || ',', ',')
                        - 1))
  WHERE json_valid(project_json)
    AND json_extract(project_json, '$.training.backend') LIKE 'cuda*%';
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kSchemaV7},
    {8, kSchemaV8},
    {9, kSchemaV9},
    {10, kSchemaV10},
};

}  // namespace

int latest_schema_version() {
  return std::span(kMigrations).back().version;
}

void migrate(sql::Connection& db) {
  for (const Migration& m : kMigrations) {
    if (db.query_int("PRAGMA user_version") >= m.version) continue;
    sql::Transaction tx(db);
    // Another process may have migrated between the check above and the lock.
    if (db.query_int("PRAGMA user_version") >= m.version) continue;
    db.exec(m.sql);
    // Pragmas take no bound parameters; the version is this build's constant.
    db.exec("PRAGMA user_version = " + std::to_string(m.version));
    tx.commit();
  }
}

}  // namespace mantissa::store
