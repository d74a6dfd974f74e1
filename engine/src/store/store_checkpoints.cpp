// Checkpoints as BLOBs in the run database: written in the same transaction
// that prunes old ones, so a crash leaves either the old set or the new one.
#include "store/store_impl.hpp"

namespace mantissa {
namespace {

const char* kSelectCheckpoint = R"sql(
  SELECT run_id, step, epoch, created_at, bytes, kind, data FROM checkpoints
  WHERE run_id = ?1 AND (?2 IS NULL OR step = ?2)
  ORDER BY step DESC LIMIT 1
)sql";

CheckpointInfo read_info(const sql::Statement& q) {
  CheckpointInfo c;
  c.run_id = q.column_int(0);
  c.step = q.column_int(1);
  c.epoch = q.column_int(2);
  c.created_at = q.column_text(3);
  c.bytes = q.column_int(4);
  c.kind = q.column_text(5) == "safety" ? CheckpointKind::Safety : CheckpointKind::Kept;
  return c;
}

std::optional<Checkpoint> find_checkpoint(RunStore::Impl& s, std::int64_t run_id,
                                          std::optional<std::int64_t> step) {
  return s.guarded([&]() -> std::optional<Checkpoint> {
    sql::Statement& q = s.statement(kSelectCheckpoint);
    q.bind(1, run_id).bind(2, step);
    if (!q.step()) return std::nullopt;
    Checkpoint c{read_info(q), q.column_blob(6)};
    q.reset();
    return c;
  });
}

}  // namespace

void RunStore::add_checkpoint(std::int64_t run_id, std::int64_t step, std::int64_t epoch,
                              std::span<const std::uint8_t> data, CheckpointKind kind) {
  Impl& s = *impl_;
  if (static_cast<std::int64_t>(data.size()) > s.db->max_value_bytes()) {
    throw StoreError(s.file + ": checkpoint of " + std::to_string(data.size()) +
                     " bytes is larger than SQLite stores in one value (" +
                     std::to_string(s.db->max_value_bytes()) + " bytes)");
  }
  // The metrics up to this step are on disk before the checkpoint that resumes from it.
  flush();
  s.guarded([&] {
    sql::Transaction tx(*s.db);
    sql::Statement& insert = s.statement(R"sql(
      INSERT OR REPLACE INTO checkpoints (run_id, step, epoch, created_at, bytes, data, kind)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    )sql");
    insert.bind(1, run_id).bind(2, step).bind(3, epoch).bind(4, now_iso8601());
    insert.bind(5, static_cast<std::int64_t>(data.size())).bind(6, data);
    insert.bind(7, kind == CheckpointKind::Safety ? "safety" : "kept");
    try {
      insert.run();
    } catch (const sql::SqlError& e) {
      if (sql::is_constraint(e)) s.no_run(run_id);
      throw;
    }
    // Each kind keeps its own newest few: frequent safety checkpoints do not
    // push out the ones the user asked for.
    sql::Statement& prune = s.statement(R"sql(
      DELETE FROM checkpoints WHERE run_id = ?1 AND kind = ?3 AND step NOT IN
        (SELECT step FROM checkpoints WHERE run_id = ?1 AND kind = ?3
         ORDER BY step DESC LIMIT ?2)
    )sql");
    prune.bind(1, run_id).bind(2, s.options.checkpoints_kept);
    prune.bind(3, kind == CheckpointKind::Safety ? "safety" : "kept").run();
    s.kill_in_this_commit = ++s.checkpoints_added == s.kill_at_checkpoint;
    tx.commit();
  });
}

std::optional<Checkpoint> RunStore::latest_checkpoint(std::int64_t run_id) {
  return find_checkpoint(*impl_, run_id, std::nullopt);
}

std::optional<Checkpoint> RunStore::checkpoint(std::int64_t run_id, std::int64_t step) {
  return find_checkpoint(*impl_, run_id, step);
}

std::optional<Checkpoint> RunStore::checkpoint_before(std::int64_t run_id, std::int64_t step) {
  for (const CheckpointInfo& c : checkpoints(run_id))  // newest first
    if (c.step >= 1 && c.step < step)
      if (auto found = checkpoint(run_id, c.step)) return found;
  return std::nullopt;
}

std::vector<CheckpointInfo> RunStore::checkpoints(std::int64_t run_id) {
  Impl& s = *impl_;
  return s.guarded([&] {
    sql::Statement& q = s.statement(R"sql(
      SELECT run_id, step, epoch, created_at, bytes, kind FROM checkpoints
      WHERE run_id = ?1 ORDER BY step DESC
    )sql");
    q.bind(1, run_id);
    std::vector<CheckpointInfo> rows;
    while (q.step()) rows.push_back(read_info(q));
    return rows;
  });
}

}  // namespace mantissa
