// RunStore: guided fixes tried as child runs and the user's decisions on
// them (advice.hpp, docs/advice.md).
#include "mantissa/error.hpp"
#include "store/store_impl.hpp"

namespace mantissa {

std::vector<FixTrial> RunStore::fix_trials(std::int64_t parent_run_id) {
  Impl& s = *impl_;
  return s.guarded([&] {
    sql::Statement& q = s.statement(
        "SELECT run_id, parent_run_id, rule, fix, decision, outcome, decided_at FROM fix_trials "
        "WHERE ?1 = 0 OR parent_run_id = ?1 ORDER BY run_id DESC");
    q.bind(1, parent_run_id);
    std::vector<FixTrial> out;
    while (q.step())
      out.push_back({q.column_int(0), q.column_int(1), q.column_text(2), q.column_text(3),
                     q.column_text(4), q.column_text(5), q.column_text(6)});
    return out;
  });
}

void RunStore::decide_fix(std::int64_t run_id, const std::string& decision,
                          const std::string& outcome) {
  if (decision != "accepted" && decision != "rejected")
    throw InputError("a fix is 'accepted' or 'rejected', not '" + decision + "'");
  Impl& s = *impl_;
  s.guarded([&] {
    s.statement("UPDATE fix_trials SET decision = ?2, outcome = ?3, decided_at = ?4 WHERE run_id = ?1")
        .bind(1, run_id)
        .bind(2, decision)
        .bind(3, outcome)
        .bind(4, now_iso8601())
        .run();
    if (s.db->changes() == 0)
      throw InputError("run " + std::to_string(run_id) + " is no fix tried by `advise --try`");
  });
}

}  // namespace mantissa
