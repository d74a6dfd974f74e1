#pragma once
// Taking a stored run up again: which checkpoint, which project, which
// device. One definition for both faces (`mantissa resume`, the studio's
// History ▸ Resume and its offer at start-up).
#include <cstdint>
#include <string>
#include <vector>

#include "mantissa/model.hpp"

namespace mantissa {

class RunStore;

struct ResumePlan {
  std::int64_t run_id = 0;
  Project project;      // the snapshot the run was trained from
  std::string backend;  // where it ran: "cpu", "cuda:0"
  std::int64_t from_step = 0;
  // Verified: it parses and its checksum matches. Empty (from step 0) when
  // the run was stopped before its first checkpoint.
  std::vector<std::uint8_t> checkpoint;
  // One line per newer checkpoint that was damaged and passed over.
  std::vector<std::string> skipped;
};

// The newest checkpoint of `run_id` that reads back whole, or step 0 when it
// has none yet. Throws InputError naming the run when it finished, is still
// running, or every checkpoint it has is damaged (each is named).
ResumePlan plan_resume(RunStore& store, std::int64_t run_id);

// Runs whose process ended without finishing them and that can be resumed
// (interrupted, with at least one checkpoint), newest first.
std::vector<std::int64_t> resumable_interrupted_runs(RunStore& store);

}  // namespace mantissa
