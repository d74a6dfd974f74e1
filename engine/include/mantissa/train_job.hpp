#pragma once
// Training a project into the run database: the new run's record, the
// recorder, the trainer, resuming and policy comparisons, defined once for
// both faces (`mantissa train / resume / compare`, the studio's Train,
// History ▸ Resume and Compare Policies). The caller owns the thread and the
// progress display; run_training() is what runs on the worker.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/advice.hpp"
#include "mantissa/model.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"
#include "mantissa/whatif.hpp"

namespace mantissa {

class Backend;

// Steps at the start of a run left out of its samples/s (start-up, caches,
// a captured step's recording), the same for both faces.
inline constexpr std::int64_t kWarmupStepsExcluded = 3;

struct TrainRequest {
  Project project;      // with every override applied
  std::string backend;  // "cpu", "cuda:0"
  TrainOptions options;
  // Where the run is kept; empty: not stored.
  std::optional<std::filesystem::path> database;
  NewRun new_run;                          // for a new run (new_run_record())
  std::optional<std::int64_t> resume_run;  // or the run to continue
  std::int64_t resume_step = 0;            // from its checkpoint at this step
  std::vector<std::string> resume_notes;   // passed-over checkpoints, as warning events
  // OpenMP threads for the trainer's thread (0: the process's default).
  int threads = 0;
  // Where the run's id is written once it exists (a launcher waiting for it).
  std::optional<std::filesystem::path> run_id_file;
};

// The record of a new run of `project` (its policy as set): name, a snapshot
// of the project as trained, the policy, the scaler settings that apply
// (loss_scale_json), library versions, seed. Backend and device are filled
// in by run_training().
NewRun new_run_record(const Project& project, const std::string& name);
// {"mode"} for none, plus init_scale and either the dynamic parameters or
// skip_nonfinite: the scaler settings that apply under the policy.
std::string loss_scale_json(const TrainingSpec& training);
// A request that continues `run_id` from its newest readable checkpoint
// (plan_resume()); throws InputError naming the run when it cannot.
TrainRequest resume_request(RunStore& store, std::int64_t run_id);
// A child of `run_id` that trains `settings` (other loss-scaler settings)
// to verify the what-if's prediction `replay` of them: it resumes from the
// run's newest checkpoint before the replay's first differing step (or
// before its end when there is none) with the scaler in the state the replay
// has there, or starts over when there is none (the same seed gives the same
// weights and batches). `from_step` says which.
struct BranchPlan {
  TrainRequest request;
  std::int64_t from_step = 0;
};
BranchPlan branch_request(RunStore& store, std::int64_t run_id, const LossScaleConfig& settings,
                          const ScalerReplay& replay);

// A guided fix of `run_id` (advice.hpp) as a child run, stored as a trial of
// it: `steps` steps (0: the run's), from the run's last good checkpoint (the
// newest before its first skipped or non-finite step) when the fix keeps
// the policy, else from the start (the same seed gives the same weights and
// batches). `from_step` says which.
BranchPlan fix_request(RunStore& store, std::int64_t run_id, const Finding& finding,
                       const Fix& fix, std::int64_t steps = 0);

// The group name `compare` gives the runs of one sweep: the project's name
// and the UTC time, "mnist-mlp 2026-12-06T10:15:00Z".
std::string comparison_group(const Project& project);

// Trains on this thread: opens its own connection to the database, records a
// new run (or continues request.resume_run), reports to `sink` after the
// store has seen each report, and returns the summary. on_run_id is called
// once the run's id is known. A run whose trainer cannot start (its dataset
// does not load, the model does not fit) is stored as failed and returned
// as such; a resumed run is left as it was and the error is thrown.
RunSummary run_training(const TrainRequest& request, Backend& backend, MetricsSink& sink,
                        TrainControl& control,
                        const std::function<void(std::int64_t)>& on_run_id = {});

}  // namespace mantissa
