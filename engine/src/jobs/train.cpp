#include "mantissa/train_job.hpp"

#include <ctime>
#include <memory>
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
  snapshot.file.clear();  // dataset paths are kept as given (absolute from the CLI)
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
  std::optional<RunStore> store;
  std::optional<RunRecorder> recorder;
  if (request.database) store.emplace(*request.database);
  if (store && !request.resume_run) {
    NewRun run = request.new_run;
    run.backend = backend.name();
    run.device = backend.description();
    recorder.emplace(*store, run);
    if (on_run_id) on_run_id(recorder->run_id());
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
    if (on_run_id) on_run_id(*request.resume_run);
  }
  MetricsFanout fanout;
  if (recorder) fanout.add(&*recorder);  // first: the store has each report before the face
  fanout.add(&sink);
  for (const std::string& note : request.resume_notes)
    fanout.event_recorded({request.resume_step, EventKind::Warning, note, 0, 0, "", 0});
  return trainer->run(fanout, control);
}

}  // namespace mantissa
