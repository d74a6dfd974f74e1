// Step and epoch metrics and run events: buffered in memory, committed in one
// transaction per batch, read back in order, exported as CSV.
#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <type_traits>

#include "mantissa/metric_fields.hpp"
#include "store/store_impl.hpp"

namespace mantissa {
namespace {

constexpr std::array<std::string_view, 4> kEventKinds = {"overflow", "warning", "info", "error"};

std::string_view event_kind_name(EventKind k) {
  return kEventKinds.at(static_cast<size_t>(k));
}

EventKind parse_event_kind(std::string_view s) {
  for (size_t i = 0; i < kEventKinds.size(); ++i) {
    if (kEventKinds[i] == s) return static_cast<EventKind>(i);
  }
  return EventKind::Info;  // the schema's CHECK admits only the names above
}

// "step, epoch, loss, ..." in kStepFields' order.
std::string step_columns() {
  std::string out;
  for (const StepField& f : kStepFields) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

const std::string& insert_step_sql() {
  static const std::string sql = [] {
    std::string values = "?1";
    for (std::size_t i = 0; i < kStepFields.size(); ++i) values += ", ?" + std::to_string(i + 2);
    return "INSERT OR REPLACE INTO step_metrics (run_id, " + step_columns() + ") VALUES (" +
           values + ")";
  }();
  return sql;
}

const std::string& select_steps_sql() {
  static const std::string sql =
      "SELECT " + step_columns() + " FROM step_metrics WHERE run_id = ?1 ORDER BY step";
  return sql;
}

const char* kInsertEpoch = R"sql(
  INSERT OR REPLACE INTO epoch_metrics
    (run_id, epoch, step, train_loss, val_loss, val_accuracy, wall_time_s, eval_time_s,
     checkpoint_time_s)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
)sql";

const char* kInsertEvent = R"sql(
  INSERT INTO events (run_id, step, kind, message, scale_before, scale_after, tensor, wall_time_s)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
)sql";

void append_number(std::string& out, double v) {
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), ec == std::errc() ? end : buf.data());
}

void append_number(std::string& out, std::int64_t v) {
  std::array<char, 24> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), ec == std::errc() ? end : buf.data());
}

}  // namespace

// ------------------------------------------------------------------ Impl

void RunStore::Impl::maybe_commit() {
  const auto now = std::chrono::steady_clock::now();
  if (buffered_rows() >= options.max_buffered_rows || now - last_commit >= options.batch_interval) {
    commit_buffered();
  }
}

void RunStore::Impl::commit_buffered() {
  if (buffered_rows() == 0) return;
  // The clock restarts even when the commit fails, so a locked database is
  // retried once per interval rather than on every append.
  last_commit = std::chrono::steady_clock::now();
  sql::Transaction tx(*db);
  if (!steps.empty()) {
    sql::Statement& insert = statement(insert_step_sql());
    for (const auto& row : steps) {
      // Named, not bound: clang cannot capture structured bindings under OpenMP.
      const std::int64_t run_id = row.first;
      const auto& m = row.second;
      insert_row(insert, [&](sql::Statement& q) {
        q.bind(1, run_id);
        int index = 2;
        for (const StepField& f : kStepFields)
          visit_field(f, m, [&](const auto& value) {
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>)
              q.bind(index++, value ? 1 : 0);
            else
              q.bind(index++, value);
          });
      });
    }
  }
  if (!epochs.empty()) {
    sql::Statement& insert = statement(kInsertEpoch);
    for (const auto& row : epochs) {
      // Named, not bound: clang cannot capture structured bindings under OpenMP.
      const std::int64_t run_id = row.first;
      const auto& m = row.second;
      insert_row(insert, [&](sql::Statement& q) {
        q.bind(1, run_id).bind(2, m.epoch).bind(3, m.step).bind(4, m.train_loss);
        q.bind(5, m.val_loss).bind(6, m.val_accuracy).bind(7, m.wall_time_s);
        q.bind(8, m.eval_time_s).bind(9, m.checkpoint_time_s);
      });
    }
  }
  if (!events.empty()) {
    sql::Statement& insert = statement(kInsertEvent);
    for (const auto& row : events) {
      // Named, not bound: clang cannot capture structured bindings under OpenMP.
      const std::int64_t run_id = row.first;
      const auto& e = row.second;
      insert_row(insert, [&](sql::Statement& q) {
        q.bind(1, run_id).bind(2, e.step).bind(3, event_kind_name(e.kind)).bind(4, e.message);
        q.bind(5, e.scale_before).bind(6, e.scale_after).bind(7, e.tensor);
        q.bind(8, e.wall_time_s);
      });
    }
  }
  insert_numerics();
  insert_fingerprints();
  tx.commit();
  // Only now is the batch safe on disk; until here a failure keeps it buffered.
  steps.clear();
  epochs.clear();
  events.clear();
  numerics.clear();
  numerics_slots.clear();
  provenances.clear();
  manifests.clear();
  weight_names.clear();
}

