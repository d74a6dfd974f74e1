#pragma once
// A stored run's model rebuilt for use: its project snapshot, its policy and
// one of its checkpoints restored into a graph on a backend. What evaluating
// and exporting a run start from.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/store.hpp"

namespace mantissa {

struct StoredModel {
  RunRecord run;
  Project project;
  Policy policy = Policy::Float32;
  Checkpoint checkpoint;
  std::string label;  // "run 12"
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Graph> graph;
};

// The newest checkpoint, or the one at `step`. Throws InputError naming the
// run: no such run; "run N has no checkpoint to <purpose> (status S, K steps
// recorded)"; "run N has no checkpoint at step X (stored: a, b)"; a snapshot
// that does not parse; a backend that is not available.
StoredModel open_stored_model(RunStore& store, std::int64_t run_id,
                              std::optional<std::int64_t> step, const std::string& backend,
                              std::string_view purpose);

}  // namespace mantissa
