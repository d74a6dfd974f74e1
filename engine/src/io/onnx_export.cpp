// ONNX export (opset 17, IR version 8) of a Graph for inference.
//
// The protobuf is written by a small hand-written encoder (protobuf_writer.hpp)
// rather than through libprotobuf and ONNX's generated classes: the exporter
// needs six message types, write-only, and generating code from onnx.proto
// would add protoc, libprotobuf and libonnx to the build of every user for
// a few hundred bytes of framing. Field numbers below are onnx.proto's.
//
// Inference semantics: Dropout is an Identity, BatchNorm uses its running
// statistics, the loss node is dropped and the graph's output is the tensor
// the loss consumed (logits, or predictions under MSE). The batch dimension is
// the symbol "N".
//
// dtype f16 mirrors how Mantissa runs the model under mixed_float16 (the
// autocast rules of PRECISION.md, layer_output_dtype): Linear and Conv2d
// weights, biases and math in float16 unless the layer is pinned to fp32;
// LayerNorm in float32; BatchNorm normalises in float32 with float32
// statistics and affine parameters; everything else in its input dtype. Cast
// nodes sit at every dtype boundary, and the graph's input and output are
// float32 in both exports, so callers feed and read both the same way.
#include <cmath>
#include <map>

#include "io/atomic_file.hpp"
#include "io/protobuf_writer.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/version.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {

namespace {

using io::ProtoWriter;

constexpr std::int64_t kIrVersion = 8;
constexpr std::int64_t kOpsetVersion = 17;

// onnx.proto field numbers, per message.
namespace model_field {
constexpr std::uint32_t kIrVersion = 1, kProducerName = 2, kProducerVersion = 3, kDocString = 6,
                        kGraph = 7, kOpsetImport = 8, kMetadataProps = 14;
}
namespace graph_field {
constexpr std::uint32_t kNode = 1, kName = 2, kInitializer = 5, kDocString = 10, kInput = 11,
                        kOutput = 12;
}
namespace node_field {
constexpr std::uint32_t kInput = 1, kOutput = 2, kName = 3, kOpType = 4, kAttribute = 5;
}
namespace attr_field {
constexpr std::uint32_t kName = 1, kF = 2, kI = 3, kInts = 8, kType = 20;
constexpr std::int64_t kTypeFloat = 1, kTypeInt = 2, kTypeInts = 7;
}  // namespace attr_field
namespace tensor_field {
constexpr std::uint32_t kDims = 1, kDataType = 2, kName = 8, kRawData = 9;
}
namespace value_info_field {
constexpr std::uint32_t kName = 1, kType = 2;
}
constexpr std::uint32_t kTypeTensor = 1;                        // TypeProto.tensor_type
constexpr std::uint32_t kTensorElemType = 1, kTensorShape = 2;  // TypeProto.Tensor
constexpr std::uint32_t kShapeDim = 1;                          // TensorShapeProto.dim
constexpr std::uint32_t kDimValue = 1, kDimParam = 2;           // TensorShapeProto.Dimension
constexpr std::uint32_t kEntryKey = 1, kEntryValue = 2;         // StringStringEntryProto
constexpr std::uint32_t kOpsetDomain = 1, kOpsetVersionField = 2;

std::int64_t elem_type(DType d) {
  switch (d) {
    case DType::F32:
      return 1;  // FLOAT
    case DType::F16:
      return 10;  // FLOAT16
    case DType::BF16:
      return 16;  // BFLOAT16
  }
  return 1;
}

ProtoWriter attr_int(const std::string& name, std::int64_t v) {
  ProtoWriter a;
  a.bytes_field(attr_field::kName, name);
  a.varint_field(attr_field::kType, attr_field::kTypeInt);
  a.varint_field(attr_field::kI, v);
  return a;
}

ProtoWriter attr_float(const std::string& name, float v) {
  ProtoWriter a;
  a.bytes_field(attr_field::kName, name);
  a.varint_field(attr_field::kType, attr_field::kTypeFloat);
  a.float_field(attr_field::kF, v);
  return a;
}

ProtoWriter attr_ints(const std::string& name, const std::vector<std::int64_t>& v) {
  ProtoWriter a;
  a.bytes_field(attr_field::kName, name);
  a.varint_field(attr_field::kType, attr_field::kTypeInts);
  for (auto x : v) a.varint_field(attr_field::kInts, x);
  return a;
}

// ValueInfoProto of a batch of per-sample `shape` tensors: (N, shape...).
ProtoWriter batched_value_info(const std::string& name, DType dtype, const Shape& shape) {
  ProtoWriter dims;
  ProtoWriter batch;
  batch.bytes_field(kDimParam, std::string("N"));
  dims.message_field(kShapeDim, batch);
  for (auto d : shape.dims()) {
    ProtoWriter dim;
    dim.varint_field(kDimValue, d);
    dims.message_field(kShapeDim, dim);
  }
  ProtoWriter tensor;
  tensor.varint_field(kTensorElemType, elem_type(dtype));
  tensor.message_field(kTensorShape, dims);
  ProtoWriter type;
  type.message_field(kTypeTensor, tensor);
  ProtoWriter info;
  info.bytes_field(value_info_field::kName, name);
  info.message_field(value_info_field::kType, type);
  return info;
}

class OnnxBuilder {
 public:
  OnnxBuilder(Graph& graph, DType dtype)
      : graph_(graph), policy_(dtype == DType::F16 ? Policy::MixedFloat16 : Policy::Float32) {
    for (Param* p : graph.params()) state_[p->name] = &p->master;
    for (Buffer* b : graph.buffers()) state_[b->name] = &b->value;
  }

