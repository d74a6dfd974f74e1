// RunStore: the weight fingerprint's per-master norms (docs/divergence.md).
// The names once per run (a JSON array); each step's norms one blob of
// little-endian fp32 values in that order, written with the step's metrics.
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "store/store_impl.hpp"

namespace mantissa {

namespace {

std::vector<std::uint8_t> norms_blob(const std::vector<double>& norms) {
  std::vector<std::uint8_t> out;
  out.reserve(norms.size() * 4);
  for (double n : norms) {
    const auto w = std::bit_cast<std::uint32_t>(float(n));
    for (int b = 0; b < 4; ++b) out.push_back(std::uint8_t(w >> (8 * b)));
  }
  return out;
}

std::vector<double> parse_norms(const std::vector<std::uint8_t>& blob) {
  std::vector<double> out;
  for (std::size_t i = 0; i + 4 <= blob.size(); i += 4) {
    std::uint32_t w = 0;
    for (int b = 0; b < 4; ++b) w |= std::uint32_t(blob[i + std::size_t(b)]) << (8 * b);
    out.push_back(double(std::bit_cast<float>(w)));
  }
  return out;
}

}  // namespace

void RunStore::Impl::insert_fingerprints() {
  if (!weight_names.empty()) {
    sql::Statement& insert =
        statement("INSERT OR REPLACE INTO run_weights (run_id, names) VALUES (?1, ?2)");
    for (const auto& row : weight_names) {
      const std::int64_t run_id = row.first;
      const std::string names = nlohmann::json(row.second).dump();
      insert_row(insert, [&](sql::Statement& q) { q.bind(1, run_id).bind(2, names); });
    }
  }
  bool any = false;
  for (const auto& row : steps) any = any || !row.second.weight_norms.empty();
  if (!any) return;
  sql::Statement& insert = statement(
      "INSERT OR REPLACE INTO step_weight_norms (run_id, step, norms) VALUES (?1, ?2, ?3)");
  for (const auto& row : steps) {
    const std::int64_t run_id = row.first;
    const StepMetrics& m = row.second;
    if (m.weight_norms.empty()) continue;
    const std::vector<std::uint8_t> blob = norms_blob(m.weight_norms);
    insert_row(insert, [&](sql::Statement& q) {
      q.bind(1, run_id).bind(2, m.step).bind(3, std::span<const std::uint8_t>(blob));
    });
  }
}

void RunStore::set_weight_names(std::int64_t run_id, const std::vector<std::string>& names) {
  impl_->weight_names.emplace_back(run_id, names);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

std::vector<std::string> RunStore::weight_names(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement("SELECT names FROM run_weights WHERE run_id = ?1");
    q.bind(1, run_id);
    std::vector<std::string> out;
    if (!q.step()) return out;
    const auto j = nlohmann::json::parse(q.column_text(0), nullptr, false);
    if (!j.is_array()) return out;  // not ours: read as none rather than fail
    for (const auto& name : j)
      if (name.is_string()) out.push_back(name.get<std::string>());
    return out;
  });
}

std::map<std::int64_t, std::vector<double>> RunStore::weight_norms(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q =
        s.statement("SELECT step, norms FROM step_weight_norms WHERE run_id = ?1 ORDER BY step");
    q.bind(1, run_id);
    std::map<std::int64_t, std::vector<double>> out;
    while (q.step()) out[q.column_int(0)] = parse_norms(q.column_blob(1));
    return out;
  });
}

}  // namespace mantissa
