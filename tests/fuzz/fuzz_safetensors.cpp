// safetensors files, both ways they come in: read_safetensors() on any file
// (what it accepts must survive write_safetensors() unchanged), and an
// exported bundle opened as a project (project_from_weights) whose weights are
// then imported into the model it describes (load_weights), as
// `mantissa train exported.safetensors` does.
#include <cstdint>
#include <memory>

#include "fuzz_util.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/weights_io.hpp"

namespace {

bool same(const mantissa::WeightsFile& a, const mantissa::WeightsFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto &x = a.tensors[i], &y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.bytes != y.bytes)
      return false;
  }
  return true;
}

// Models larger than this are not built: the harness looks for reader bugs,
// not for how much memory a valid but huge model takes.
constexpr std::int64_t kMaxParams = std::int64_t(1) << 16;
constexpr std::int64_t kMaxActivationBytes = std::int64_t(1) << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mantissa;
  static const fuzz::ScratchFile file("weights", ".safetensors");
  static const std::filesystem::path copy = file.dir() / "copy.safetensors";
  static const std::unique_ptr<Backend> cpu = create_backend("cpu");
  file.write(data, size);
  const std::string name = file.path().string();

  WeightsFile weights;
  if (!fuzz::accepts([&] { weights = read_safetensors(file.path()); }, name)) return 0;
  // Names and metadata come from JSON the parser accepted, so they are UTF-8
  // and the writer must take them.
  write_safetensors(copy, weights.tensors, weights.metadata);
  if (!same(read_safetensors(copy), weights))
    fuzz::die("write_safetensors(read_safetensors(f)) differs from f");

  Project project;
  if (!fuzz::accepts([&] { project = project_from_weights(file.path()); }, name)) return 0;
  const ModelSummary summary = analyze_model(project.model, project.file);
  if (summary.total_params > kMaxParams || summary.total_activation_bytes[0] > kMaxActivationBytes)
    return 0;
  std::unique_ptr<Graph> graph;
  if (!fuzz::accepts(
          [&] { graph = std::make_unique<Graph>(project.model, *cpu, Policy::Float32, 1); }))
    return 0;
  fuzz::accepts([&] { load_weights(*graph, file.path()); }, name);
  return 0;
}
