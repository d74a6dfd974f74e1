// mantissa export RUN [--format safetensors|onnx] [--dtype f32|f16|bf16]
//                     [--checkpoint STEP] -o FILE [--db PATH]
// Writes a stored run's trained weights: the latest checkpoint (or the one at
// STEP) restored into the run's model on the CPU backend, then saved as
// safetensors or as an ONNX inference graph.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "mantissa/backend.hpp"
#include "cli/commands.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/store.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa::cli {

namespace {

namespace fs = std::filesystem;

enum class Format { Safetensors, Onnx };

struct ExportArgs {
  std::int64_t run_id = 0;
  std::string format;
  std::string dtype = "f32";
  std::optional<std::int64_t> step;
  fs::path output;
  fs::path db;
};

Format pick_format(const ExportArgs& a) {
  if (a.format == "safetensors") return Format::Safetensors;
  if (a.format == "onnx") return Format::Onnx;
  if (!a.format.empty())
    throw InputError("--format '" + a.format + "' is not known (safetensors or onnx)");
  const std::string ext = a.output.extension().string();
  if (ext == ".safetensors") return Format::Safetensors;
  if (ext == ".onnx") return Format::Onnx;
  throw InputError("say --format safetensors or --format onnx (the output name '" +
                   a.output.string() + "' does not tell)");
}

Checkpoint pick_checkpoint(RunStore& store, const RunRecord& run,
                           std::optional<std::int64_t> step) {
  const std::string name = "run " + std::to_string(run.id);
  std::optional<Checkpoint> ck =
      step ? store.checkpoint(run.id, *step) : store.latest_checkpoint(run.id);
  if (ck) return std::move(*ck);
  const auto stored = store.checkpoints(run.id);
  if (stored.empty())
    throw InputError(name + " has no checkpoint to export (status " +
                     std::string(run_status_name(run.status)) + ", " +
                     std::to_string(run.steps_recorded) + " steps recorded)");
  std::string steps;
  for (const auto& c : stored) steps += (steps.empty() ? "" : ", ") + std::to_string(c.step);
  throw InputError(name + " has no checkpoint at step " + std::to_string(*step) +
                   " (stored: " + steps + ")");
}

std::string size_text(std::uintmax_t bytes) {
  char buf[32];
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

void run_export(const ExportArgs& a) {
  const Format format = pick_format(a);
  DType dtype = DType::F32;
  try {
    dtype = parse_dtype(a.dtype);
  } catch (const InputError& e) {
    throw InputError(std::string("--dtype: ") + e.what());
  }
  if (format == Format::Onnx && dtype == DType::BF16)
    throw InputError("--dtype bf16 is for safetensors; ONNX export takes f32 or f16");
  const fs::path db = a.db.empty() ? default_database_path() : a.db;
  std::error_code ec;
  if (!fs::exists(db, ec))
    throw InputError(db.string() + ": no run database here (train a run first, or pass --db)");

  RunStore store(db, StoreOptions::reading());
  const RunRecord run = store.require_run(a.run_id);
  const Checkpoint ck = pick_checkpoint(store, run, a.step);
  const std::string label = "run " + std::to_string(run.id);
  const Project project = parse_project(run.project_json, label + " (project snapshot)");
  const Policy policy = parse_policy(run.policy);

  auto backend = create_backend("cpu");
  Graph graph(project.model, *backend, policy, project.training.seed, label);
  restore_model_state(graph, ck.data);
  const auto metadata = export_metadata(graph, {&project, run.id, ck.step}, dtype);

  std::string what;
  if (format == Format::Safetensors) {
    const auto state = model_state(graph, dtype);
    write_safetensors(a.output, state, metadata);
    what = std::to_string(state.size()) + " tensors in " + std::string(dtype_name(dtype));
  } else {
    export_onnx(graph, a.output, {dtype, project.name.empty() ? label : project.name, metadata});
    what = "ONNX opset 17, " + std::string(dtype_name(dtype)) + " weights";
  }
  std::cout << "wrote " << a.output.string() << ": " << label << " step " << ck.step << ", " << what
            << ", " << size_text(fs::file_size(a.output, ec)) << std::endl;
}

}  // namespace

void add_export_commands(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write a run's trained weights as safetensors or ONNX");
  cmd->add_option("run", args->run_id, "Run id in the run database")->required();
  cmd->add_option("--format", args->format,
                  "safetensors or onnx (default: from the output's extension)");
  cmd->add_option("--dtype", args->dtype, "Weights as f32, f16 or bf16 (ONNX: f32 or f16)")
      ->capture_default_str();
  cmd->add_option("--checkpoint", args->step,
                  "Export the checkpoint at this step (default: latest)");
  cmd->add_option("-o,--output", args->output, "File to write")->required();
  cmd->add_option("--db", args->db, "Run database (default: $MANTISSA_DB or the user data folder)");
  cmd->callback([args] { run_export(*args); });
}

}  // namespace mantissa::cli
