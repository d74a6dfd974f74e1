#pragma once
// Exporting a stored run's trained weights: one of its checkpoints restored
// into the run's model on the CPU backend and written as safetensors or as
// an ONNX inference graph. One definition for both faces (`mantissa export`,
// the studio's History ▸ Export Weights).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "mantissa/dtype.hpp"

namespace mantissa {

class RunStore;

enum class WeightsFormat { Safetensors, Onnx };

struct ExportRequest {
  std::int64_t run_id = 0;
  std::optional<std::int64_t> step;  // default: the newest checkpoint
  WeightsFormat format = WeightsFormat::Safetensors;
  DType dtype = DType::F32;  // ONNX: f32 or f16
  std::filesystem::path output;
};

struct ExportResult {
  std::int64_t step = 0;     // of the checkpoint written
  std::string description;   // "12 tensors in f16" / "ONNX opset 17, f32 weights"
};

// Throws InputError naming what is wrong: bf16 for ONNX, the run, its
// checkpoints (see open_stored_model), or the output file.
ExportResult export_run(RunStore& store, const ExportRequest& request);

}  // namespace mantissa