  // The GraphProto of the whole model.
  ProtoWriter build(const std::string& name) {
    const ModelSummary& summary = graph_.summary();
    // The dtype each layer emits in the exported model, by PRECISION.md's rules.
    for (const LayerInfo& info : summary.layers) {
      const LayerSpec& spec = graph_.layer(info.id).spec();
      std::vector<DType> in;
      for (const auto& i : spec.inputs) in.push_back(dtype_.at(i));
      dtype_[info.id] = layer_output_dtype(spec, policy_, in);
    }
    const std::string& output_id = summary.output_id;
    const DType output_dtype = dtype_.at(output_id);

    ProtoWriter g;
    for (const LayerInfo& info : summary.layers) {
      const LayerSpec& spec = graph_.layer(info.id).spec();
      if (is_loss(spec.kind)) continue;
      // The output keeps the layer's name; a 16-bit result is cast to it below.
      const std::string out = info.id == output_id && output_dtype != DType::F32
                                  ? info.id + "." + std::string(dtype_name(output_dtype))
                                  : info.id;
      if (spec.kind == LayerKind::Input)
        g.message_field(graph_field::kInput,
                        batched_value_info(info.id, DType::F32, info.output_shape));
      emit_layer(spec, out);
      tensor_[info.id] = out;
    }
    if (output_dtype != DType::F32)
      node("Cast", {tensor_.at(output_id)}, output_id, {attr_int("to", elem_type(DType::F32))});

    g.bytes_field(graph_field::kName, name);
    g.bytes_field(graph_field::kDocString,
                  policy_ == Policy::Float32
                      ? "Inference graph; float32 throughout."
                      : "Inference graph; float32 input and output, float16 weights and math "
                        "where Mantissa's mixed_float16 policy uses them.");
    g.append(nodes_);
    g.append(initializers_);
    g.message_field(graph_field::kOutput,
                    batched_value_info(output_id, DType::F32, graph_.output_shape()));
    return g;
  }

 private:
  void node(const std::string& op, const std::vector<std::string>& inputs,
            const std::string& output, const std::vector<ProtoWriter>& attrs = {}) {
    ProtoWriter n;
    for (const auto& i : inputs) n.bytes_field(node_field::kInput, i);
    n.bytes_field(node_field::kOutput, output);
    n.bytes_field(node_field::kName, output);  // one output per node: unique
    n.bytes_field(node_field::kOpType, op);
    for (const auto& a : attrs) n.message_field(node_field::kAttribute, a);
    nodes_.message_field(graph_field::kNode, n);
  }

  void initializer(const std::string& name, DType dtype, const std::vector<std::int64_t>& dims,
                   const std::vector<std::uint8_t>& bytes) {
    ProtoWriter t;
    for (auto d : dims) t.varint_field(tensor_field::kDims, d);
    t.varint_field(tensor_field::kDataType, elem_type(dtype));
    t.bytes_field(tensor_field::kName, name);
    t.bytes_field(tensor_field::kRawData, bytes);
    initializers_.message_field(graph_field::kInitializer, t);
  }

