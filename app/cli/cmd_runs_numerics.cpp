// mantissa runs numerics RUN [--step N] [--layer ID] [--heatmap METRIC] [--json]:
// a run's stored per-tensor numerics (numerics.hpp) from the command line.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/error.hpp"
#include "mantissa/metric_fields.hpp"
#include "mantissa/store.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cli {

namespace {

using Json = nlohmann::ordered_json;

// Binades between |x|max and fp16's largest finite value: how far the tensor
// may still grow (negative: past it). None for a tensor of zeros.
std::optional<double> headroom_binades(const TensorStats& s) {
  return metric_value(s, NumericsMetric::Headroom);
}

// `--heatmap METRIC`: one row per tensor, one column per stored step.
void print_heatmap(RunStore& store, std::int64_t run, const std::vector<NumericsSlot>& slots,
                   const std::vector<RunStore::NumericsStep>& steps, NumericsMetric metric,
                   const std::string& layer, bool json) {
  std::vector<NumericsSample> samples;
  for (const auto& st : steps)
    if (auto sample = store.numerics_sample(run, st.step)) samples.push_back(std::move(*sample));
  const auto value = [&](std::size_t slot, const NumericsSample& sample) -> std::optional<double> {
    if (slot >= sample.stats.size()) return std::nullopt;
    return metric_value(sample.stats[slot], metric);
  };
  if (json) {
    Json out = {{"run_id", run}, {"metric", metric_key(metric)}, {"title", metric_title(metric)},
                {"steps", Json::array()}, {"tensors", Json::array()}};
    for (const auto& sample : samples) out["steps"].push_back(sample.step);
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (!layer.empty() && slots[i].layer != layer) continue;
      Json row = {{"slot", i}, {"tensor", slots[i].label()}, {"role", role_key(slots[i].role)},
                  {"values", Json::array()}};
      for (const auto& sample : samples) {
        const auto v = value(i, sample);
        row["values"].push_back(v ? Json(*v) : Json(nullptr));
      }
      out["tensors"].push_back(row);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::vector<std::string> header{"tensor"};
  std::vector<bool> right{false};
  for (const auto& sample : samples) {
    header.push_back(std::to_string(sample.step) + (sample.reason == "event" ? "!" : ""));
    right.push_back(true);
  }
  Table t(header, right);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!layer.empty() && slots[i].layer != layer) continue;
    std::vector<std::string> row{slots[i].label()};
    for (const auto& sample : samples) {
      const auto v = value(i, sample);
      row.push_back(!v ? "-" : metric == NumericsMetric::Headroom ? fixed(*v, 1) : fixed(*v, 2));
    }
    t.add(row);
  }
  std::cout << "run " << run << ": " << metric_title(metric) << " per tensor (rows) and stored step"
            << " (columns; ! marks an event step)\n";
  t.print(std::cout);
}

std::string share_text(std::uint32_t count, std::uint32_t of) {
  return of == 0 || count == 0 ? "0" : percent_text(double(count) / double(of), 2);
}

Json stats_json(const NumericsSlot& slot, int index, const TensorStats& s,
                const Histogram* histogram) {
  Json j = {{"slot", index},
            {"layer", slot.layer},
            {"role", role_key(slot.role)},
            {"tensor", slot.label()},
            {"dtype", dtype_name(slot.dtype)},
            {"count", s.count},
            {"amax", s.amax},
            {"pos_inf", s.pos_inf},
            {"neg_inf", s.neg_inf},
            {"nan", s.nan},
            {"zeros", s.zeros},
            {"flush_f16", s.flush_f16},
            {"flush_bf16", s.flush_bf16},
            {"subnormal_f16", s.subnormal_f16},
            {"saturate_f16", s.saturate_f16}};
  const auto h = headroom_binades(s);
  j["headroom_binades_f16"] = h ? Json(*h) : Json(nullptr);
  if (slot.input >= 0) j["input"] = slot.input;
  if (!slot.param.empty()) j["param"] = slot.param;
  if (histogram != nullptr) j["histogram"] = *histogram;
  return j;
}

}  // namespace

