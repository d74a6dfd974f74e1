// RunStore: the ranks of a data-parallel run (docs/data-parallel.md): world
// size, collective engine, reduce order, and each rank's device (a JSON array).
#include <nlohmann/json.hpp>

#include "store/store_impl.hpp"

namespace mantissa {

void RunStore::set_ranks(std::int64_t run_id, const RankLayout& ranks) {
  Impl& s = *impl_;
  flush();
  s.guarded([&] {
    s.statement(R"sql(
      INSERT OR REPLACE INTO run_ranks (run_id, world_size, engine, reduce_order, devices)
      VALUES (?1, ?2, ?3, ?4, ?5)
    )sql")
        .bind(1, run_id)
        .bind(2, std::int64_t(ranks.world_size))
        .bind(3, ranks.engine)
        .bind(4, ranks.reduce_order)
        .bind(5, nlohmann::json(ranks.devices).dump())
        .run();
  });
}

std::optional<RankLayout> RunStore::ranks(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&]() -> std::optional<RankLayout> {
    sql::Statement& q = s.statement(
        "SELECT world_size, engine, reduce_order, devices FROM run_ranks WHERE run_id = ?1");
    q.bind(1, run_id);
    if (!q.step()) return std::nullopt;
    RankLayout r;
    r.world_size = int(q.column_int(0));
    r.engine = q.column_text(1);
    r.reduce_order = q.column_text(2);
    const auto j = nlohmann::json::parse(q.column_text(3), nullptr, false);
    if (j.is_array())
      for (const auto& d : j)
        if (d.is_string()) r.devices.push_back(d.get<std::string>());
    return r;
  });
}

}  // namespace mantissa