void RunStore::Impl::drop_buffered(std::int64_t run_id) {
  const auto of_run = [run_id](const auto& row) { return row.first == run_id; };
  std::erase_if(steps, of_run);
  std::erase_if(epochs, of_run);
  std::erase_if(events, of_run);
  std::erase_if(numerics, of_run);
  std::erase_if(numerics_slots, of_run);
  std::erase_if(provenances, of_run);
  std::erase_if(manifests, of_run);
  std::erase_if(weight_names, of_run);
}

// --------------------------------------------------------------- RunStore

void RunStore::append_step(std::int64_t run_id, const StepMetrics& m) {
  impl_->steps.emplace_back(run_id, m);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

void RunStore::append_epoch(std::int64_t run_id, const EpochMetrics& m) {
  impl_->epochs.emplace_back(run_id, m);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

void RunStore::append_event(std::int64_t run_id, const RunEvent& e) {
  impl_->events.emplace_back(run_id, e);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

void RunStore::flush() {
  impl_->guarded([&] { impl_->commit_buffered(); });
}

std::size_t RunStore::buffered_rows() const {
  return impl_->buffered_rows();
}

std::vector<StepMetrics> RunStore::step_metrics(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement(select_steps_sql());
    q.bind(1, run_id);
    std::vector<StepMetrics> rows;
    while (q.step()) {
      StepMetrics m;
      int column = 0;
      for (const StepField& f : kStepFields)
        visit_field(f, m, [&](auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>)
            value = q.column_int(column++) != 0;
          else if constexpr (std::is_same_v<T, double>)
            value = q.column_double(column++);
          else
            value = q.column_int(column++);
        });
      rows.push_back(m);
    }
    return rows;
  });
}

std::vector<EpochMetrics> RunStore::epoch_metrics(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement(R"sql(
      SELECT epoch, step, train_loss, val_loss, val_accuracy, wall_time_s,
             coalesce(eval_time_s, 0), coalesce(checkpoint_time_s, 0)
      FROM epoch_metrics WHERE run_id = ?1 ORDER BY epoch
    )sql");
    q.bind(1, run_id);
    std::vector<EpochMetrics> rows;
    while (q.step()) {
      EpochMetrics m;
      m.epoch = q.column_int(0);
      m.step = q.column_int(1);
      m.train_loss = q.column_double(2);
      m.val_loss = q.column_double(3);
      m.val_accuracy = q.column_double(4);
      m.wall_time_s = q.column_double(5);
      m.eval_time_s = q.column_double(6);
      m.checkpoint_time_s = q.column_double(7);
      rows.push_back(m);
    }
    return rows;
  });
}

std::vector<RunEvent> RunStore::events(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement(R"sql(
      SELECT step, kind, message, scale_before, scale_after, tensor, wall_time_s
      FROM events WHERE run_id = ?1 ORDER BY id
    )sql");
    q.bind(1, run_id);
    std::vector<RunEvent> rows;
    while (q.step()) {
      RunEvent e;
      e.step = q.column_int(0);
      e.kind = parse_event_kind(q.column_text(1));
      e.message = q.column_text(2);
      e.scale_before = q.column_double(3);
      e.scale_after = q.column_double(4);
      e.tensor = q.column_text(5);
      e.wall_time_s = q.column_double(6);
      rows.push_back(std::move(e));
    }
    return rows;
  });
}

std::string RunStore::metrics_csv(std::int64_t run_id) {
  require_run(run_id);  // an export of a run that does not exist is a user error
  std::string out;
  for (const StepField& f : kStepFields) out += (out.empty() ? "" : ",") + std::string(f.name);
  out += '\n';
  for (const StepMetrics& m : step_metrics(run_id)) {
    // Numbers are written shortest-round-trip, so reading the CSV back gives
    // the stored doubles exactly; non-finite values appear as nan / inf.
    bool first = true;
    for (const StepField& f : kStepFields) {
      if (!first) out += ',';
      first = false;
      visit_field(f, m, [&](const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>)
          out += value ? '1' : '0';
        else
          append_number(out, value);
      });
    }
    out += '\n';
  }
  return out;
}

}  // namespace mantissa
