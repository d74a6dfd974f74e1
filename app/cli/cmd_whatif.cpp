// mantissa whatif RUN [scaler settings] [--search] [--json]: a loss-scaler
// setting replayed on the steps a run recorded (whatif.hpp), beside what the
// run did; from an fp32 or bf16 run, what fp16's scaler would have done.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "mantissa/store.hpp"
#include "mantissa/units.hpp"
#include "mantissa/train_job.hpp"
#include "mantissa/whatif.hpp"

namespace mantissa::cli {

namespace {

std::string percent(std::int64_t part, std::size_t whole) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << (whole ? 100.0 * double(part) / double(whole) : 0.0)
    << " %";
  return o.str();
}

nlohmann::ordered_json replay_json(const ScalerReplay& r, Policy policy, const LossScaleConfig& c,
                                   bool with_steps) {
  nlohmann::ordered_json j;
  j["settings"] = describe_scaler(policy, c);
  j["skipped"] = r.skipped;
  j["steps"] = r.steps.size();
  j["wasted_fraction"] = r.wasted_fraction();
  j["final_scale"] = r.final_scale;
  j["first_difference"] = r.first_difference ? nlohmann::ordered_json(*r.first_difference) : nullptr;
  j["first_undecided"] = r.first_undecided ? nlohmann::ordered_json(*r.first_undecided) : nullptr;
  j["first_applied_overflow"] =
      r.first_applied_overflow ? nlohmann::ordered_json(*r.first_applied_overflow) : nullptr;
  j["knife_edge_steps"] = r.knife_edge;
  j["powers_of_two"] = r.powers_of_two;
  if (with_steps) {
    auto& steps = j["per_step"] = nlohmann::ordered_json::array();
    for (const ScalerReplayStep& s : r.steps)
      steps.push_back({{"step", s.step},
                       {"scale", s.scale},
                       {"overflow", s.overflow},
                       {"skipped", s.skipped},
                       {"margin_log2", std::isnan(s.margin_log2) ? nlohmann::ordered_json(nullptr)
                                                                 : nlohmann::ordered_json(s.margin_log2)},
                       {"decided", s.decided}});
  }
  return j;
}

void print_replay(const char* label, const ScalerReplay& r, Policy policy, const LossScaleConfig& c) {
  std::cout << "  " << label << describe_scaler(policy, c) << "\n      " << r.skipped << " of "
            << r.steps.size() << " steps skipped (" << percent(r.skipped, r.steps.size())
            << "), final scale " << loss_scale_text(r.final_scale) << ", " << r.knife_edge
            << " steps within one binade of overflow\n";
}

}  // namespace

