#include "mantissa/export_job.hpp"

#include "jobs/stored_model.hpp"
#include "mantissa/error.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {

ExportResult export_run(RunStore& store, const ExportRequest& r) {
  if (r.format == WeightsFormat::Onnx && r.dtype == DType::BF16)
    throw InputError("ONNX export takes f32 or f16 weights, not bf16 (safetensors takes bf16)");
  const StoredModel m = open_stored_model(store, r.run_id, r.step, "cpu", "export");
  const auto metadata = export_metadata(*m.graph, {&m.project, m.run.id, m.checkpoint.step}, r.dtype);
  ExportResult out;
  out.step = m.checkpoint.step;
  if (r.format == WeightsFormat::Safetensors) {
    const auto state = model_state(*m.graph, r.dtype);
    write_safetensors(r.output, state, metadata);
    out.description = std::to_string(state.size()) + " tensors in " + std::string(dtype_name(r.dtype));
  } else {
    export_onnx(*m.graph, r.output,
                {r.dtype, m.project.name.empty() ? m.label : m.project.name, metadata});
    out.description = "ONNX opset 17, " + std::string(dtype_name(r.dtype)) + " weights";
  }
  return out;
}

}  // namespace mantissa
