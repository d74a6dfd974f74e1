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

#include "cli/commands.hpp"
#include "mantissa/error.hpp"
#include "mantissa/export_job.hpp"
#include "mantissa/store.hpp"
#include "mantissa/units.hpp"

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
  std::string db;
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
  RunStore store(existing_database(a.db), StoreOptions::reading());
  ExportRequest request;
  request.run_id = a.run_id;
  request.step = a.step;
  request.format = format == Format::Onnx ? WeightsFormat::Onnx : WeightsFormat::Safetensors;
  request.dtype = dtype;
  request.output = a.output;
  const ExportResult done = export_run(store, request);
  std::error_code ec;
  std::cout << "wrote " << a.output.string() << ": run " << a.run_id << " step " << done.step
            << ", " << done.description << ", " << bytes_text(double(fs::file_size(a.output, ec)))
            << std::endl;
}

}  // namespace

void add_export_commands(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write a run's trained weights as safetensors or ONNX");
  cmd->add_option("run", args->run_id, "Run id in the run database")->required()->check(run_id_number());
  cmd->add_option("--format", args->format,
                  "safetensors or onnx (default: from the output's extension)");
  cmd->add_option("--dtype", args->dtype, "Weights as f32, f16 or bf16 (ONNX: f32 or f16)")
      ->capture_default_str();
  cmd->add_option("--checkpoint", args->step,
                  "Export the checkpoint at this step (default: latest)")
      ->check(whole_number_at_least_zero());
  cmd->add_option("-o,--output", args->output, "File to write")->required();
  add_database_option(cmd, args->db);
  cmd->callback([args] { run_export(*args); });
}

}  // namespace mantissa::cli
