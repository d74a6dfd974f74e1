#include "mantissa/train_job.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <memory>
#include <omp.h>
#include <nlohmann/json.hpp>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/optim.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/resume.hpp"
#include "mantissa/version.hpp"

namespace mantissa {

std::string loss_scale_json(const TrainingSpec& t) {
  const LossScaleConfig& c = t.loss_scale;
  const LossScaleMode mode = effective_mode(t.policy, c);
  nlohmann::ordered_json j = {{"mode", loss_scale_mode_name(mode)}};
  if (mode == LossScaleMode::None) return j.dump();
  j["init_scale"] = initial_scale(t.policy, c);
  if (mode == LossScaleMode::Dynamic) {
    j["growth_factor"] = c.growth_factor;
    j["backoff_factor"] = c.backoff_factor;
    j["growth_interval"] = c.growth_interval;
    if (c.min_scale) j["min_scale"] = *c.min_scale;
    if (c.max_scale) j["max_scale"] = *c.max_scale;
  } else {
    j["skip_nonfinite"] = c.skip_nonfinite;
  }
  return j.dump();
}

NewRun new_run_record(const Project& project, const std::string& name) {
  Project snapshot = project;
  // The run is read again from anywhere (evaluate, resume, export), without
  // the project file: its dataset paths as the trainer resolves them.
  snapshot.dataset.make_paths_absolute(project.dataset_dir());
  snapshot.file.clear();
  NewRun r;
  r.name = name;
  r.project_name = project.name;
  r.project_json = project_to_json(snapshot);
  r.policy = std::string(policy_name(project.training.policy));
  r.loss_scale_json = loss_scale_json(project.training);
  r.library_versions = library_versions();
  r.seed = project.training.seed;
  return r;
}

TrainRequest resume_request(RunStore& store, std::int64_t run_id) {
  ResumePlan plan = plan_resume(store, run_id);
  TrainRequest r;
  r.project = std::move(plan.project);
  r.backend = plan.backend;
  r.resume_run = plan.run_id;
  r.resume_step = plan.from_step;
  if (!plan.checkpoint.empty()) r.options.resume_from = std::move(plan.checkpoint);
  r.resume_notes = std::move(plan.skipped);
  return r;
}

BranchPlan branch_request(RunStore& store, std::int64_t run_id, const LossScaleConfig& settings,
                          const ScalerReplay& replay) {
  const RunRecord run = store.require_run(run_id);
  Project child = parse_project(run.project_json,
                                "run " + std::to_string(run_id) + " (project snapshot)");
  child.training.loss_scale = settings;
  child.training.steps = run.last_step;
  const std::int64_t limit =
      replay.first_difference ? *replay.first_difference : run.last_step + 1;
  BranchPlan plan;
  std::optional<Checkpoint> c = store.checkpoint_before(run_id, limit);
  if (c && std::size_t(c->step) <= replay.steps.size()) {
    const ScalerReplayStep& at = replay.steps[std::size_t(c->step - 1)];
    plan.request.options.resume_from = std::move(c->data);
    plan.request.options.scaler_state =
        TrainOptions::ScalerState{at.scale_after, at.growth_tracker_after, at.consecutive_skips_after};
    plan.from_step = c->step;
  }
  const Policy policy = child.training.policy;
  const std::string scaler = describe_scaler(policy, settings);
  plan.request.project = child;
  plan.request.backend = child.training.backend;
  plan.request.new_run = new_run_record(
      child, "run " + std::to_string(run_id) + " branch: " + scaler);
  plan.request.new_run.parent_run_id = run_id;
  plan.request.new_run.notes =
      "Branch of run " + std::to_string(run_id) + " to verify the loss-scaler what-if (" + scaler +
      "), " +
      (plan.from_step > 0 ? "from its checkpoint at step " + std::to_string(plan.from_step)
                          : std::string("from the start")) +
      ". Predicted: " + std::to_string(replay.skipped) + " skipped steps" +
      (replay.first_difference
           ? ", exact up to step " + std::to_string(*replay.first_difference)
           : std::string(", exact throughout")) +
      ".";
  return plan;
}

BranchPlan fix_request(RunStore& store, std::int64_t run_id, const Finding& finding,
                       const Fix& fix, std::int64_t steps) {
  const RunRecord run = store.require_run(run_id);
  const Project project = parse_project(run.project_json,
                                        "run " + std::to_string(run_id) + " (project snapshot)");
  Project child = apply_fix(project, fix);
  child.training.steps = steps > 0 ? steps : run.last_step;
  BranchPlan plan;
  // The last good checkpoint: before the first step that went wrong. A
  // policy change keeps other masters and state, so it starts over.
  std::int64_t first_bad = 0;
  for (const StepMetrics& m : store.step_metrics(run_id))
    if (m.skipped || !std::isfinite(m.loss)) {
      first_bad = m.step;
      break;
    }
  if (first_bad > 1 && !fix.policy) {
    if (auto c = store.checkpoint_before(run_id, std::min(first_bad, *child.training.steps))) {
      plan.request.options.resume_from = std::move(c->data);
      plan.from_step = c->step;
      if (fix.scaler) {
        // The fix's scaler starts afresh at the checkpoint, as its settings say.
        plan.request.options.scaler_state =
            TrainOptions::ScalerState{initial_scale(child.training.policy, *fix.scaler), 0, 0};
      }
    }
  }
  plan.request.project = child;
  plan.request.backend = child.training.backend;
  plan.request.new_run = new_run_record(child, "run " + std::to_string(run_id) + " + " + fix.title);
  plan.request.new_run.parent_run_id = run_id;
  plan.request.new_run.fix_rule = finding.rule;
  plan.request.new_run.fix_title = fix.title;
  plan.request.new_run.notes =
      "Fix tried for run " + std::to_string(run_id) + " [" + finding.rule + "]: " +
      finding.evidence + ". Fix: " + fix.title + ", " +
      (plan.from_step > 0 ? "from its last good checkpoint, at step " + std::to_string(plan.from_step)
                          : std::string("from the start")) +
      ".";
  return plan;
}

std::string comparison_group(const Project& project) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return project.name + " " + buf;
}

