// mantissa advise RUN [--json]: findings over a run's stored record, each
// with its evidence and fixes (advice.hpp); --try N [--fix K] trains fix K of
// finding N as a child run linked to RUN, from the same initial weights and
// batches, and compares it with RUN over the same steps.
#include <cmath>
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

// Mean loss over the steps both runs applied, from `from` (1-based) on.
double mean_loss(const std::vector<StepMetrics>& steps, std::int64_t from, std::int64_t upto) {
  double sum = 0;
  int n = 0;
  for (const StepMetrics& m : steps)
    if (m.step >= from && m.step <= upto && !m.skipped && std::isfinite(m.loss)) {
      sum += m.loss;
      ++n;
    }
  return n ? sum / n : std::nan("");
}

}  // namespace

void add_advise_command(CLI::App& app) {
  struct Flags {
    std::string db;
    std::int64_t run = 0;
    std::optional<int> try_finding;
    int fix = 1;
    std::optional<std::int64_t> steps;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "advise", "What a run's record says to change (overflowing layers, the loss scaler, "
                "underflow), with evidence; --try trains a fix as a linked child run");
  cmd->add_option("run", f->run, "Run id")->required();
  cmd->add_option("--try", f->try_finding, "Train a fix of finding N (1-based) as a child run")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--fix", f->fix, "Which of the finding's fixes (default: 1, the first)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--steps", f->steps, "Steps of the child run (default: the run's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--db", f->db,
                  "Run database (default: $MANTISSA_DB or ~/.local/share/mantissa/runs.db)");
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([f] {
    const std::filesystem::path db =
        f->db.empty() ? default_database_path() : std::filesystem::path(f->db);
    RunEvidence evidence;
    {
      RunStore store(db, StoreOptions::reading());
      evidence = read_run_evidence(store, f->run);
    }
    const std::vector<Finding> findings = advise(evidence);

    if (!f->try_finding) {
      if (f->json) {
        nlohmann::ordered_json j;
        j["run"] = f->run;
        auto& arr = j["findings"] = nlohmann::ordered_json::array();
        for (const Finding& x : findings) arr.push_back(finding_json(x));
        std::cout << j.dump(2) << "\n";
        return;
      }
      if (findings.empty()) {
        std::cout << "Run " << f->run
                  << ": nothing to fix that its record shows (no overflow the scale cannot "
                     "help, no burst of early skips, little underflow)\n";
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
      std::cout << "\nTry one as a linked child run: mantissa advise " << f->run
                << " --try N [--fix K]\n";
      return;
    }

    const int n = *f->try_finding;
    if (n > int(findings.size()))
      throw InputError("run " + std::to_string(f->run) + " has " +
                       std::to_string(findings.size()) + " finding(s); there is no finding " +
                       std::to_string(n));
    const Finding& finding = findings[std::size_t(n - 1)];
    if (f->fix > int(finding.fixes.size()))
      throw InputError("finding " + std::to_string(n) + " offers " +
                       std::to_string(finding.fixes.size()) + " fix(es); there is no fix " +
                       std::to_string(f->fix));
    const Fix& fix = finding.fixes[std::size_t(f->fix - 1)];
    Project child = apply_fix(evidence.project, fix);
    const std::int64_t steps = f->steps.value_or(std::int64_t(evidence.steps.size()));
    child.training.steps = steps;

    TrainJob job;
    job.project = child;
    job.backend = child.training.backend;
    job.options.warmup_steps_excluded = kWarmupStepsExcluded;
    job.database = db;
    job.new_run = new_run_record(child, "run " + std::to_string(f->run) + " + " + fix.title);
    job.new_run.parent_run_id = f->run;
    job.new_run.notes = "Fix tried for run " + std::to_string(f->run) + " [" + finding.rule +
                        "]: " + finding.evidence + ". Fix: " + fix.title + ".";
    ProgressDisplay display;
    display.begin_run(false);
    const JobResult r = run_job(job, display);
    if (r.summary.outcome == RunOutcome::Failed) throw Error(r.summary.error);

    // Against the run, over the same steps.
    std::vector<StepMetrics> child_steps;
    {
      RunStore store(db, StoreOptions::reading());
      child_steps = store.step_metrics(r.run_id);
    }
    std::int64_t parent_skips = 0, child_skips = 0;
    for (const StepMetrics& m : evidence.steps)
      if (m.step <= steps && m.skipped) ++parent_skips;
    for (const StepMetrics& m : child_steps)
      if (m.skipped) ++child_skips;
    const std::int64_t tail = std::max<std::int64_t>(1, steps - steps / 5);
    const double parent_loss = mean_loss(evidence.steps, tail, steps);
    const double child_loss = mean_loss(child_steps, tail, steps);
    const std::string outcome =
        "skipped " + std::to_string(child_skips) + " of " + std::to_string(child_steps.size()) +
        " steps (run " + std::to_string(f->run) + ": " + std::to_string(parent_skips) +
        "); mean loss over steps " + std::to_string(tail) + "-" + std::to_string(steps) + ": " +
        fixed(child_loss, 4) + " (run " + std::to_string(f->run) + ": " + fixed(parent_loss, 4) +
        ")";
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
      j["skipped"] = child_skips;
      j["run_skipped"] = parent_skips;
      j["mean_loss_tail"] = std::isfinite(child_loss) ? nlohmann::ordered_json(child_loss)
                                                      : nlohmann::ordered_json(nullptr);
      j["run_mean_loss_tail"] = std::isfinite(parent_loss) ? nlohmann::ordered_json(parent_loss)
                                                           : nlohmann::ordered_json(nullptr);
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "run " << r.run_id << " (child of run " << f->run << ", " << fix.title
              << "): " << outcome << "\n";
  });
}

}  // namespace mantissa::cli
