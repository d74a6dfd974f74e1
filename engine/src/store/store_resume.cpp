// Resuming a run: one transaction that hands the run to this process and drops
// what was recorded after the checkpoint it continues from.
#include <unistd.h>

#include "store/store_impl.hpp"

namespace mantissa {

void RunStore::resume_run(std::int64_t run_id, std::int64_t from_step) {
  Impl& s = *impl_;
  flush();
  s.guarded([&] {
    sql::Transaction tx(*s.db);
    sql::Statement& update = s.statement(R"sql(
      UPDATE runs SET status = 'running', error = '', finished_at = NULL, pid = ?2, host = ?3
      WHERE id = ?1
    )sql");
    update.bind(1, run_id).bind(2, static_cast<std::int64_t>(getpid())).bind(3, s.host).run();
    if (s.db->changes() == 0) s.no_run(run_id);  // the transaction rolls back
    // Events and epochs of the steps being redone, and checkpoints taken after
    // the one resumed from (they belong to the abandoned continuation).
    for (const char* sql : {"DELETE FROM step_metrics WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM epoch_metrics WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM events WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM numerics WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM provenance WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM step_weight_norms WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM checkpoints WHERE run_id = ?1 AND step > ?2"}) {
      s.statement(sql).bind(1, run_id).bind(2, from_step).run();
    }
    tx.commit();
  });
}

}  // namespace mantissa
