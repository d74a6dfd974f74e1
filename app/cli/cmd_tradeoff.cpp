// mantissa tradeoff [--group NAME | --project NAME] [--x AXIS] [--y AXIS]
// [--json]: stored runs as points on two axes, grouped by policy and pins,
// with the Pareto frontier (tradeoff.hpp).
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/error.hpp"
#include "mantissa/store.hpp"
#include "mantissa/tradeoff.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cli {

namespace {

const char* kAxes =
    "val_accuracy, val_loss, time_to_target, samples_per_s, peak_memory, wasted_steps, divergence";

TradeoffAxis axis_flag(const std::string& flag, const std::string& key) {
  if (const auto a = parse_axis(key)) return *a;
  throw InputError(flag + ": unknown axis '" + key + "' (valid: " + kAxes + ")");
}

std::string value_text(TradeoffAxis a, double v) {
  switch (a) {
    case TradeoffAxis::ValAccuracy: return percent_text(v, 2);
    case TradeoffAxis::WastedSteps: return percent_text(v, 1);
    case TradeoffAxis::PeakMemory: return bytes_text(v);
    case TradeoffAxis::SamplesPerS: return with_thousands(std::llround(v));
    case TradeoffAxis::TimeToTarget: return duration_text(v);
    case TradeoffAxis::ValLoss: return fixed(v, 4);
    case TradeoffAxis::Divergence: return scale_text(v);
  }
  return fixed(v, 4);
}

std::string spread_text(TradeoffAxis a, double mean, double lo, double hi, int points) {
  std::string s = value_text(a, mean);
  if (points > 1) s += " (" + value_text(a, lo) + " - " + value_text(a, hi) + ")";
  return s;
}

}  // namespace

void add_tradeoff_command(CLI::App& app) {
  struct Flags {
    std::string db;
    std::optional<std::string> group, project;
    std::string x = "samples_per_s", y = "val_accuracy";
    double target = 0.9;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "tradeoff", "Runs grouped by policy (and pins) on two axes, with the Pareto frontier");
  cmd->add_option("--group", f->group, "Only the runs of this comparison group");
  cmd->add_option("--project", f->project, "Only the runs of this project");
  cmd->add_option("--x", f->x, std::string("Horizontal axis: ") + kAxes)->capture_default_str();
  cmd->add_option("--y", f->y, std::string("Vertical axis: ") + kAxes)->capture_default_str();
  cmd->add_option("--target", f->target, "time_to_target: the validation accuracy to reach")
      ->check(number_in(0.0, 1.0))
      ->capture_default_str();
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f] {
    const TradeoffAxis x = axis_flag("--x", f->x), y = axis_flag("--y", f->y);
    RunStore store(existing_database(f->db),
                   StoreOptions::reading());
    RunFilter filter;
    filter.group_name = f->group;
    filter.project_name = f->project;
    const Tradeoff t = load_tradeoff(store, filter, x, y, f->target);
    if (t.groups.empty() && store.list_runs(filter).empty())
      throw InputError(f->group ? "no runs in group '" + *f->group + "'"
                       : f->project ? "no runs of project '" + *f->project + "'"
                                    : std::string("the database holds no runs"));

    if (f->json) {
      nlohmann::ordered_json j;
      j["x"] = std::string(axis_key(x));
      j["y"] = std::string(axis_key(y));
      if (x == TradeoffAxis::TimeToTarget || y == TradeoffAxis::TimeToTarget) j["target"] = f->target;
      auto& groups = j["groups"] = nlohmann::ordered_json::array();
      for (const TradeoffGroup& g : t.groups) {
        nlohmann::ordered_json o;
        o["label"] = g.label;
        o["frontier"] = g.frontier;
        o["dominated_by"] = g.dominated_by ? nlohmann::ordered_json(*g.dominated_by)
                                           : nlohmann::ordered_json(nullptr);
        o["points"] = g.points;
        if (g.points > 0) {
          o["x"] = {{"mean", g.x}, {"min", g.x_min}, {"max", g.x_max}};
          o["y"] = {{"mean", g.y}, {"min", g.y_min}, {"max", g.y_max}};
        }
        auto& rs = o["runs"] = nlohmann::ordered_json::array();
        for (const TradeoffRun& r : g.runs)
          rs.push_back({{"run", r.run_id},
                        {"x", r.x ? nlohmann::ordered_json(*r.x) : nlohmann::ordered_json(nullptr)},
                        {"y", r.y ? nlohmann::ordered_json(*r.y) : nlohmann::ordered_json(nullptr)}});
        auto& ps = o["predicted"] = nlohmann::ordered_json::array();
        for (const TradeoffPrediction& p : g.predicted)
          ps.push_back({{"run", p.run_id}, {"what", p.what}, {"x", p.x}, {"y", p.y}});
        groups.push_back(std::move(o));
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    Table table({"", "policy", "runs", std::string(axis_key(x)), std::string(axis_key(y)), "note"},
                {false, false, true, true, true, false});
    for (const TradeoffGroup& g : t.groups) {
      std::string runs_text;
      for (const TradeoffRun& r : g.runs) runs_text += (runs_text.empty() ? "" : ",") + std::to_string(r.run_id);
      table.add({g.frontier ? "*" : "", g.label, runs_text,
                 g.points ? spread_text(x, g.x, g.x_min, g.x_max, g.points) : "-",
                 g.points ? spread_text(y, g.y, g.y_min, g.y_max, g.points) : "-",
                 g.points == 0         ? (g.predicted.empty() ? "no values on these axes"
                                                              : "predicted only (below)")
                 : g.dominated_by      ? "beaten beyond the spread by " + *g.dominated_by
                                       : "on the frontier"});
    }
    table.print(std::cout);
    bool any = false;
    for (const TradeoffGroup& g : t.groups)
      for (const TradeoffPrediction& p : g.predicted) {
        if (!any) std::cout << "Predicted (drawn hollow in the studio):\n";
        any = true;
        std::cout << "  " << g.label << ", run " << p.run_id << ": " << value_text(x, p.x) << ", "
                  << value_text(y, p.y) << " (" << p.what << ")\n";
      }
    std::cout << "* the Pareto frontier: no other group is better on both axes beyond both "
                 "groups' spread (min - max over replicates)\n";
  });
}

}  // namespace mantissa::cli
