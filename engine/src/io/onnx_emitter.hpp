#pragma once
// What a layer kind's ONNX form (LayerRules::onnx) writes through: nodes,
// initializers from the model's state, and casts. The exporter
// (onnx_export.cpp) implements it; the kinds never see protobuf.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "mantissa/dtype.hpp"
#include "mantissa/model.hpp"

namespace mantissa::io {

struct OnnxAttr {
  std::string name;
  std::variant<std::int64_t, float, std::vector<std::int64_t>> value;
};

// onnx.proto's TensorProto.DataType of a dtype.
std::int64_t onnx_elem_type(DType d);
// The "to" attribute of a Cast node.
inline OnnxAttr cast_to_attr(DType d) {
  return {"to", onnx_elem_type(d)};
}

class OnnxEmitter {
 public:
  virtual ~OnnxEmitter() = default;

  // One node; its output names it (one output per node, so names are unique).
  virtual void node(const std::string& op, const std::vector<std::string>& inputs,
                    const std::string& output, const std::vector<OnnxAttr>& attrs = {}) = 0;
  // The exported dtype of the layer (PRECISION.md's rules under the export's policy).
  virtual DType dtype(const LayerSpec& spec) const = 0;
  // Input k of the layer, in the layer's dtype (cast once where it differs).
  virtual std::string input(const LayerSpec& spec, std::size_t k) = 0;
  // The per-sample shape of input k of the layer.
  virtual const Shape& input_shape(const LayerSpec& spec, std::size_t k) const = 0;
  // A model-state tensor ("<id>.weight", "<id>.running_mean") as an
  // initializer of the given dtype; returns its name.
  virtual std::string weight(const std::string& name, DType dtype) = 0;
  virtual std::string scalar(const std::string& name, float value, DType dtype) = 0;
  // `tensor` as dtype `to`, through one Cast per (tensor, dtype).
  virtual std::string cast_to(const std::string& tensor, DType to) = 0;
};

}  // namespace mantissa::io