  // A model-state tensor as an initializer of the given dtype; returns its name.
  std::string weight(const std::string& name, DType dtype) {
    const Tensor& t = *state_.at(name);
    const std::vector<std::uint8_t> raw = t.to_host_bytes();
    std::vector<std::uint8_t> bytes(std::size_t(t.numel()) * dtype_size(dtype));
    convert(raw.data(), t.dtype(), bytes.data(), dtype, std::size_t(t.numel()));
    initializer(name, dtype, t.shape().dims(), bytes);
    return name;
  }

  std::string scalar(const std::string& name, float value, DType dtype) {
    std::vector<std::uint8_t> bytes(dtype_size(dtype));
    convert(&value, DType::F32, bytes.data(), dtype, 1);
    initializer(name, dtype, {}, bytes);
    return name;
  }

  // `tensor` as dtype `to`, through one Cast per (tensor, dtype) however many
  // layers need it.
  std::string cast_to(const std::string& tensor, DType to) {
    const std::string key = tensor + "\n" + std::string(dtype_name(to));
    if (auto it = casts_.find(key); it != casts_.end()) return it->second;
    const std::string output = tensor + ".as_" + std::string(dtype_name(to));
    node("Cast", {tensor}, output, {attr_int("to", elem_type(to))});
    casts_[key] = output;
    return output;
  }

  // Input k of the layer, in the dtype the layer computes in.
  std::string input(const LayerSpec& spec, std::size_t k) {
    const std::string& src = spec.inputs[k];
    const DType want = dtype_.at(spec.id);
    return dtype_.at(src) == want ? tensor_.at(src) : cast_to(tensor_.at(src), want);
  }

  void emit_layer(const LayerSpec& spec, const std::string& out) {
    const std::string& id = spec.id;
    const DType d = dtype_.at(id);
    switch (spec.kind) {
      case LayerKind::Input:
        return;
      case LayerKind::Linear: {
        std::vector<std::string> in{input(spec, 0), weight(id + ".weight", d)};
        if (spec.bias) in.push_back(weight(id + ".bias", d));
        node("Gemm", in, out, {attr_int("transB", 1)});
        return;
      }
      case LayerKind::Conv2d: {
        std::vector<std::string> in{input(spec, 0), weight(id + ".weight", d)};
        if (spec.bias) in.push_back(weight(id + ".bias", d));
        node("Conv", in, out, window_attrs(spec));
        return;
      }
      case LayerKind::MaxPool2d:
        node("MaxPool", {input(spec, 0)}, out, window_attrs(spec));
        return;
      case LayerKind::AvgPool2d: {
        auto attrs = window_attrs(spec);
        attrs.push_back(attr_int("count_include_pad", 0));
        node("AveragePool", {input(spec, 0)}, out, attrs);
        return;
      }
      case LayerKind::GlobalAvgPool:
        node("GlobalAveragePool", {input(spec, 0)}, id + ".pooled");  // (N, C, 1, 1)
        node("Flatten", {id + ".pooled"}, out, {attr_int("axis", 1)});
        return;
      case LayerKind::Flatten:
        node("Flatten", {input(spec, 0)}, out, {attr_int("axis", 1)});
        return;
      case LayerKind::ReLU:
        node("Relu", {input(spec, 0)}, out);
        return;
      case LayerKind::Tanh:
        node("Tanh", {input(spec, 0)}, out);
        return;
      case LayerKind::Sigmoid:
        node("Sigmoid", {input(spec, 0)}, out);
        return;
      case LayerKind::LeakyReLU:
        node("LeakyRelu", {input(spec, 0)}, out, {attr_float("alpha", spec.negative_slope)});
        return;
      case LayerKind::GELU: {
        // Opset 17 has no Gelu (it arrives in 20): 0.5 · x · (1 + erf(x / √2)).
        const std::string x = input(spec, 0);
        node("Div", {x, scalar(id + ".sqrt2", float(std::sqrt(2.0)), d)}, id + ".scaled");
        node("Erf", {id + ".scaled"}, id + ".erf");
        node("Add", {id + ".erf", scalar(id + ".one", 1.0f, d)}, id + ".erf_plus_1");
        node("Mul", {x, id + ".erf_plus_1"}, id + ".x_erf_plus_1");
        node("Mul", {id + ".x_erf_plus_1", scalar(id + ".half", 0.5f, d)}, out);
        return;
      }
      case LayerKind::Dropout:
        node("Identity", {input(spec, 0)}, out);
        return;
      case LayerKind::BatchNorm: {
        // Statistics and affine parameters are fp32; a 16-bit activation is
        // normalised in fp32 and rounded back, as the engine does.
        const std::string x =
            d == DType::F32 ? input(spec, 0) : cast_to(input(spec, 0), DType::F32);
        const std::string y = d == DType::F32 ? out : id + ".f32";
        node("BatchNormalization",
             {x, weight(id + ".weight", DType::F32), weight(id + ".bias", DType::F32),
              weight(id + ".running_mean", DType::F32), weight(id + ".running_var", DType::F32)},
             y,
             // ONNX's momentum weights the old running value (PyTorch's weights the new one).
             {attr_float("epsilon", spec.eps), attr_float("momentum", 1.0f - spec.momentum)});
        if (d != DType::F32) node("Cast", {y}, out, {attr_int("to", elem_type(d))});
        return;
      }
      case LayerKind::LayerNorm:
        node("LayerNormalization",
             {input(spec, 0), weight(id + ".weight", d), weight(id + ".bias", d)}, out,
             {attr_int("axis", -1), attr_float("epsilon", spec.eps)});
        return;
      case LayerKind::Add: {
        std::string sum = input(spec, 0);
        for (std::size_t k = 1; k < spec.inputs.size(); ++k) {
          const std::string next =
              k + 1 == spec.inputs.size() ? out : id + ".sum" + std::to_string(k);
          node("Add", {sum, input(spec, k)}, next);
          sum = next;
        }
        return;
      }
      case LayerKind::Concat: {
        std::vector<std::string> in;
        for (std::size_t k = 0; k < spec.inputs.size(); ++k) in.push_back(input(spec, k));
        node("Concat", in, out, {attr_int("axis", 1)});
        return;
      }
      case LayerKind::SoftmaxCrossEntropy:
      case LayerKind::MSE:
        return;
    }
  }

