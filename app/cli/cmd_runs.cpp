// mantissa runs list | show RUN | delete RUN | metrics RUN | manifest RUN: the run
// database from the command line (runs numerics: cmd_runs_numerics.cpp).
#include <algorithm>
#include <cmath>
#include <optional>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
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

// Step rows `runs metrics` prints without --csv (evenly spaced, first and last included).
constexpr std::size_t kStepRowsShown = 20;

struct DbFlag {
  std::string db;
  std::filesystem::path path() const { return existing_database(db); }
};

// Commands that only read also work on a database this user cannot write.
const StoreOptions kReading = StoreOptions::reading();

// The stored summary as JSON (null where a value was not finite), or an
// empty object while a run has none.
Json summary_of(const RunRecord& r) {
  if (r.summary_json.empty()) return Json::object();
  return Json::parse(stored_summary_json(r.summary));
}

// "2024-05-01T12:00:00.000Z" in local time, "2024-05-01 14:00".
std::string local_time(const std::string& iso) {
  std::tm t{};
  if (iso.size() < 19 || !strptime(iso.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return iso;
  const std::time_t utc = timegm(&t);
  std::tm local{};
  localtime_r(&utc, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &local);
  return buf;
}

Json record_json(const RunRecord& r) {
  Json j = {
      {"id", r.id},
      {"name", r.name},
      {"project", r.project_name},
      {"policy", r.policy},
      {"status", run_status_name(r.status)},
      {"error", r.error},
      {"backend", r.backend},
      {"device", r.device},
      {"seed", r.seed},
      {"created_at", r.created_at},
      {"started_at", r.started_at},
      {"finished_at", r.finished_at},
      {"pid", r.pid},
      {"host", r.host},
      {"notes", r.notes},
      {"group", r.group_name ? Json(*r.group_name) : Json(nullptr)},
      {"parent_run_id", r.parent_run_id ? Json(*r.parent_run_id) : Json(nullptr)},
      {"steps_recorded", r.steps_recorded},
      {"last_step", r.last_step},
      {"skipped_total", r.skipped_total},
      {"final_loss", r.final_loss ? Json(*r.final_loss) : Json(nullptr)},
      {"best_val_accuracy", r.best_val_accuracy ? Json(*r.best_val_accuracy) : Json(nullptr)},
      {"checkpoint_bytes", r.checkpoint_bytes},
      {"metrics_bytes", r.metrics_bytes}};
  j["summary"] = summary_of(r);
  return j;
}

// Every per-step field, in the metrics table's order (mantissa/metric_fields.hpp).
Json step_json(const StepMetrics& m) {
  Json j = Json::object();
  for (const StepField& f : kStepFields)
    visit_field(f, m, [&](const auto& value) { j[std::string(f.name)] = value; });
  return j;
}

Json epoch_json(const EpochMetrics& m) {
  return {{"epoch", m.epoch},
          {"step", m.step},
          {"train_loss", m.train_loss},
          {"val_loss", m.val_loss},
          {"val_accuracy", m.val_accuracy},
          {"wall_time_s", m.wall_time_s}};
}

const char* event_kind_text(EventKind k) {
  switch (k) {
    case EventKind::Overflow:
      return "overflow";
    case EventKind::Warning:
      return "warning";
    case EventKind::Info:
      return "info";
    case EventKind::Error:
      return "error";
  }
  return "info";
}

Json event_json(const RunEvent& e) {
  Json j = {{"step", e.step}, {"kind", event_kind_text(e.kind)}, {"message", e.message}};
  if (e.kind == EventKind::Overflow) {
    j["scale_before"] = e.scale_before;
    j["scale_after"] = e.scale_after;
  }
  if (!e.tensor.empty()) j["tensor"] = e.tensor;
  j["wall_time_s"] = e.wall_time_s;
  return j;
}

void print_epochs(const std::vector<EpochMetrics>& epochs) {
  Table t({"epoch", "step", "train loss", "val loss", "val acc", "wall time"},
          {true, true, true, true, true, true});
  for (const auto& e : epochs)
    t.add({std::to_string(e.epoch + 1), with_thousands(e.step), fixed(e.train_loss, 4),
           val_loss_text(e.val_loss, e.val_accuracy), percent_text(e.val_accuracy, 2),
           duration_text(e.wall_time_s)});
  t.print(std::cout);
}

// ---- list ---------------------------------------------------------------------

void add_list(CLI::App* runs) {
  struct Flags : DbFlag {
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = runs->add_subcommand("list", "List recorded runs, newest first");
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print a JSON array");
  cmd->callback([f] {
    // Where nothing has been trained yet there are no runs to list.
    const std::filesystem::path path = database_path(f->db);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      if (f->json)
        std::cout << "[]\n";
      else
        std::cout << "no runs: " << path.string() << " does not exist yet\n";
      return;
    }
    RunStore store(path, kReading);
    const std::vector<RunRecord> list = store.list_runs();
    if (f->json) {
      Json out = Json::array();
      for (const auto& r : list) out.push_back(record_json(r));
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (list.empty()) {
      std::cout << "no runs in " << store.path().string() << "\n";
      return;
    }
    Table t(
        {"id", "name", "project", "policy", "status", "created", "steps", "val acc", "samples/s",
         "disk"},
        {true, false, false, false, false, false, true, true, true, true});
    for (const auto& r : list) {
      // The last validation when a run recorded any (a run that failed early has none).
      std::optional<double> acc = r.best_val_accuracy;
      if (acc) acc = r.summary.final_val_accuracy.value_or(*acc);
      const auto rate = r.summary.samples_per_s;
      t.add({std::to_string(r.id), r.name, r.project_name, r.policy,
             std::string(run_status_name(r.status)), local_time(r.created_at),
             with_thousands(r.last_step), acc ? percent_text(*acc, 2) : "-",
             rate && *rate > 0 ? with_thousands(std::llround(*rate)) : "-",
             bytes_text(r.disk_bytes())});
    }
    t.print(std::cout);
  });
}

// ---- show ---------------------------------------------------------------------

void print_run(RunStore& store, const RunRecord& r) {
  std::cout << "run " << r.id << "  " << r.name << "  " << run_status_name(r.status) << "\n\n";
  std::vector<std::vector<std::string>> rows;
  const auto add = [&rows](std::vector<std::string> row) { rows.push_back(std::move(row)); };
  add({"project", r.project_name});
  add({"policy",
       r.policy + (r.loss_scale_json.empty() ? "" : ", loss scale " + r.loss_scale_json)});
  add({"device", r.backend + (r.device.empty() ? "" : " (" + r.device + ")")});
  if (const std::optional<RankLayout> ranks = store.ranks(r.id))
    add({"ranks", std::to_string(ranks->world_size) + " over " + ranks->engine + ", " +
                      ranks->reduce_order + " order"});
  add({"seed", std::to_string(r.seed)});
  add({"created", local_time(r.created_at)});
  if (!r.finished_at.empty()) add({"finished", local_time(r.finished_at)});
  add({"process", std::to_string(r.pid) + " on " + r.host});
  if (r.group_name) add({"group", *r.group_name});
  if (r.parent_run_id) add({"parent run", std::to_string(*r.parent_run_id)});
  add({"steps",
       with_thousands(r.last_step) + " (" + with_thousands(r.skipped_total) + " skipped)"});
  if (!r.error.empty()) add({"error", r.error});
  if (!r.notes.empty()) add({"notes", r.notes});
  const StoredSummary& s = r.summary;
  if (auto v = s.final_train_loss) {
    std::string line = "train loss " + fixed(*v, 4);
    if (auto vl = s.final_val_loss) line += ", val loss " + fixed(*vl, 4);
    if (auto va = s.final_val_accuracy) line += ", val accuracy " + percent_text(*va, 2);
    add({"result", line});
  }
  if (auto w = s.wall_time_s) {
    std::string line = duration_text(*w);
    if (auto sps = s.samples_per_s) line += ", " + with_thousands(std::llround(*sps)) + " samples/s";
    if (auto pm = s.peak_memory) line += ", peak memory " + bytes_text(*pm);
    if (auto sc = s.final_loss_scale) line += ", final loss scale " + loss_scale_text(*sc);
    add({"speed", line});
  }
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row[0].size());
  for (const auto& row : rows)
    std::cout << "  " << row[0] << std::string(width - row[0].size() + 2, ' ') << row[1] << "\n";

  const auto epochs = store.epoch_metrics(r.id);
  if (!epochs.empty()) {
    std::cout << "\n";
    print_epochs(epochs);
  }
  const auto events = store.events(r.id);
  if (!events.empty()) {
    std::cout << "\nevents\n";
    for (const auto& e : events)
      std::cout << "  step " << e.step << "  " << event_kind_text(e.kind) << "  " << e.message
                << "\n";
  }
  const auto checkpoints = store.checkpoints(r.id);
  if (!checkpoints.empty()) {
    std::cout << "\ncheckpoints\n";
    for (const auto& c : checkpoints)
      std::cout << "  step " << with_thousands(c.step) << "  " << bytes_text(c.bytes) << "  "
                << local_time(c.created_at) << "\n";
  }
}

void add_show(CLI::App* runs) {
  struct Flags : DbFlag {
    std::int64_t run = 0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      runs->add_subcommand("show", "A run's record, summary, epochs, events and checkpoints");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f] {
    RunStore store(f->path(), kReading);
    const RunRecord r = store.require_run(f->run);
    if (!f->json) {
      print_run(store, r);
      return;
    }
    Json out = record_json(r);
    out["loss_scale"] = Json::parse(r.loss_scale_json, nullptr, false);
    if (out["loss_scale"].is_discarded()) out["loss_scale"] = nullptr;
    // The project exactly as the run trained it (model, dataset, settings).
    out["project_snapshot"] = Json::parse(r.project_json, nullptr, false);
    if (out["project_snapshot"].is_discarded()) out["project_snapshot"] = nullptr;
    // Data parallel: how many ranks, over what (null: one process).
    out["ranks"] = nullptr;
    if (const std::optional<RankLayout> ranks = store.ranks(r.id))
      out["ranks"] = {{"world_size", ranks->world_size},
                      {"engine", ranks->engine},
                      {"reduce_order", ranks->reduce_order},
                      {"devices", ranks->devices}};
    out["epochs"] = Json::array();
    for (const auto& e : store.epoch_metrics(r.id)) out["epochs"].push_back(epoch_json(e));
    out["events"] = Json::array();
    for (const auto& e : store.events(r.id)) out["events"].push_back(event_json(e));
    out["checkpoints"] = Json::array();
    for (const auto& c : store.checkpoints(r.id))
      out["checkpoints"].push_back(
          {{"step", c.step}, {"epoch", c.epoch}, {"bytes", c.bytes}, {"created_at", c.created_at}});
    std::cout << out.dump(2) << "\n";
  });
}

// ---- delete -------------------------------------------------------------------

void add_delete(CLI::App* runs) {
  struct Flags : DbFlag {
    std::int64_t run = 0;
    bool force = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      runs->add_subcommand("delete", "Delete a run with its metrics, events and checkpoints");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  add_database_option(cmd, f->db);
  cmd->add_flag("--force", f->force, "Delete even a run that is still training");
  cmd->callback([f] {
    RunStore store(f->path());
    const RunRecord r = store.require_run(f->run);
    // Opening the store marked runs of dead processes interrupted: running means alive.
    if (r.status == RunStatus::Running && !f->force)
      throw InputError("run " + std::to_string(r.id) + " is still training (process " +
                       std::to_string(r.pid) + " on " + r.host +
                       "); stop it first or pass --force");
    store.delete_run(r.id);
    std::cout << "deleted run " << r.id << " (" << r.name << ")\n";
  });
}

// ---- metrics ------------------------------------------------------------------

void add_metrics(CLI::App* runs) {
  struct Flags : DbFlag {
    std::int64_t run = 0;
    bool csv = false;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = runs->add_subcommand("metrics", "A run's step metrics (CSV, JSON or a short table)");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  add_database_option(cmd, f->db);
  auto* csv = cmd->add_flag("--csv", f->csv, "Every step as CSV: a header line, one line per step");
  cmd->add_flag("--json", f->json, "Every step and epoch as JSON")->excludes(csv);
  cmd->callback([f] {
    RunStore store(f->path(), kReading);
    store.require_run(f->run);
    if (f->csv) {
      std::cout << store.metrics_csv(f->run);
      return;
    }
    const auto steps = store.step_metrics(f->run);
    const auto epochs = store.epoch_metrics(f->run);
    if (f->json) {
      Json out = {{"run_id", f->run}, {"steps", Json::array()}, {"epochs", Json::array()}};
      for (const auto& m : steps) out["steps"].push_back(step_json(m));
      for (const auto& m : epochs) out["epochs"].push_back(epoch_json(m));
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (steps.empty()) {
      std::cout << "run " << f->run << " has no step metrics\n";
      return;
    }
    Table t({"step", "epoch", "loss", "scale", "skipped", "grad norm", "lr", "samples/s", "memory"},
            {true, true, true, true, true, true, true, true, true});
    const std::size_t n = steps.size();
    const std::size_t shown = std::min(n, kStepRowsShown);
    for (std::size_t i = 0; i < shown; ++i) {
      const StepMetrics& m = steps[shown == 1 ? 0 : i * (n - 1) / (shown - 1)];
      t.add({with_thousands(m.step), std::to_string(m.epoch + 1), fixed(m.loss, 4),
             loss_scale_text(m.loss_scale), with_thousands(m.skipped_total), fixed(m.grad_norm, 4),
             scale_text(m.lr), with_thousands(std::llround(m.samples_per_s)),
             bytes_text(m.memory_in_use)});
    }
    std::cout << "run " << f->run << ": " << with_thousands(std::int64_t(n)) << " steps"
              << (n > shown ? " (" + std::to_string(shown) + " shown; --csv for all)" : "") << "\n";
    t.print(std::cout);
    if (!epochs.empty()) {
      std::cout << "\n";
      print_epochs(epochs);
    }
  });
}

// ---- manifest -----------------------------------------------------------------

void add_manifest(CLI::App* runs) {
  struct Flags : DbFlag {
    std::int64_t run = 0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = runs->add_subcommand(
      "manifest", "What decided a run's arithmetic: device, libraries, ISA, kernels, seeds");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f] {
    RunStore store(f->path(), kReading);
    store.require_run(f->run);
    const std::optional<std::string> text = store.manifest(f->run);
    if (!text)
      throw InputError("run " + std::to_string(f->run) +
                       " has no numerics manifest (written when a run's steps end, by runs of "
                       "this version)");
    const Json m = Json::parse(*text, nullptr, false);
    if (m.is_discarded() || !m.is_object())
      throw InputError("run " + std::to_string(f->run) + ": its stored manifest is damaged");
    if (f->json) {
      std::cout << m.dump(2) << "\n";
      return;
    }
    const auto text_of = [&](const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    std::cout << "run " << f->run << "\n";
    for (const char* key : {"mantissa_version", "backend", "device", "policy", "tf32",
                            "flush_to_zero", "denormals_are_zero", "dataset_fingerprint",
                            "reproducibility"})
      if (m.contains(key)) std::cout << "  " << key << ": " << text_of(m[key]) << "\n";
    for (const char* group : {"libraries", "cpu", "onednn", "seeds"}) {
      if (!m.contains(group)) continue;
      std::cout << "  " << group << ":";
      for (const auto& [k, v] : m[group].items()) {
        if (v.is_object()) {
          std::string on;
          for (const auto& [feature, present] : v.items())
            if (present.is_boolean() && present.get<bool>()) on += " " + feature;
          std::cout << " " << k << " [" << (on.empty() ? " none" : on) << " ]";
        } else {
          std::cout << " " << k << " " << text_of(v) << ";";
        }
      }
      std::cout << "\n";
    }
    if (m.contains("op_paths") && !m["op_paths"].empty()) {
      // One line per op and implementation, with how many shapes took it
      // (--json lists every shape).
      std::vector<std::pair<std::string, int>> kernels;
      for (const auto& p : m["op_paths"]) {
        const std::string line = text_of(p);
        const auto bracket = line.find(" [");
        const auto colon = line.rfind(": ");
        const std::string key = bracket != std::string::npos && colon != std::string::npos
                                    ? line.substr(0, bracket) + ": " + line.substr(colon + 2)
                                    : line;
        auto it = std::find_if(kernels.begin(), kernels.end(),
                               [&](const auto& k) { return k.first == key; });
        if (it == kernels.end())
          kernels.emplace_back(key, 1);
        else
          ++it->second;
      }
      std::cout << "  kernels:\n";
      for (const auto& [key, shapes] : kernels)
        std::cout << "    " << key << " (" << shapes << (shapes == 1 ? " shape" : " shapes") << ")\n";
    }
  });
}

}  // namespace

void add_runs_commands(CLI::App& app) {
  auto* runs = app.add_subcommand("runs", "Recorded runs: list, show, delete, export metrics");
  runs->require_subcommand(1);
  add_list(runs);
  add_show(runs);
  add_delete(runs);
  add_metrics(runs);
  add_runs_numerics_command(runs);
  add_manifest(runs);
}

}  // namespace mantissa::cli
