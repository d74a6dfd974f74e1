// The numerics suites' project: a layer whose forward output leaves fp16's
// range under mixed_float16 when its weight is set large.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"
#include "mantissa/trainer.hpp"
#include "test_data_util.hpp"

namespace mantissa::testing {

// A CSV project of 1 feature through fc1 (x 1000) and fc2: with inputs of
// `x`, fc1's output under mixed_float16 is 1000 x, past 65,504 for x = 100.
inline Project blowup_project(const std::filesystem::path& dir, float x, std::int64_t steps) {
  std::string csv = "x,y\n";
  for (int i = 0; i < 8; ++i) csv += std::to_string(x) + ",0.5\n";
  test_data::write_text(dir / "blowup.csv", csv);
  Project p = parse_project(R"({"format": "mantissa-project", "version": 1, "name": "blowup",
    "dataset": {"kind": "csv", "path": "blowup.csv", "normalize": false, "validation_fraction": 0},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [1]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 4}},
      {"id": "act", "type": "ReLU", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["act"], "params": {"out_features": 1}},
      {"id": "loss", "type": "MSE", "inputs": ["fc2"]}]},
    "training": {"policy": "mixed_float16", "batch_size": 4,
                 "loss_scale": {"mode": "dynamic", "init_scale": 1024},
                 "optimizer": {"type": "sgd", "lr": 0.001, "momentum": 0},
                 "numerics": {"sample_every": 3, "around_event": 1}}})",
                            dir / "blowup.json");
  p.training.steps = steps;
  return p;
}

inline void set_fc1_weight(Trainer& t, Backend& be, float w) {
  for (Param* prm : t.graph().params()) {
    if (prm->name == "fc1.weight") be.fill(prm->master, w);
    if (prm->name == "fc1.bias") be.fill(prm->master, 0.0f);
  }
}

}  // namespace mantissa::testing