void add_whatif_command(CLI::App& app) {
  struct Flags {
    std::string db;
    std::int64_t run = 0;
    std::optional<std::string> mode;
    std::optional<double> init_scale, growth_factor, backoff_factor, min_scale, max_scale;
    std::optional<long> growth_interval;
    bool search = false;
    bool json = false;
    bool branch = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "whatif",
      "Replay other loss-scaler settings on a run's recorded steps: predicted scale path and "
      "skips (exact up to the first step whose skip decision differs)");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  cmd->add_option("--mode", f->mode, "Loss scaling: none, fixed or dynamic (default: the run's)");
  cmd->add_option("--init-scale", f->init_scale, "Initial scale (fixed: the scale)")
      ->check(number_above_zero());
  cmd->add_option("--growth-factor", f->growth_factor, "Dynamic: growth factor")
      ->check(number_in(1.0, 1e6));
  cmd->add_option("--backoff-factor", f->backoff_factor, "Dynamic: backoff factor")
      ->check(number_in(1e-6, 1.0));
  cmd->add_option("--growth-interval", f->growth_interval, "Dynamic: clean steps before growing")
      ->check(number_above_zero());
  cmd->add_option("--min-scale", f->min_scale, "Dynamic: smallest scale")->check(number_above_zero());
  cmd->add_option("--max-scale", f->max_scale, "Dynamic: largest scale")->check(number_above_zero());
  cmd->add_flag("--search", f->search,
                "Also search initial scales 2^0..2^24 and growth intervals for the fewest skips");
  add_database_option(cmd, f->db);
  cmd->add_flag("--branch", f->branch,
                "Train these settings as a child run, from the run's newest checkpoint before the "
                "first differing step, and check the prediction against it");
  cmd->add_flag("--json", f->json, "Print JSON, with the predicted scale of every step");
  cmd->callback([f] {
    RunStore store(existing_database(f->db),
                   StoreOptions::reading());
    const RunRecord r = store.require_run(f->run);
    const Project project =
        parse_project(r.project_json, "run " + std::to_string(f->run) + " (project snapshot)");
    const Policy run_policy = project.training.policy;
    // An fp16 run replays its own scaler; any other asks what fp16's would do.
    const bool fp16 = run_policy == Policy::MixedFloat16 || run_policy == Policy::Float16;
    const Policy policy = fp16 ? run_policy : Policy::MixedFloat16;
    const LossScaleConfig own = project.training.loss_scale;
    LossScaleConfig c = fp16 ? own : LossScaleConfig{};
    if (f->mode) c.mode = parse_loss_scale_mode(*f->mode);
    if (f->init_scale) c.init_scale = *f->init_scale;
    if (f->growth_factor) c.growth_factor = *f->growth_factor;
    if (f->backoff_factor) c.backoff_factor = *f->backoff_factor;
    if (f->growth_interval) c.growth_interval = *f->growth_interval;
    if (f->min_scale) c.min_scale = *f->min_scale;
    if (f->max_scale) c.max_scale = *f->max_scale;
    if (c.min_scale && c.max_scale && *c.max_scale < *c.min_scale)
      throw InputError("--max-scale (" + loss_scale_text(*c.max_scale) + ") must not be below " +
                       "--min-scale (" + loss_scale_text(*c.min_scale) + ")");

    // The stored steps: those with histograms for underflow; all of them
    // for an fp32 or bf16 run's forward overflows.
    std::vector<NumericsSample> samples, stored;
    for (const RunStore::NumericsStep& n : store.numerics_steps(f->run))
      if (n.histograms || !fp16)
        if (auto s = store.numerics_sample(f->run, n.step)) {
          if (!fp16) stored.push_back(*s);
          if (n.histograms) samples.push_back(std::move(*s));
        }
    const std::vector<NumericsSlot> slots = store.numerics_slots(f->run);
    const std::vector<StepMetrics> steps = store.step_metrics(f->run);
    if (steps.empty()) throw InputError("run " + std::to_string(f->run) + " recorded no steps");
    const ScalerReplay replay = replay_scaler(steps, policy, c);
    // The record's own check: the run's settings must give back what it did.
    std::optional<ScalerReplay> check;
    if (fp16) check = replay_scaler(steps, run_policy, own);
    std::optional<ScalerSearch> found;
    if (f->search) {
      const long intervals[] = {c.growth_interval, 10, 50, 200, 1000, 2000};
      found = search_scaler(steps, policy, c, intervals);
    }

    // A branch that trains the settings, checked against the prediction.
    std::optional<BranchPlan> branch;
    std::optional<BranchCheck> verified;
    std::int64_t branch_id = 0;
    if (f->branch) {
      if (!fp16)
        throw InputError("--branch verifies a replay of run " + std::to_string(f->run) +
                         "'s own scaler; it trained under " + std::string(policy_name(run_policy)) +
                         ": train the project under mixed_float16 to see what fp16 does");
      branch = branch_request(store, f->run, c, replay);
      TrainJob job = branch->request;
      job.database = existing_database(f->db);
      job.options.warmup_steps_excluded = kWarmupStepsExcluded;
      ProgressDisplay display;
      display.begin_run(true);
      const JobResult done = run_job(job, display);
      if (done.summary.outcome == RunOutcome::Failed) throw Error(done.summary.error);
      branch_id = done.run_id;
      RunStore reread(*job.database, StoreOptions::reading());
      verified = check_branch(replay, reread.step_metrics(branch_id));
    }

    const UnderflowEstimate under = estimate_underflow(replay, samples, slots);
    const std::vector<ForwardOverflow> forward = fp16_forward_overflows(stored, slots);
    if (f->json) {
      nlohmann::ordered_json j;
      j["run"] = f->run;
      j["policy"] = std::string(policy_name(run_policy));
      j["replayed_as"] = std::string(policy_name(policy));
      j["recorded_skipped"] = replay.recorded_skipped;
      j["replay"] = replay_json(replay, policy, c, true);
      if (!fp16) {
        auto& fw = j["fp16_forward_overflows"] = nlohmann::ordered_json::array();
        for (const ForwardOverflow& o : forward)
          fw.push_back({{"tensor", o.tensor}, {"amax", o.amax}, {"first_step", o.first_step}});
      }
      j["underflow"] = {{"stored_steps_read", under.steps},
                        {"recorded", under.recorded},
                        {"predicted", under.predicted}};
      if (check) {
        j["own_settings"] = replay_json(*check, run_policy, own, false);
        j["own_settings"]["reproduces_run"] = !check->first_difference.has_value();
      }
      if (verified) {
        j["branch"] = {{"run", branch_id},
                       {"from_step", branch->from_step},
                       {"compared", verified->compared},
                       {"exact_steps", verified->exact_steps},
                       {"exact_mismatches", verified->exact_mismatches},
                       {"scale_mismatches", verified->scale_mismatches},
                       {"predicted_skips", verified->predicted_skips},
                       {"actual_skips", verified->actual_skips},
                       {"verified", verified->verified()}};
      }
      if (found) {
        j["search"] = replay_json(found->replay, policy, found->best, false);
        j["search"]["init_scale"] = found->best.init_scale;
        j["search"]["growth_interval"] = found->best.growth_interval;
        j["search"]["tried"] = found->tried;
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "Loss-scaler what-if on run " << f->run << " (" << policy_name(run_policy) << ", "
              << steps.size() << " steps recorded";
    if (!fp16) std::cout << "; as mixed_float16 would have run it";
    std::cout << ")\n  recorded: " << replay.recorded_skipped << " steps skipped ("
              << percent(replay.recorded_skipped, steps.size()) << ")\n";
    if (check) {
      if (check->first_difference)
        std::cout << "  note: the run's own settings do not replay what it did (from step "
                  << *check->first_difference
                  << "): an overflow the record does not see; treat the replay as an estimate\n";
      else
        std::cout << "  the run's own settings replay its scale path and skips exactly\n";
    }
    print_replay("replayed: ", replay, policy, c);
    if (!fp16)
      std::cout << "      an estimate: the run's gradients were "
                << (run_policy == Policy::Float32 ? "fp32" : "16-bit but not fp16")
                << ", measured as they were\n";
    else if (replay.first_difference)
      std::cout << "      exact up to step " << *replay.first_difference
                << ", where it first decides otherwise than the run; an estimate after it\n";
    else
      std::cout << "      every skip decision as the run's: exact throughout\n";
    if (under.steps > 0)
      std::cout << "      underflow (values fp16 flushes to zero, from " << under.steps
                << " stored steps): " << std::fixed << std::setprecision(3)
                << 100.0 * under.predicted << " % against the run's " << 100.0 * under.recorded
                << " %\n"
                << std::defaultfloat;
    if (replay.first_undecided)
      std::cout << "      from step " << *replay.first_undecided
                << " the record cannot decide every step (not measured at that scale)\n";
    if (replay.first_applied_overflow)
      std::cout << "      step " << *replay.first_applied_overflow
                << " would apply non-finite gradients (this scaler does not skip): the weights "
                   "would be ruined there\n";
    if (!replay.powers_of_two)
      std::cout << "      scales that are not powers of two: exact only to the rounding of the "
                   "scaled tensors\n";
    if (!fp16) {
      if (forward.empty())
        std::cout << "  forward pass: no stored activation reaches 65,520 (fp16's overflow)\n";
      else
        for (const ForwardOverflow& o : forward)
          std::cout << "  forward pass: " << o.tensor << " reaches " << o.amax
                    << " (first at stored step " << o.first_step
                    << "): past fp16's range whatever the scale (pin it, or keep bf16)\n";
    }
    if (found) {
      std::cout << "  best of " << found->tried << " settings searched:\n";
      print_replay("  ", found->replay, policy, found->best);
    }
    if (verified) {
      std::cout << "  branch: run " << branch_id << ", trained from "
                << (branch->from_step > 0 ? "run " + std::to_string(f->run) +
                                                "'s checkpoint at step " +
                                                std::to_string(branch->from_step)
                                          : std::string("the start"))
                << ": " << verified->actual_skips << " steps skipped over steps "
                << branch->from_step + 1 << "-" << steps.back().step << " (predicted "
                << verified->predicted_skips << ")\n";
      if (verified->verified())
        std::cout << "      every skip decision and scale over the " << verified->exact_steps
                  << " steps where the replay is exact came out as predicted\n";
      else
        std::cout << "      NOT as predicted: " << verified->exact_mismatches
                  << " skip decision(s) and " << verified->scale_mismatches
                  << " scale(s) differ where the replay is exact\n";
    }
  });
}

}  // namespace mantissa::cli
