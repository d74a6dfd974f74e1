// RunStore: per-tensor numerics (numerics.hpp). Slots once per run; each
// stored step one row whose blobs hold every slot's words, little-endian.
#include <string>

#include "mantissa/numerics_bits.hpp"
#include "store/store_impl.hpp"

namespace mantissa {

namespace {

namespace nb = numerics_bits;

void put_word(std::vector<std::uint8_t>& out, std::uint32_t w) {
  for (int b = 0; b < 4; ++b) out.push_back(std::uint8_t(w >> (8 * b)));
}

std::uint32_t get_word(const std::vector<std::uint8_t>& in, std::size_t i) {
  std::uint32_t w = 0;
  for (int b = 0; b < 4; ++b) w |= std::uint32_t(in[4 * i + std::size_t(b)]) << (8 * b);
  return w;
}

std::vector<std::uint8_t> stats_blob(const NumericsSample& s) {
  std::vector<std::uint8_t> out;
  out.reserve(s.stats.size() * nb::kWords * 4);
  for (const TensorStats& t : s.stats)
    for (std::uint32_t w : encode_stats(t)) put_word(out, w);
  return out;
}

std::vector<std::uint8_t> histogram_blob(const NumericsSample& s) {
  std::vector<std::uint8_t> out;
  out.reserve(s.histograms.size() * nb::kBins * 4);
  for (const Histogram& h : s.histograms)
    for (std::uint32_t w : h) put_word(out, w);
  return out;
}

DType parse_dtype_name(const std::string& name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16})
    if (dtype_name(t) == name) return t;
  return DType::F32;
}

}  // namespace

void RunStore::Impl::insert_numerics() {
  for (const auto& row : numerics_slots) {
    const std::int64_t run_id = row.first;
    sql::Statement& del = statement("DELETE FROM numerics_slots WHERE run_id = ?1");
    del.bind(1, run_id);
    del.run();
    sql::Statement& insert = statement(
        "INSERT INTO numerics_slots (run_id, slot, layer, role, input, param, dtype) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (std::size_t i = 0; i < row.second.size(); ++i) {
      const NumericsSlot& n = row.second[i];
      insert.reset();
      insert.bind(1, run_id).bind(2, std::int64_t(i)).bind(3, n.layer).bind(4, role_key(n.role));
      insert.bind(5, n.input).bind(6, n.param).bind(7, dtype_name(n.dtype));
      insert.run();
    }
  }
  for (const auto& row : manifests) {
    sql::Statement& insert = statement(
        "INSERT OR REPLACE INTO run_manifests (run_id, manifest) VALUES (?1, ?2)");
    insert.bind(1, row.first).bind(2, row.second);
    insert.run();
  }
  for (const auto& row : provenances) {
    sql::Statement& insert = statement(
        "INSERT OR REPLACE INTO provenance (run_id, step, record) VALUES (?1, ?2, ?3)");
    insert.bind(1, row.first).bind(2, row.second.step).bind(3, provenance_json(row.second));
    insert.run();
  }
  if (numerics.empty()) return;
  sql::Statement& insert = statement(
      "INSERT OR REPLACE INTO numerics (run_id, step, reason, scale, stats, histograms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  for (const auto& row : numerics) {
    const std::int64_t run_id = row.first;
    const NumericsSample& s = row.second;
    const std::vector<std::uint8_t> stats = stats_blob(s);
    const std::vector<std::uint8_t> hist = histogram_blob(s);
    insert.reset();
    insert.bind(1, run_id).bind(2, s.step).bind(3, s.reason).bind(4, s.scale);
    insert.bind(5, std::span<const std::uint8_t>(stats));
    if (hist.empty())
      insert.bind_null(6);
    else
      insert.bind(6, std::span<const std::uint8_t>(hist));
    insert.run();
  }
}

