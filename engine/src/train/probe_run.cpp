// probe_run (probe.hpp): a stored run's step, trained up to and probed.
#include <algorithm>
#include <bit>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/model.hpp"
#include "mantissa/probe.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"

namespace mantissa {

namespace {
struct ProbeSink : MetricsSink {
  std::optional<StepProbe> probe;
  void probe_recorded(const StepProbe& p) override { probe = p; }
};
}  // namespace

RunProbe probe_run(RunStore& store, std::int64_t run_id, std::int64_t step) {
  const RunRecord run = store.require_run(run_id);
  const std::vector<StepMetrics> steps = store.step_metrics(run_id);
  const auto at = std::find_if(steps.begin(), steps.end(),
                               [&](const StepMetrics& m) { return m.step == step; });
  if (at == steps.end())
    throw InputError("run " + std::to_string(run_id) + " has no step " + std::to_string(step) +
                     " (it recorded " + std::to_string(steps.size()) + ")");
  Project project = parse_project(run.project_json,
                                  "run " + std::to_string(run_id) + " (project snapshot)");
  RunProbe out;
  out.run_id = run_id;
  out.recorded_loss = at->loss;
  TrainOptions options;
  options.evaluate = false;
  options.probe_step = step;
  options.safety_checkpoint_share = 0;
  project.training.checkpoint_seconds = 0;
  project.training.checkpoint_every = 0;
  project.training.checkpoint_each_epoch = false;
  if (auto c = store.checkpoint_before(run_id, step)) {
    options.resume_from = std::move(c->data);
    out.from_step = c->step;
  }
  auto backend = create_backend(run.backend.empty() ? std::string("cpu") : run.backend,
                                {.allow_tf32 = project.training.allow_tf32});
  Trainer trainer(project, *backend, options);
  ProbeSink sink;
  TrainControl control;
  const RunSummary summary = trainer.run(sink, control);
  if (summary.outcome == RunOutcome::Failed) throw Error(summary.error);
  if (!sink.probe)
    throw Error("run " + std::to_string(run_id) + " ended before step " + std::to_string(step));
  out.probe = std::move(*sink.probe);
  out.reproduced = std::bit_cast<std::uint32_t>(float(out.probe.loss)) ==
                   std::bit_cast<std::uint32_t>(float(out.recorded_loss));
  return out;
}

}  // namespace mantissa