RunSummary run_training(const TrainRequest& request, Backend& backend, MetricsSink& sink,
                        TrainControl& control, const std::function<void(std::int64_t)>& on_run_id) {
  if (request.threads > 0) omp_set_num_threads(request.threads);  // this thread's ICV
  const auto announce = [&](std::int64_t id) {
    if (request.run_id_file) std::ofstream(*request.run_id_file) << id << "\n";
    if (on_run_id) on_run_id(id);
  };
  std::optional<RunStore> store;
  std::optional<RunRecorder> recorder;
  if (request.database) store.emplace(*request.database);
  if (store && !request.resume_run) {
    NewRun run = request.new_run;
    run.backend = backend.name();
    run.device = backend.description();
    recorder.emplace(*store, run);
    announce(recorder->run_id());
  }
  std::unique_ptr<Trainer> trainer;
  try {
    trainer = std::make_unique<Trainer>(request.project, backend, request.options);
  } catch (const std::exception& e) {
    // A resumed run stays as it was, still resumable; a new one is kept as failed.
    if (request.resume_run) throw;
    RunSummary failed;
    failed.outcome = RunOutcome::Failed;
    failed.error =
        dynamic_cast<const Error*>(&e) ? e.what() : std::string("unexpected error: ") + e.what();
    if (recorder) recorder->fail(failed.error);
    return failed;
  }
  if (store && request.resume_run) {
    recorder.emplace(*store, *request.resume_run, request.resume_step);
    announce(*request.resume_run);
  }
  MetricsFanout fanout;
  if (recorder) fanout.add(&*recorder);  // first: the store has each report before the face
  fanout.add(&sink);
  for (const std::string& note : request.resume_notes)
    fanout.event_recorded({request.resume_step, EventKind::Warning, note, 0, 0, "", 0});
  return trainer->run(fanout, control);
}

}  // namespace mantissa
