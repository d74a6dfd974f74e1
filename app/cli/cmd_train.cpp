// mantissa train PROJECT, resume RUN, compare PROJECT --policies ...: training
// from the command line, every run recorded in the run database.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/train_ranks.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "mantissa/names.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/resume.hpp"
#include "mantissa/store.hpp"
#include "mantissa/version.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa::cli {

namespace {
std::vector<std::string> g_invocation;
}  // namespace

void set_invocation(int argc, char** argv) { g_invocation.assign(argv, argv + argc); }
const std::vector<std::string>& invocation() { return g_invocation; }

namespace {

using Json = nlohmann::ordered_json;

// The settings `train` and `compare` share; each is applied only when given.
struct TrainFlags {
  std::string project;
  std::string policy;
  std::string loss_scale;
  double init_scale = 0;
  int epochs = 0;
  std::int64_t steps = 0;
  std::int64_t batch = 0;
  double lr = 0;
  std::uint64_t seed = 0;
  std::string backend;
  std::string db;
  std::string name;
  bool json = false;
  std::int64_t checkpoint_every = 0;
  int virtual_ranks = 1;
  bool sync_batch_norm = false;
  double checkpoint_seconds = 0;
  bool no_store = false;
  bool tf32 = false;
  bool no_graphs = false;
  std::string init_weights;  // safetensors file to start from
  bool noise_twin = false;   // train: every initial weight one ulp up
  std::string policies;      // compare