  static std::vector<ProtoWriter> window_attrs(const LayerSpec& s) {
    return {attr_ints("kernel_shape", {s.kernel_h, s.kernel_w}),
            attr_ints("strides", {s.stride_h, s.stride_w}),
            attr_ints("pads", {s.pad_h, s.pad_w, s.pad_h, s.pad_w})};
  }

  Graph& graph_;
  Policy policy_;
  std::map<std::string, Tensor*> state_;       // parameter masters and buffers by name
  std::map<std::string, DType> dtype_;         // layer id -> exported dtype
  std::map<std::string, std::string> tensor_;  // layer id -> its output tensor's name
  std::map<std::string, std::string> casts_;   // "tensor\ndtype" -> cast output
  ProtoWriter nodes_, initializers_;
};

}  // namespace

void export_onnx(Graph& graph, const std::filesystem::path& file,
                 const OnnxExportOptions& options) {
  if (options.dtype == DType::BF16)
    throw InputError(file.string() +
                     ": ONNX export takes --dtype f32 or f16 (ONNX Conv has no bfloat16); "
                     "export safetensors for bf16 weights");

  OnnxBuilder builder(graph, options.dtype);
  const ProtoWriter graph_proto = builder.build(options.graph_name);

  ProtoWriter opset;
  opset.bytes_field(kOpsetDomain, std::string());
  opset.varint_field(kOpsetVersionField, kOpsetVersion);

  ProtoWriter model;
  model.varint_field(model_field::kIrVersion, kIrVersion);
  model.message_field(model_field::kOpsetImport, opset);
  model.bytes_field(model_field::kProducerName, std::string("mantissa"));
  model.bytes_field(model_field::kProducerVersion, version_string());
  model.bytes_field(model_field::kDocString, std::string("Inference graph; weights ") +
                                                 std::string(dtype_name(options.dtype)) + ".");
  model.message_field(model_field::kGraph, graph_proto);
  for (const auto& [key, value] : options.metadata) {
    ProtoWriter entry;
    entry.bytes_field(kEntryKey, key);
    entry.bytes_field(kEntryValue, value);
    model.message_field(model_field::kMetadataProps, entry);
  }

  // Protobuf messages are limited to 2 GiB; larger models need ONNX's
  // external-data layout, which this exporter does not write.
  if (model.bytes().size() >= (std::size_t(1) << 31))
    throw InputError(file.string() + ": the model is " +
                     std::to_string(model.bytes().size() >> 20) +
                     " MiB, over the 2 GiB a single ONNX file can hold");
  const std::vector<std::span<const std::uint8_t>> chunks{io::as_bytes(model.bytes())};
  io::write_file_atomically(file, chunks);
}

}  // namespace mantissa