void add_runs_numerics_command(CLI::App* runs) {
  struct Flags {
    std::string db;
    std::int64_t run = 0;
    std::optional<std::int64_t> step;
    std::string layer;
    std::string heatmap;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = runs->add_subcommand(
      "numerics", "A run's per-tensor numerics: the stored steps, or one step's tensors");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  add_database_option(cmd, f->db);
  cmd->add_option("--step", f->step,
                  "One stored step's tensors (default: the first event, else the last step)");
  cmd->add_option("--layer", f->layer, "Only this layer's tensors");
  std::string metrics;
  for (NumericsMetric m : kNumericsMetrics) metrics += (metrics.empty() ? "" : ", ") + std::string(metric_key(m));
  cmd->add_option("--heatmap", f->heatmap,
                  "One metric per tensor over every stored step (" + metrics + ")");
  cmd->add_flag("--json", f->json, "Print JSON (with histograms where stored)");
  cmd->callback([f] {
    RunStore store(existing_database(f->db), StoreOptions::reading());
    store.require_run(f->run);
    const std::vector<NumericsSlot> slots = store.numerics_slots(f->run);
    const auto steps = store.numerics_steps(f->run);
    if (slots.empty() || steps.empty())
      throw InputError("run " + std::to_string(f->run) +
                       " has no per-tensor numerics (recorded by runs of this version with "
                       "training.numerics on)");
    if (!f->layer.empty() &&
        std::none_of(slots.begin(), slots.end(), [&](const NumericsSlot& s) { return s.layer == f->layer; })) {
      std::string layers;
      for (const NumericsSlot& s : slots)
        if (layers.find("'" + s.layer + "'") == std::string::npos)
          layers += (layers.empty() ? "'" : ", '") + s.layer + "'";
      throw InputError("no layer '" + f->layer + "' in run " + std::to_string(f->run) +
                       " (layers: " + layers + ")");
    }
    if (!f->heatmap.empty()) {
      const auto metric = parse_metric_key(f->heatmap);
      if (!metric) {
        std::string keys;
        for (NumericsMetric m : kNumericsMetrics) keys += (keys.empty() ? "" : ", ") + std::string(metric_key(m));
        throw InputError("--heatmap: unknown metric '" + f->heatmap + "' (one of " + keys + ")");
      }
      if (f->step) throw InputError("--heatmap shows every stored step: leave out --step");
      print_heatmap(store, f->run, slots, steps, *metric, f->layer, f->json);
      return;
    }
    std::int64_t step = steps.back().step;
    for (const auto& s : steps)
      if (s.reason == "event") {
        step = s.step;
        break;
      }
    if (f->step) {
      if (std::none_of(steps.begin(), steps.end(), [&](const auto& s) { return s.step == *f->step; })) {
        std::string stored;
        for (const auto& s : steps) stored += (stored.empty() ? "" : ", ") + std::to_string(s.step);
        throw InputError("step " + std::to_string(*f->step) + " of run " + std::to_string(f->run) +
                         " has no stored numerics (stored steps: " + stored + ")");
      }
      step = *f->step;
    }
    const NumericsSample sample = *store.numerics_sample(f->run, step);
    if (f->json) {
      Json out = {{"run_id", f->run}, {"step", sample.step}, {"reason", sample.reason},
                  {"scale", sample.scale}, {"stored_steps", Json::array()}, {"tensors", Json::array()}};
      for (const auto& s : steps)
        out["stored_steps"].push_back(
            {{"step", s.step}, {"reason", s.reason}, {"scale", s.scale}, {"histograms", s.histograms}});
      for (std::size_t i = 0; i < slots.size() && i < sample.stats.size(); ++i) {
        if (!f->layer.empty() && slots[i].layer != f->layer) continue;
        const Histogram* h = i < sample.histograms.size() ? &sample.histograms[i] : nullptr;
        out["tensors"].push_back(stats_json(slots[i], int(i), sample.stats[i], h));
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << "run " << f->run << ": " << steps.size() << " stored step"
              << (steps.size() == 1 ? "" : "s");
    std::size_t events = 0;
    for (const auto& s : steps) events += s.reason == "event" ? 1 : 0;
    if (events > 0) std::cout << " (" << events << " with an event)";
    std::cout << "; step " << sample.step << " (" << sample.reason << ", scale "
              << loss_scale_text(sample.scale) << ")\n";
    Table t({"tensor", "role", "dtype", "|x|max", "headroom", "inf/nan", "zeros", "flush f16",
             "subnormal f16", "saturate f16", "flush bf16"},
            {false, false, false, true, true, true, true, true, true, true, true});
    std::optional<std::size_t> first_bad;
    for (std::size_t i = 0; i < slots.size() && i < sample.stats.size(); ++i) {
      const TensorStats& s = sample.stats[i];
      if (!first_bad && s.nonfinite() > 0) first_bad = i;
      if (!f->layer.empty() && slots[i].layer != f->layer) continue;
      if (!s.produced()) continue;
      const auto h = headroom_binades(s);
      t.add({slots[i].label(), std::string(role_name(slots[i].role)),
             std::string(dtype_name(slots[i].dtype)), scale_text(s.amax),
             h ? fixed(*h, 1) + " binades" : "-", with_thousands(s.nonfinite()),
             share_text(s.zeros, s.count), share_text(s.flush_f16, s.count),
             share_text(s.subnormal_f16, s.count), share_text(s.saturate_f16, s.count),
             share_text(s.flush_bf16, s.count)});
    }
    t.print(std::cout);
    if (sample.stats.size() != slots.size())
      std::cout << "step " << sample.step << "'s stored statistics hold " << sample.stats.size()
                << " of the run's " << slots.size() << " tensors: the row is damaged\n";
    if (first_bad)
      std::cout << "first non-finite tensor in execution order: " << slots[*first_bad].label()
                << " (" << role_name(slots[*first_bad].role) << ")\n";
    std::cout << "headroom: binades from |x|max to fp16's 65,504 (gradients as scaled, at scale "
              << loss_scale_text(sample.scale) << ")\n";
  });
}

}  // namespace mantissa::cli
