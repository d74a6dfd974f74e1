#include "mantissa/resume.hpp"

#include "mantissa/error.hpp"
#include "mantissa/store.hpp"
#include "train/checkpoint.hpp"

namespace mantissa {

ResumePlan plan_resume(RunStore& store, std::int64_t run_id) {
  const RunRecord rec = store.require_run(run_id);
  const std::string who = "run " + std::to_string(rec.id);
  if (rec.status == RunStatus::Finished)
    throw InputError(who + " has already finished; nothing to resume");
  if (rec.status == RunStatus::Running)
    throw InputError(who + " is still running (process " + std::to_string(rec.pid) + " on " +
                     rec.host + ")");
  ResumePlan plan;
  plan.run_id = rec.id;
  plan.project = parse_project(rec.project_json, who);
  plan.backend = rec.backend.empty() ? plan.project.training.backend : rec.backend;
  const std::vector<CheckpointInfo> all = store.checkpoints(rec.id);  // newest first
  if (all.empty()) {
    // Killed before its first checkpoint: training is deterministic from the
    // seed, so starting over gives the same trajectory. (A run started from
    // other weights has a checkpoint at step 0 before its first step.)
    plan.skipped.push_back(who + " has no checkpoint yet: it starts over from step 0");
    return plan;
  }
  for (const CheckpointInfo& info : all) {
    std::optional<Checkpoint> c = store.checkpoint(rec.id, info.step);
    if (!c) continue;  // deleted meanwhile
    try {
      CheckpointReader check(c->data);
    } catch (const InputError& e) {
      plan.skipped.push_back(who + ": the checkpoint at step " + std::to_string(info.step) +
                             " is damaged (" + e.what() + ") and was passed over");
      continue;
    }
    plan.from_step = c->step;
    plan.checkpoint = std::move(c->data);
    return plan;
  }
  std::string why = who + " has no usable checkpoint:";
  for (const std::string& s : plan.skipped) why += " " + s.substr(who.size() + 2) + ";";
  why.pop_back();
  throw InputError(why);
}

std::vector<std::int64_t> resumable_interrupted_runs(RunStore& store) {
  std::vector<std::int64_t> ids;
  for (const RunRecord& r : store.list_runs({.status = RunStatus::Interrupted})) {
    if (r.checkpoint_bytes > 0) ids.push_back(r.id);
  }
  return ids;
}

}  // namespace mantissa
