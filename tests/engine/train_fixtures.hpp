#pragma once
// Small projects and sinks for trainer tests.
#include <cstdint>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/trainer.hpp"

namespace mantissa::testing {

// A small MLP on the two-spirals set; fast enough for tens of steps per test.
inline Project spirals_project(Policy policy, std::int64_t steps, std::int64_t batch = 32) {
  Project p = parse_project(R"({
    "format": "mantissa-project", "version": 1, "name": "tiny-spirals",
    "dataset": {"kind": "spirals", "samples": 256, "classes": 2, "noise": 0.05, "seed": 3},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [2]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 16}},
      {"id": "act1", "type": "Tanh", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["act1"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]},
    "training": {"policy": "float32", "batch_size": 32, "epochs": 1, "seed": 5,
                 "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}}
  })",
                            "tiny-spirals.json");
  p.training.policy = policy;
  p.training.steps = steps;
  p.training.batch_size = batch;
  return p;
}

// Records everything a run reports.
struct RecordingSink : MetricsSink {
  std::vector<StepMetrics> steps;
  std::vector<EpochMetrics> epochs;
  std::vector<RunEvent> events;
  std::vector<std::pair<std::int64_t, std::vector<std::uint8_t>>> checkpoints;
  std::vector<CheckpointKind> checkpoint_kinds;  // one per checkpoint
  RunSummary summary;
  std::vector<NumericsSlot> numerics_slots;
  std::vector<NumericsSample> numerics;
  void step_recorded(const StepMetrics& m) override { steps.push_back(m); }
  void numerics_layout(const std::vector<NumericsSlot>& s) override { numerics_slots = s; }
  void numerics_recorded(const NumericsSample& s) override { numerics.push_back(s); }
  std::string manifest;  // the run's numerics manifest (JSON), once it ran
  void manifest_recorded(const std::string& json) override { manifest = json; }
  std::vector<Provenance> provenance;
  void provenance_recorded(const Provenance& p) override { provenance.push_back(p); }
  void epoch_recorded(const EpochMetrics& m) override { epochs.push_back(m); }
  void event_recorded(const RunEvent& e) override { events.push_back(e); }
  void checkpoint_written(std::int64_t step, std::int64_t, CheckpointKind kind,
                          const std::vector<std::uint8_t>& b) override {
    checkpoints.emplace_back(step, b);
    checkpoint_kinds.push_back(kind);
  }
  void run_finished(const RunSummary& s) override { summary = s; }
};

// A finished run: what it reported and the bytes of every master after it.
struct TrainedRun {
  RecordingSink sink;
  RunSummary summary;
  std::vector<std::vector<std::uint8_t>> masters;
};

inline TrainedRun train_on(Backend& backend, const Project& p) {
  TrainedRun r;
  Trainer trainer(p, backend);
  TrainControl control;
  r.summary = trainer.run(r.sink, control);
  for (Param* param : trainer.graph().params()) r.masters.push_back(param->master.to_host_bytes());
  return r;
}

// Trains `p` to the end on the CPU backend, recording into `sink`.
inline RunSummary run_on_cpu(const Project& p, RecordingSink& sink) {
  auto backend = create_backend("cpu");
  Trainer trainer(p, *backend);
  TrainControl control;
  return trainer.run(sink, control);
}

}  // namespace mantissa::testing
