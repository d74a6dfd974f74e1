#pragma once
// Trained weights in and out of the engine: safetensors files (written and
// read), weight import into a Graph with strict name and shape matching, and
// ONNX export of the model for inference.
//
// Every file is written to a temporary file in the target folder and renamed
// into place, so a reader never sees a half-written file and a failed write
// leaves nothing behind. Bad files throw InputError with one line that names
// the file and, where there is one, the tensor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mantissa/dtype.hpp"
#include "mantissa/model.hpp"

namespace mantissa {

class Graph;

// One named tensor on the host: row-major, little-endian bytes in `dtype`.
struct HostTensor {
  std::string name;  // "<layer-id>.weight", "<layer-id>.running_mean", ...
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;  // numel(shape) × dtype_size(dtype)
};

// What a safetensors file holds.
struct WeightsFile {
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry
  std::vector<HostTensor> tensors;              // sorted by name
  const HostTensor* find(const std::string& name) const;
};

// The model state: every parameter master and every buffer (batch-norm running
// statistics), converted to `dtype` with PRECISION.md's rounding, sorted by name.
std::vector<HostTensor> model_state(Graph& graph, DType dtype);

// Copies the parameters ("param/<name>") and buffers ("buffer/<name>") of a
// checkpoint blob into the graph and refreshes the compute copies.
void restore_model_state(Graph& graph, const std::vector<std::uint8_t>& checkpoint);

// Where exported weights came from; written into the file's metadata.
struct ExportSource {
  const Project* project = nullptr;  // the project as trained (its model graph)
  std::optional<std::int64_t> run_id;
  std::optional<std::int64_t> step;  // checkpoint step
};

// Metadata for an exported file: format, mantissa version, project JSON,
// policy, dtype, run id and step. Values are strings (safetensors requires it).
std::map<std::string, std::string> export_metadata(const Graph& graph, const ExportSource& source,
                                                   DType dtype);

// Writes the tensors (names unique) with the metadata, per the safetensors
// format: u64 header length, JSON header with sorted keys padded with spaces
// to a multiple of 8, then the data in the same order, contiguous.
void write_safetensors(const std::filesystem::path& file, const std::vector<HostTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads and validates a safetensors file (F32, F16 and BF16 tensors).
WeightsFile read_safetensors(const std::filesystem::path& file);

// Loads a safetensors file into the graph's parameter masters and buffers.
// Names and shapes must match exactly; every mismatch is reported in one error
// ("m.safetensors does not fit the model: missing fc3.bias; unexpected
// head.weight; wrong shape fc1.weight (file 512×784, model 256×784)"). Values
// are converted to each tensor's dtype (16-bit masters round to nearest even).
void load_weights(Graph& graph, const std::filesystem::path& file);

// An exported safetensors file carries the project it was trained from (its
// "project" metadata), so it opens as a project on any machine: the project
// as trained, with `file` set to the weights file (relative dataset paths
// resolve next to it). Throws InputError naming the file when it holds none.
bool is_weights_file(const std::filesystem::path& file);  // by its .safetensors name
Project project_from_weights(const std::filesystem::path& file);

// Opens a project file (.json) or an exported weights file; for the latter,
// `*weights` (when given) is set to the file, for the run to start from.
Project open_project(const std::filesystem::path& file,
                     std::optional<std::filesystem::path>* weights = nullptr);

struct OnnxExportOptions {
  // F32: everything float32. F16: weights and activations follow the
  // mixed_float16 autocast rules of PRECISION.md (Linear / Conv weights and
  // math in float16, normalization and pinned layers in float32) with Cast
  // nodes at dtype boundaries; the graph's input and output stay float32.
  DType dtype = DType::F32;
  std::string graph_name = "mantissa";
  std::map<std::string, std::string> metadata;  // metadata_props
};

// Writes the model (opset 17, inference mode, batch dimension "N") with the
// graph's current weights. The loss is dropped; the output is what it consumed.
void export_onnx(Graph& graph, const std::filesystem::path& file, const OnnxExportOptions& options);

}  // namespace mantissa
