// mantissa advise RUN [--json]: findings over a run's stored record, each
// with its evidence and fixes (advice.hpp); --try N [--fix K] trains fix K of
// finding N as a child run linked to RUN, from the same initial weights and
// batches, and compares it with RUN over the same steps.
#include <cmath>
#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "mantissa/advice.hpp"
#include "mantissa/error.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_job.hpp"

namespace mantissa::cli {

namespace {

nlohmann::ordered_json finding_json(const Finding& f) {
  nlohmann::ordered_json j;
  j["rule"] = f.rule;
  j["evidence"] = f.evidence;
  auto& fixes = j["fixes"] = nlohmann::ordered_json::array();
  for (const Fix& x : f.fixes) {
    nlohmann::ordered_json fx;
    fx["title"] = x.title;
    fx["why"] = x.why;
    fx["pin"] = x.pin;
    fx["policy"] = x.policy ? nlohmann::ordered_json(std::string(policy_name(*x.policy)))
                            : nlohmann::ordered_json(nullptr);
    if (x.scaler) {
      TrainingSpec t;
      t.policy = x.policy.value_or(Policy::MixedFloat16);
      t.loss_scale = *x.scaler;
      fx["scaler"] = nlohmann::ordered_json::parse(loss_scale_json(t));
    } else {
      fx["scaler"] = nullptr;
    }
    fixes.push_back(std::move(fx));
  }
  return j;
}

nlohmann::ordered_json trial_json(const FixTrial& t, const std::optional<FixComparison>& c) {
  nlohmann::ordered_json j;
  j["run"] = t.run_id;
  j["rule"] = t.rule;
  j["fix"] = t.fix;
  j["decision"] = t.decision.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(t.decision);
  j["outcome"] = c ? c->sentence() : t.outcome;
  return j;
}

}  // namespace

void add_advise_command(CLI::App& app) {
  struct Flags {
    std::string db;
    std::int64_t run = 0;
    std::optional<int> try_finding;
    int fix = 1;
    std::optional<std::int64_t> steps;
    std::optional<std::int64_t> accept, reject;
    bool control = false;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "advise", "What a run's record says to change (overflowing layers, the loss scaler, "
                "underflow), with evidence; --try trains a fix as a linked child run");
  cmd->add_option("run", f->run, "Run id")->required()->check(run_id_number());
  cmd->add_option("--try", f->try_finding, "Train a fix of finding N (1-based) as a child run")
      ->check(number_above_zero());
  cmd->add_option("--fix", f->fix, "Which of the finding's fixes (default: 1, the first)")
      ->check(number_above_zero());
  cmd->add_option("--steps", f->steps, "Steps of the child run (default: the run's)")
      ->check(number_above_zero());
  cmd->add_flag("--control", f->control,
                "With --try: also train a control branch (the run unchanged, from the same "
                "checkpoint, the same steps) and compare the fix with it instead of with the "
                "run's own record");
  auto* accept = cmd->add_option("--accept", f->accept,
                                 "Accept the fix child run CHILD of RUN (stored with its outcome; "
                                 "later advice cites it)");
  cmd->add_option("--reject", f->reject, "Reject the fix child run CHILD of RUN")->excludes(accept);
  add_database_option(cmd, f->db);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f] {
    const std::filesystem::path db = existing_database(f->db);
    if (f->accept || f->reject) {
      const std::int64_t child = f->accept ? *f->accept : *f->reject;
      RunStore store(db);
      const std::vector<FixTrial> trials = store.fix_trials(f->run);
      if (std::none_of(trials.begin(), trials.end(),
                       [&](const FixTrial& t) { return t.run_id == child; }))
        throw InputError("run " + std::to_string(child) + " is no fix tried for run " +
                         std::to_string(f->run) + " (mantissa advise " + std::to_string(f->run) +
                         " lists them)");
      const FixComparison c = compare_fix(store, child);
      const std::string decision = f->accept ? "accepted" : "rejected";
      store.decide_fix(child, decision, c.sentence());
      std::cout << "Fix run " << child << " " << decision << ": " << c.sentence() << "\n";
      return;
    }
    RunEvidence evidence;
    {
      RunStore store(db, StoreOptions::reading());
      evidence = read_run_evidence(store, f->run);
    }
    const std::vector<Finding> findings = advise(evidence);

    if (!f->try_finding) {
      // The fixes already tried for this run, each against its control.
      std::vector<std::pair<FixTrial, std::optional<FixComparison>>> tried;
      {
        RunStore store(db, StoreOptions::reading());
        for (const FixTrial& t : store.fix_trials(f->run)) {
          std::optional<FixComparison> c;
          try {
            c = compare_fix(store, t.run_id);
          } catch (const Error&) {
            // A child without steps yet: listed without its comparison.
          }
          tried.emplace_back(t, c);
        }
      }
      if (f->json) {
        nlohmann::ordered_json j;
        j["run"] = f->run;
        auto& arr = j["findings"] = nlohmann::ordered_json::array();
        for (const Finding& x : findings) arr.push_back(finding_json(x));
        auto& ts = j["tried"] = nlohmann::ordered_json::array();
        for (const auto& [t, c] : tried) ts.push_back(trial_json(t, c));
        std::cout << j.dump(2) << "\n";
        return;
      }
      // The fixes tried, after the findings (or alone).
      const auto print_tried = [&] {
        if (!tried.empty()) std::cout << "\n";
        for (const auto& entry : tried) {
          const FixTrial& t = entry.first;
          const std::optional<FixComparison>& c = entry.second;
          std::cout << "Tried for run " << f->run << ": run " << t.run_id << " [" << t.rule
                    << "] " << t.fix << ": " << (c ? c->sentence() : t.outcome) << " — "
                    << (t.decision.empty() ? "not decided (--accept " + std::to_string(t.run_id) +
                                                 " or --reject " + std::to_string(t.run_id) + ")"
                                           : t.decision)
                    << "\n";
        }
      };
      if (findings.empty()) {
        std::cout << "Run " << f->run
                  << ": nothing to fix that its record shows (no overflow the scale cannot "
                     "help, no burst of early skips, little underflow)\n";
        print_tried();
        return;
      }
      std::cout << "Run " << f->run << " (" << policy_name(evidence.project.training.policy)
                << ", " << evidence.steps.size() << " steps):\n";
      for (std::size_t i = 0; i < findings.size(); ++i) {
        std::cout << "\n" << i + 1 << ". [" << findings[i].rule << "] " << findings[i].evidence
                  << "\n";
        for (std::size_t k = 0; k < findings[i].fixes.size(); ++k)
          std::cout << "   fix " << k + 1 << ": " << findings[i].fixes[k].title << "\n          "
                    << findings[i].fixes[k].why << "\n";
      }
      if (std::any_of(findings.begin(), findings.end(),
                      [](const Finding& x) { return !x.fixes.empty(); }))
        std::cout << "\nTry one as a linked child run: mantissa advise " << f->run
                  << " --try N [--fix K]\n";
      print_tried();
      return;
    }

    const int n = *f->try_finding;
    if (n > int(findings.size()))
      throw InputError("run " + std::to_string(f->run) + " has " +
                       std::to_string(findings.size()) + " finding(s); there is no finding " +
                       std::to_string(n));
    const Finding& finding = findings[std::size_t(n - 1)];
    if (finding.fixes.empty())
      throw InputError("finding " + std::to_string(n) + " (" + finding.rule +
                       ") offers no fix to try");
    if (f->fix > int(finding.fixes.size()))
      throw InputError("finding " + std::to_string(n) + " offers " +
                       std::to_string(finding.fixes.size()) + " fix(es); there is no fix " +
                       std::to_string(f->fix));
    const Fix& fix = finding.fixes[std::size_t(f->fix - 1)];
    BranchPlan plan;
    {
      RunStore store(db, StoreOptions::reading());
      plan = fix_request(store, f->run, finding, fix, f->steps.value_or(0));
    }
    const std::int64_t steps = plan.request.project.training.steps.value_or(0);
    TrainJob job = plan.request;
    job.options.warmup_steps_excluded = kWarmupStepsExcluded;
    job.database = db;
    ProgressDisplay display;
    // A control branch: the run's own project from the same point, for the
    // same steps, its scaler as the checkpoint left it; no trial of a fix.
    std::int64_t control_run = 0;
    if (f->control) {
      TrainJob control = job;
      control.project = evidence.project;
      control.project.training.steps = steps;
      control.options.scaler_state.reset();
      control.new_run = new_run_record(control.project, "run " + std::to_string(f->run) +
                                                            " control branch for: " + fix.title);
      control.new_run.parent_run_id = f->run;
      control.new_run.notes = "Control branch of run " + std::to_string(f->run) +
                              " for the fix '" + fix.title + "' (the run unchanged).";
      display.begin_run(false);
      const JobResult c = run_job(control, display);
      if (c.summary.outcome == RunOutcome::Failed) throw Error(c.summary.error);
      control_run = c.run_id;
    }
    display.begin_run(false);
    const JobResult r = run_job(job, display);
    if (r.summary.outcome == RunOutcome::Failed) throw Error(r.summary.error);

    // Against the control: the control branch, else the run's own record
    // over the same steps.
    FixComparison cmp;
    {
      RunStore store(db, StoreOptions::reading());
      cmp = control_run ? compare_fix(control_run, store.step_metrics(control_run), r.run_id,
                                      store.step_metrics(r.run_id))
                        : compare_fix(store, r.run_id);
    }
    const std::string outcome = cmp.sentence();
    {
      RunStore store(db);
      store.set_notes(r.run_id, job.new_run.notes + " Outcome: " + outcome + ".");
    }
    if (f->json) {
      nlohmann::ordered_json j;
      j["run"] = f->run;
      j["child_run"] = r.run_id;
      j["finding"] = finding_json(finding);
      j["fix"] = fix.title;
      j["steps"] = steps;
      j["control_run"] = control_run ? nlohmann::ordered_json(control_run) : nlohmann::ordered_json(nullptr);
      j["skipped"] = cmp.child_skips;
      j["run_skipped"] = cmp.control_skips;
      j["mean_loss_tail"] = std::isfinite(cmp.child_loss) ? nlohmann::ordered_json(cmp.child_loss)
                                                          : nlohmann::ordered_json(nullptr);
      j["run_mean_loss_tail"] = std::isfinite(cmp.control_loss)
                                    ? nlohmann::ordered_json(cmp.control_loss)
                                    : nlohmann::ordered_json(nullptr);
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "run " << r.run_id << " (child of run " << f->run << ", " << fix.title
              << "): " << outcome << "\n";
  });
}

}  // namespace mantissa::cli
