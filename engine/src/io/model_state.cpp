// The model state as named host tensors: taken out of a Graph for export, and
// put back into one from a checkpoint or a safetensors file.
#include <algorithm>
#include <map>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/version.hpp"
#include "mantissa/weights_io.hpp"
#include "train/checkpoint.hpp"

namespace mantissa {

namespace {

HostTensor to_host(const std::string& name, const Tensor& t, DType dtype) {
  HostTensor h{name, dtype, t.shape().dims(), {}};
  const std::vector<std::uint8_t> raw = t.to_host_bytes();
  h.bytes.resize(std::size_t(t.numel()) * dtype_size(dtype));
  convert(raw.data(), t.dtype(), h.bytes.data(), dtype, std::size_t(t.numel()));
  return h;
}

// Converts host bytes into the tensor's dtype and uploads them.
void upload_converted(const HostTensor& h, Tensor& t) {
  std::vector<std::uint8_t> converted(t.bytes());
  convert(h.bytes.data(), h.dtype, converted.data(), t.dtype(), std::size_t(t.numel()));
  t.backend().upload(t.data(), converted.data(), converted.size());
}

// Every tensor of the model state by name: parameter masters and buffers.
std::map<std::string, Tensor*> state_tensors(Graph& graph) {
  std::map<std::string, Tensor*> out;
  for (Param* p : graph.params()) out[p->name] = &p->master;
  for (Buffer* b : graph.buffers()) out[b->name] = &b->value;
  return out;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : sep) + item;
  return s;
}

}  // namespace

std::vector<HostTensor> model_state(Graph& graph, DType dtype) {
  std::vector<HostTensor> out;
  for (const auto& [name, tensor] : state_tensors(graph))
    out.push_back(to_host(name, *tensor, dtype));
  return out;  // sorted: the map iterates by name
}

void restore_model_state(Graph& graph, const std::vector<std::uint8_t>& checkpoint) {
  CheckpointReader reader(checkpoint);
  for (Param* p : graph.params()) reader.read_tensor("param/" + p->name, p->master);
  for (Buffer* b : graph.buffers()) reader.read_tensor("buffer/" + b->name, b->value);
  graph.prepare_step();
}

std::map<std::string, std::string> export_metadata(const Graph& graph, const ExportSource& source,
                                                   DType dtype) {
  std::map<std::string, std::string> m;
  m["format"] = "mantissa";
  m["mantissa_version"] = version_string();
  m["policy"] = std::string(policy_name(graph.policy()));
  m["dtype"] = std::string(dtype_name(dtype));
  if (source.project) {
    m["project"] = project_to_json(*source.project);
    m["project_name"] = source.project->name;
  }
  if (source.run_id) m["run_id"] = std::to_string(*source.run_id);
  if (source.step) m["step"] = std::to_string(*source.step);
  return m;
}

void load_weights(Graph& graph, const std::filesystem::path& file) {
  const WeightsFile weights = read_safetensors(file);
  const std::map<std::string, Tensor*> model = state_tensors(graph);

  std::vector<std::string> missing, unexpected, wrong_shape;
  for (const auto& [name, tensor] : model) {
    const HostTensor* h = weights.find(name);
    if (!h)
      missing.push_back(name);
    else if (h->shape != tensor->shape().dims())
      wrong_shape.push_back(name + " (file " + Shape(h->shape).str() + ", model " +
                            tensor->shape().str() + ")");
  }
  for (const HostTensor& h : weights.tensors)
    if (!model.count(h.name)) unexpected.push_back(h.name);
  if (!missing.empty() || !unexpected.empty() || !wrong_shape.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty()) parts.push_back("missing " + join(missing, ", "));
    if (!unexpected.empty()) parts.push_back("unexpected " + join(unexpected, ", "));
    if (!wrong_shape.empty()) parts.push_back("wrong shape " + join(wrong_shape, ", "));
    throw InputError(file.string() + " does not fit the model: " + join(parts, "; "));
  }

  for (const auto& [name, tensor] : model) upload_converted(*weights.find(name), *tensor);
  graph.backend().synchronize();
  graph.prepare_step();
}

}  // namespace mantissa