  // Which options were given (CLI11 counts them).
  std::vector<std::pair<std::string, CLI::Option*>> given;
  bool has(const std::string& flag) const {
    for (const auto& [given_flag, opt] : given)
      if (given_flag == flag) return opt->count() > 0;
    return false;
  }
};

void add_override_options(CLI::App* cmd, TrainFlags& f, bool with_policy) {
  auto add = [&](const std::string& flag, CLI::Option* opt) { f.given.emplace_back(flag, opt); };
  if (with_policy)
    add("--policy", cmd->add_option("--policy", f.policy,
                                    "Precision policy: float32, mixed_float16, mixed_bfloat16, "
                                    "float16, bfloat16 (aliases fp32, fp16, bf16)"));
  add("--loss-scale",
      cmd->add_option("--loss-scale", f.loss_scale, "Loss scaling: none, dynamic or fixed:S"));
  add("--init-scale",
      cmd->add_option("--init-scale", f.init_scale, "Initial loss scale for dynamic scaling"));
  auto* epochs = cmd->add_option("--epochs", f.epochs, "Train for N epochs");
  auto* steps = cmd->add_option("--steps", f.steps, "Train for N steps (instead of epochs)");
  epochs->excludes(steps);
  add("--epochs", epochs);
  add("--steps", steps);
  add("--batch", cmd->add_option("--batch", f.batch, "Batch size"));
  add("--lr", cmd->add_option("--lr", f.lr, "Learning rate"));
  add("--seed", cmd->add_option("--seed", f.seed, "Seed for initial weights and data order")
                    ->check(whole_number_at_least_zero()));
  add("--backend", cmd->add_option("--backend", f.backend, "Device: cpu, cuda, cuda:N"));
  add("--tf32", cmd->add_flag("--tf32", f.tf32,
                              "Let float32 matmuls and convolutions use TF32 on the GPU "
                              "(faster, 10-bit mantissa products; off by default)"));
  add("--no-graphs",
      cmd->add_flag("--no-graphs", f.no_graphs,
                    "Run every op of every step as it is called instead of replaying a "
                    "captured step (CUDA graphs)"));
  add("--checkpoint-every",
      cmd->add_option("--checkpoint-every", f.checkpoint_every,
                      "Store a checkpoint every N steps (one is always stored at the end)"));
  add("--virtual-ranks",
      cmd->add_option("--virtual-ranks", f.virtual_ranks,
                      "Cut each batch into K shards and sum their gradients in fp32 in order "
                      "(gradient accumulation; the data-parallel step of PRECISION.md in one "
                      "process)"));
  add("--sync-batch-norm",
      cmd->add_flag("--sync-batch-norm", f.sync_batch_norm,
                    "Data-parallel runs: BatchNorm statistics over every rank's rows together, "
                    "as one process with the whole batch (CPU ranks; default: per rank)"));
  add("--checkpoint-seconds",
      cmd->add_option("--checkpoint-seconds", f.checkpoint_seconds,
                      "Safety checkpoint once this much wall time has passed since the last, so "
                      "that a killed run resumes losing at most that (default 60; 0: none)"));
  add_database_option(cmd, f.db);
  cmd->add_option("--name", f.name, "Name of the run");
  cmd->add_flag("--no-store", f.no_store, "Do not record the run in the database");
  cmd->add_option("--init-weights", f.init_weights,
                  "Start from the weights in this safetensors file (names and shapes must match)");
  cmd->add_flag("--json", f.json, "Print the result as JSON on stdout");
}

double positive_number(const std::string& flag, double v) {
  if (!std::isfinite(v) || v <= 0)
    throw InputError(flag + " must be a positive number, got " + scale_text(v));
  return v;
}

std::int64_t at_least(const std::string& flag, std::int64_t v, std::int64_t min) {
  if (v < min)
    throw InputError(flag + " must be at least " + std::to_string(min) + ", got " +
                     std::to_string(v));
  return v;
}

// none | dynamic | fixed:S (a bare "fixed" keeps the project's scale).
void apply_loss_scale(LossScaleConfig& c, const std::string& text) {
  const auto colon = text.find(':');
  const std::string mode = text.substr(0, colon);
  try {
    c.mode = parse_loss_scale_mode(mode);
  } catch (const InputError& e) {
    throw InputError("--loss-scale: " + std::string(e.what()) + "; write none, dynamic or fixed:S");
  }
  if (colon == std::string::npos) return;
  if (*c.mode != LossScaleMode::Fixed)
    throw InputError("--loss-scale: only fixed takes a value (fixed:S), got '" + text + "'");
  const std::string value = text.substr(colon + 1);
  std::size_t used = 0;
  double s = 0;
  try {
    s = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    throw InputError("--loss-scale: '" + value + "' is not a number in '" + text + "'");
  c.init_scale = positive_number("--loss-scale", s);
}

void apply_overrides(Project& p, const TrainFlags& f) {
  TrainingSpec& t = p.training;
  if (f.has("--policy")) t.policy = parse_policy_flag("--policy", f.policy);
  if (f.has("--loss-scale")) apply_loss_scale(t.loss_scale, f.loss_scale);
  if (f.has("--init-scale"))
    t.loss_scale.init_scale = positive_number("--init-scale", f.init_scale);
  if (f.has("--epochs")) {
    t.epochs = int(at_least("--epochs", f.epochs, 1));
    t.steps.reset();
  }
  if (f.has("--steps")) t.steps = at_least("--steps", f.steps, 1);
  if (f.has("--batch")) t.batch_size = at_least("--batch", f.batch, 1);
  if (f.has("--lr")) t.optimizer.lr = positive_number("--lr", f.lr);
  if (f.has("--seed")) t.seed = f.seed;
  if (f.has("--backend")) t.backend = f.backend;
  if (f.has("--tf32")) t.allow_tf32 = true;
  if (f.has("--no-graphs")) t.capture_graphs = false;
  if (f.has("--checkpoint-every"))
    t.checkpoint_every = at_least("--checkpoint-every", f.checkpoint_every, 0);
  if (f.has("--virtual-ranks")) {
    if (f.virtual_ranks < 1 || f.virtual_ranks > TrainingSpec::kMaxVirtualRanks)
      throw InputError("--virtual-ranks must be from 1 to " +
                       std::to_string(TrainingSpec::kMaxVirtualRanks) + ", got " +
                       std::to_string(f.virtual_ranks));
    t.virtual_ranks = f.virtual_ranks;
  }
  if (f.has("--sync-batch-norm")) t.sync_batch_norm = true;
  if (f.has("--checkpoint-seconds")) {
    if (!(f.checkpoint_seconds >= 0) || !std::isfinite(f.checkpoint_seconds))
      throw InputError("--checkpoint-seconds must be a number of seconds >= 0, got " +
                       std::to_string(f.checkpoint_seconds));
    t.checkpoint_seconds = f.checkpoint_seconds;
  }
  // The ranks and the stored snapshot must find the dataset from wherever
  // they run or the run is resumed. Reading the file already put its folder
  // in front of relative paths, so they are relative to the working directory.
  p.dataset.make_paths_absolute();
}

// The project, from a project file or from exported weights; the latter also
// start the run unless --init-weights names other weights.
Project open_project_flags(TrainFlags& f) {
  std::optional<std::filesystem::path> weights;
  Project p = open_project(f.project, &weights);
  if (weights && f.init_weights.empty()) f.init_weights = weights->string();
  return p;
}

TrainJob make_job(const Project& p, const TrainFlags& f, const std::string& name) {
  // A name given with --name is held to the rule as it is; names built from
  // it (compare's "<name> <policy>") are cut to fit by the store.
  if (const std::string why = name_problem(f.name); !why.empty())
    throw InputError("--name: the name " + why);
  TrainJob job;
  job.project = p;
  job.backend = p.training.backend;
  job.options.warmup_steps_excluded = kWarmupStepsExcluded;
  if (!f.init_weights.empty()) job.options.init_weights = std::filesystem::absolute(f.init_weights);
  if (!f.no_store) job.database = database_path(f.db);
  job.new_run = new_run_record(p, name);
  return job;
}

std::string status_name(const RunSummary& s) {
  return std::string(run_status_name(run_status_of(s.outcome)));
}

Json result_json(const JobResult& r, const Project& p) {
  Json j = {{"run_id", r.run_id ? Json(r.run_id) : Json(nullptr)},
            {"status", status_name(r.summary)},
            {"project", p.name},
            {"policy", policy_name(p.training.policy)},
            {"device", r.device},
            {"total_steps", r.total_steps}};
  j.update(Json::parse(run_summary_json(r.summary)));
  if (r.summary.outcome == RunOutcome::Failed) j["error"] = r.summary.error;
  return j;
}

void print_result(const JobResult& r, bool classify) {
  const RunSummary& s = r.summary;
  const std::string who = r.run_id ? "run " + std::to_string(r.run_id) : std::string("run");
  if (s.outcome == RunOutcome::Failed) return;  // the error is the message main() prints
  if (s.outcome == RunOutcome::Stopped)
    std::cout << who << " stopped at step " << with_thousands(s.steps) << " of "
              << with_thousands(r.total_steps);
  else
    std::cout << who << " finished: " << with_thousands(s.steps) << " steps";
  std::cout << " in " << duration_text(s.wall_time_s) << ", "
            << with_thousands(std::llround(s.samples_per_s)) << " samples/s\n"
            << "  train loss " << fixed(s.final_train_loss, 4) << "  val loss "
            << val_loss_text(s.final_val_loss, s.final_val_accuracy);
  if (classify) std::cout << "  val accuracy " << percent_text(s.final_val_accuracy, 2);
  std::cout << "\n  loss scale " << loss_scale_text(s.final_loss_scale) << "  skipped steps "
            << with_thousands(s.skipped_steps) << "  peak memory " << bytes_text(s.peak_memory)
            << "\n";
  // Outside the steps, so outside samples/s.
  if (s.eval_time_s > 0 || s.checkpoint_time_s > 0)
    std::cout << "  validation " << duration_text(s.eval_time_s) << "  checkpoints "
              << duration_text(s.checkpoint_time_s) << "\n";
  if (s.outcome == RunOutcome::Stopped && r.run_id)
    std::cout << "resume with: mantissa resume " << r.run_id << "\n";
}

bool classifies(const Project& p) {
  for (const auto& l : p.model.layers)
    if (l.kind == LayerKind::SoftmaxCrossEntropy) return true;
  return false;
}

// Prints the outcome; a failed run becomes the command's error.
void finish_command(const JobResult& r, const Project& p, bool json) {
  if (json)
    std::cout << result_json(r, p).dump(2) << "\n";
  else
    print_result(r, classifies(p));
  if (r.summary.outcome == RunOutcome::Failed) throw Error(r.summary.error);
}

// ---- train --------------------------------------------------------------------

void add_train_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand("train", "Train a project and record the run");
  cmd->add_option("project", f->project,
                  "Project file (.json), or weights exported with their project (.safetensors)")
      ->required();
  add_override_options(cmd, *f, true);
  cmd->add_flag("--noise-twin", f->noise_twin,
                "Move every initial weight one ulp (a float32 run: the chaos reference of "
                "`mantissa divergence`)");
  auto ranks = std::make_shared<RankOptions>();
  add_rank_options(cmd, *ranks);
  cmd->callback([f, ranks] {
    Project p = open_project_flags(*f);
    apply_overrides(p, *f);
    TrainJob job = make_job(p, *f, f->name.empty() && f->noise_twin ? "noise twin" : f->name);
    job.options.noise_twin = f->noise_twin;
    run_as_ranks(job, *ranks, f->json,
                 [&](const JobResult& r) { finish_command(r, job.project, f->json); });
  });
}

// ---- resume -------------------------------------------------------------------

void add_resume_command(CLI::App& app) {
  struct Flags {
    std::int64_t run = 0;
    std::string db;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "resume", "Continue a stopped or interrupted run from its latest checkpoint");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print the result as JSON on stdout");
  auto ranks = std::make_shared<RankOptions>();
  add_rank_options(cmd, *ranks);
  cmd->callback([f, ranks] {
    const std::filesystem::path db = existing_database(f->db);
    TrainJob job;
    // Rank 0 reads the checkpoint and broadcasts it; the other ranks only
    // need the project, which the launcher's command line names by run.
    {
      RunStore store(db);  // this thread's connection, closed before the worker opens its own
      job = resume_request(store, f->run);  // passed-over checkpoints become warning events
    }
    job.database = db;
    job.options.warmup_steps_excluded = kWarmupStepsExcluded;
    run_as_ranks(job, *ranks, f->json,
                 [&](const JobResult& r) { finish_command(r, job.project, f->json); });
  });
}

// ---- compare ------------------------------------------------------------------

void print_comparison(const std::vector<std::pair<Project, JobResult>>& runs, bool classify) {
  const JobResult* base = nullptr;
  for (const auto& [p, r] : runs)
    if (p.training.policy == Policy::Float32 && r.summary.outcome != RunOutcome::Failed) base = &r;
  // The accuracy column only for classifiers.
  const auto row = [classify](std::vector<std::string> cells) {
    if (!classify) cells.erase(cells.begin() + 3);
    return cells;
  };
  std::vector<bool> right{false, true, false, true, true, true, true, true, true, true, true};
  if (!classify) right.erase(right.begin() + 3);
  Table t(row({"policy", "run", "status", "val acc", "val loss", "wall time", "samples/s",
               "speed-up", "peak memory", "skipped", "final scale"}),
          right);
  t.rule();
  for (const auto& [p, r] : runs) {
    const RunSummary& s = r.summary;
    const bool failed = s.outcome == RunOutcome::Failed;
    const double base_rate = base ? base->summary.samples_per_s : 0;
    t.add(
        row({std::string(policy_name(p.training.policy)), r.run_id ? std::to_string(r.run_id) : "-",
             status_name(s), failed ? "-" : percent_text(s.final_val_accuracy, 2),
             failed ? "-" : val_loss_text(s.final_val_loss, s.final_val_accuracy), duration_text(s.wall_time_s),
             failed ? "-" : with_thousands(std::llround(s.samples_per_s)),
             base_rate > 0 && !failed ? fixed(s.samples_per_s / base_rate, 2) + "×" : "-",
             failed ? "-" : bytes_text(s.peak_memory), with_thousands(s.skipped_steps),
             failed ? "-" : loss_scale_text(s.final_loss_scale)}));
  }
  t.print(std::cout);
  for (const auto& [p, r] : runs)
    if (r.summary.outcome == RunOutcome::Failed)
      std::cout << policy_name(p.training.policy) << " failed: " << r.summary.error << "\n";
}

void add_compare_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand(
      "compare", "Train a project once per policy from the same weights and data order");
  cmd->add_option("project", f->project,
                  "Project file (.json), or weights exported with their project (.safetensors)")
      ->required();
  cmd->add_option("--policies", f->policies, "Comma-separated policies")
      ->default_val("float32,mixed_float16,mixed_bfloat16");
  add_override_options(cmd, *f, false);
  cmd->callback([f] {
    Project base = open_project_flags(*f);
    apply_overrides(base, *f);
    const std::vector<Policy> policies = parse_policy_list("--policies", f->policies);
    const std::string group = comparison_group(base);
    const std::string prefix = f->name.empty() ? base.name : f->name;

    ProgressDisplay display;
    std::vector<std::pair<Project, JobResult>> runs;
    std::optional<std::int64_t> first_run;
    for (std::size_t i = 0; i < policies.size(); ++i) {
      Project p = base;  // same seed: same initial weights and batches for every policy
      p.training.policy = policies[i];
      TrainJob job = make_job(p, *f, prefix + " " + std::string(policy_name(policies[i])));
      job.new_run.group_name = group;
      job.new_run.parent_run_id = first_run;
      display.note("[" + std::to_string(i + 1) + "/" + std::to_string(policies.size()) + "] " +
                   std::string(policy_name(policies[i])));
      JobResult r = run_job(job, display);
      if (!first_run && r.run_id) first_run = r.run_id;
      runs.emplace_back(std::move(p), std::move(r));
      if (interrupted()) break;
    }

    std::size_t failed = 0;
    for (const auto& [p, r] : runs) failed += r.summary.outcome == RunOutcome::Failed;
    if (f->json) {
      Json out = {{"group", group}, {"runs", Json::array()}};
      for (const auto& [p, r] : runs) out["runs"].push_back(result_json(r, p));
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << "\n"
                << base.name << ": " << runs.size() << " of " << policies.size()
                << " policies, group \"" << group << "\"\n";
      print_comparison(runs, classifies(base));
    }
    if (failed)
      throw Error(
          std::to_string(failed) + " of " + std::to_string(runs.size()) +
          " runs failed; first: " + std::find_if(runs.begin(), runs.end(), [](const auto& pr) {
                                      return pr.second.summary.outcome == RunOutcome::Failed;
                                    })->second.summary.error);
  });
}

}  // namespace

void add_train_commands(CLI::App& app) {
  add_train_command(app);
  add_resume_command(app);
  add_compare_command(app);
}

}  // namespace mantissa::cli
