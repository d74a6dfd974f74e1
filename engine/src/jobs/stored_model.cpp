#include "jobs/stored_model.hpp"

#include "mantissa/error.hpp"
#include "mantissa/precision.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {

namespace {

Checkpoint pick_checkpoint(RunStore& store, const RunRecord& run, std::optional<std::int64_t> step,
                           const std::string& label, std::string_view purpose) {
  std::optional<Checkpoint> ck =
      step ? store.checkpoint(run.id, *step) : store.latest_checkpoint(run.id);
  if (ck) return std::move(*ck);
  const std::vector<CheckpointInfo> stored = store.checkpoints(run.id);  // newest first
  if (stored.empty())
    throw InputError(label + " has no checkpoint to " + std::string(purpose) + " (status " +
                     std::string(run_status_name(run.status)) + ", " +
                     std::to_string(run.steps_recorded) + " steps recorded)");
  std::string steps;
  for (const CheckpointInfo& c : stored) steps += (steps.empty() ? "" : ", ") + std::to_string(c.step);
  throw InputError(label + " has no checkpoint at step " + std::to_string(*step) + " (stored: " +
                   steps + ")");
}

}  // namespace

StoredModel open_stored_model(RunStore& store, std::int64_t run_id,
                              std::optional<std::int64_t> step, const std::string& backend,
                              std::string_view purpose) {
  StoredModel m;
  m.run = store.require_run(run_id);
  m.label = "run " + std::to_string(m.run.id);
  m.checkpoint = pick_checkpoint(store, m.run, step, m.label, purpose);
  m.project = parse_project(m.run.project_json, m.label + " (project snapshot)");
  m.policy = parse_policy(m.run.policy);
  m.backend = create_backend(backend, {.allow_tf32 = m.project.training.allow_tf32});
  m.graph = std::make_unique<Graph>(m.project.model, *m.backend, m.policy,
                                    m.project.training.seed, m.label);
  restore_model_state(*m.graph, m.checkpoint.data);
  return m;
}

}  // namespace mantissa