void RunStore::set_numerics_slots(std::int64_t run_id, const std::vector<NumericsSlot>& slots) {
  impl_->numerics_slots.emplace_back(run_id, slots);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

void RunStore::append_numerics(std::int64_t run_id, const NumericsSample& sample) {
  impl_->numerics.emplace_back(run_id, sample);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

std::vector<NumericsSlot> RunStore::numerics_slots(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement(
        "SELECT layer, role, input, param, dtype FROM numerics_slots WHERE run_id = ?1 "
        "ORDER BY slot");
    q.bind(1, run_id);
    std::vector<NumericsSlot> out;
    while (q.step()) {
      NumericsSlot n;
      n.layer = q.column_text(0);
      n.role = parse_role_key(q.column_text(1)).value_or(TensorRole::Activation);
      n.input = int(q.column_int(2));
      n.param = q.column_text(3);
      n.dtype = parse_dtype_name(q.column_text(4));
      out.push_back(std::move(n));
    }
    return out;
  });
}

std::vector<RunStore::NumericsStep> RunStore::numerics_steps(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q = s.statement(
        "SELECT step, reason, scale, histograms IS NOT NULL FROM numerics WHERE run_id = ?1 "
        "ORDER BY step");
    q.bind(1, run_id);
    std::vector<NumericsStep> out;
    while (q.step())
      out.push_back({q.column_int(0), q.column_text(1), q.column_double(2), q.column_int(3) != 0});
    return out;
  });
}

std::optional<NumericsSample> RunStore::numerics_sample(std::int64_t run_id, std::int64_t step) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&]() -> std::optional<NumericsSample> {
    sql::Statement& q = s.statement(
        "SELECT reason, scale, stats, histograms FROM numerics WHERE run_id = ?1 AND step = ?2");
    q.bind(1, run_id).bind(2, step);
    if (!q.step()) return std::nullopt;
    NumericsSample out;
    out.step = step;
    out.reason = q.column_text(0);
    out.scale = q.column_double(1);
    // A blob whose length is not whole slots (a damaged row) reads as the
    // slots it does hold.
    const std::vector<std::uint8_t> stats = q.column_blob(2);
    for (std::size_t i = 0; (i + nb::kWords) * 4 <= stats.size(); i += nb::kWords) {
      NumericsWords w{};
      for (int k = 0; k < nb::kWords; ++k) w[std::size_t(k)] = get_word(stats, i + std::size_t(k));
      out.stats.push_back(decode_stats(w));
    }
    if (!q.column_is_null(3)) {
      const std::vector<std::uint8_t> hist = q.column_blob(3);
      for (std::size_t i = 0; (i + nb::kBins) * 4 <= hist.size(); i += nb::kBins) {
        Histogram h{};
        for (int k = 0; k < nb::kBins; ++k) h[std::size_t(k)] = get_word(hist, i + std::size_t(k));
        out.histograms.push_back(h);
      }
    }
    return out;
  });
}

void RunStore::add_provenance(std::int64_t run_id, const Provenance& p) {
  impl_->provenances.emplace_back(run_id, p);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

void RunStore::set_manifest(std::int64_t run_id, const std::string& json) {
  impl_->manifests.emplace_back(run_id, json);
  impl_->guarded([&] { impl_->maybe_commit(); });
}

std::optional<std::string> RunStore::manifest(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&]() -> std::optional<std::string> {
    sql::Statement& q = s.statement("SELECT manifest FROM run_manifests WHERE run_id = ?1");
    q.bind(1, run_id);
    if (!q.step()) return std::nullopt;
    return q.column_text(0);
  });
}

std::vector<Provenance> RunStore::provenance(std::int64_t run_id) {
  Impl& s = *impl_;
  flush();
  return s.guarded([&] {
    sql::Statement& q =
        s.statement("SELECT record FROM provenance WHERE run_id = ?1 ORDER BY step");
    q.bind(1, run_id);
    std::vector<Provenance> out;
    while (q.step()) {
      try {
        out.push_back(parse_provenance_json(q.column_text(0)));
      } catch (const Error&) {
        // A damaged record is skipped; the run's other records stay readable.
      }
    }
    return out;
  });
}

}  // namespace mantissa
