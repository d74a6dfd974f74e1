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
// onnx.proto's TensorProto.DataType INT64 (token ids, shapes, indices).
inline constexpr std::int64_t kOnnxInt64 = 7;
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
  // Constant int64 tensors (a Reshape's shape, a Slice's bounds, a Gather's
  // index): 1-D, or a scalar with ints_scalar. Returns the name.
  virtual std::string ints(const std::string& name, const std::vector<std::int64_t>& values) = 0;
  virtual std::string ints_scalar(const std::string& name, std::int64_t value) = 0;
  // A constant tensor of `dims` from fp32 `values`, stored as `dtype`.
  virtual std::string floats(const std::string& name, const std::vector<std::int64_t>& dims,
                             const std::vector<float>& values, DType dtype) = 0;
  // `tensor` as dtype `to`, through one Cast per (tensor, dtype).
  virtual std::string cast_to(const std::string& tensor, DType to) = 0;
};

// y = x Wᵀ (+ b) over the last axis of x, for inputs with a sequence axis
// (Gemm takes matrices only): Transpose, MatMul, Add. An empty `bias` adds none.
inline void emit_matmul_last_axis(OnnxEmitter& e, const std::string& x, const std::string& weight,
                                  const std::string& bias, const std::string& out) {
  const std::string wt = out + ".weight_t";
  e.node("Transpose", {weight}, wt, {{"perm", std::vector<std::int64_t>{1, 0}}});
  if (bias.empty()) return e.node("MatMul", {x, wt}, out);
  e.node("MatMul", {x, wt}, out + ".matmul");
  e.node("Add", {out + ".matmul", bias}, out);
}

}  // namespace mantissa::io
