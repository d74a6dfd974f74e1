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
#include <map>

#include "io/atomic_file.hpp"
#include "io/onnx_emitter.hpp"
#include "io/protobuf_writer.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/version.hpp"
#include "mantissa/weights_io.hpp"
#include "model/kinds/layer_rules.hpp"

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

}  // namespace

std::int64_t io::onnx_elem_type(DType d) {
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

namespace {

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

ProtoWriter attr(const io::OnnxAttr& a) {
  if (const auto* i = std::get_if<std::int64_t>(&a.value)) return attr_int(a.name, *i);
  if (const auto* f = std::get_if<float>(&a.value)) return attr_float(a.name, *f);
  return attr_ints(a.name, std::get<std::vector<std::int64_t>>(a.value));
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
  tensor.varint_field(kTensorElemType, io::onnx_elem_type(dtype));
  tensor.message_field(kTensorShape, dims);
  ProtoWriter type;
  type.message_field(kTypeTensor, tensor);
  ProtoWriter info;
  info.bytes_field(value_info_field::kName, name);
  info.message_field(value_info_field::kType, type);
  return info;
}

class OnnxBuilder final : public io::OnnxEmitter {
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
      const LayerDescriptor& kind = descriptor(spec.kind);
      if (kind.is_loss) continue;
      // The output keeps the layer's name; a 16-bit result is cast to it below.
      const std::string out = info.id == output_id && output_dtype != DType::F32
                                  ? info.id + "." + std::string(dtype_name(output_dtype))
                                  : info.id;
      if (kind.inputs == Arity::None)
        g.message_field(graph_field::kInput,
                        batched_value_info(info.id, DType::F32, info.output_shape));
      else if (!kind.rules->onnx)
        throw InputError("layer '" + info.id + "': " + std::string(kind.name) +
                         " layers have no ONNX form yet; export safetensors instead");
      shape_[info.id] = info.output_shape;
      if (kind.rules->onnx) kind.rules->onnx(*this, spec, out);
      tensor_[info.id] = out;
    }
    if (output_dtype != DType::F32)
      node("Cast", {tensor_.at(output_id)}, output_id, {io::cast_to_attr(DType::F32)});

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
            const std::string& output, const std::vector<io::OnnxAttr>& attrs = {}) override {
    ProtoWriter n;
    for (const auto& i : inputs) n.bytes_field(node_field::kInput, i);
    n.bytes_field(node_field::kOutput, output);
    n.bytes_field(node_field::kName, output);  // one output per node: unique
    n.bytes_field(node_field::kOpType, op);
    for (const auto& a : attrs) n.message_field(node_field::kAttribute, attr(a));
    nodes_.message_field(graph_field::kNode, n);
  }

  DType dtype(const LayerSpec& spec) const override { return dtype_.at(spec.id); }

  void initializer(const std::string& name, DType dtype, const std::vector<std::int64_t>& dims,
                   const std::vector<std::uint8_t>& bytes) {
    initializer(name, io::onnx_elem_type(dtype), dims, bytes);
  }

  void initializer(const std::string& name, std::int64_t elem_type,
                   const std::vector<std::int64_t>& dims, const std::vector<std::uint8_t>& bytes) {
    ProtoWriter t;
    for (auto d : dims) t.varint_field(tensor_field::kDims, d);
    t.varint_field(tensor_field::kDataType, elem_type);
    t.bytes_field(tensor_field::kName, name);
    t.bytes_field(tensor_field::kRawData, bytes);
    initializers_.message_field(graph_field::kInitializer, t);
  }

  // A model-state tensor as an initializer of the given dtype; returns its name.
  std::string weight(const std::string& name, DType dtype) override {
    const Tensor& t = *state_.at(name);
    const std::vector<std::uint8_t> raw = t.to_host_bytes();
    std::vector<std::uint8_t> bytes(std::size_t(t.numel()) * dtype_size(dtype));
    convert(raw.data(), t.dtype(), bytes.data(), dtype, std::size_t(t.numel()));
    initializer(name, dtype, t.shape().dims(), bytes);
    return name;
  }

  std::string scalar(const std::string& name, float value, DType dtype) override {
    std::vector<std::uint8_t> bytes(dtype_size(dtype));
    convert(&value, DType::F32, bytes.data(), dtype, 1);
    initializer(name, dtype, {}, bytes);
    return name;
  }

  // int64 little-endian, as raw_data stores it.
  static std::vector<std::uint8_t> int64_bytes(const std::vector<std::int64_t>& values) {
    std::vector<std::uint8_t> bytes;
    for (std::int64_t v : values)
      for (int b = 0; b < 8; ++b) bytes.push_back(std::uint8_t(std::uint64_t(v) >> (8 * b)));
    return bytes;
  }

  std::string ints(const std::string& name, const std::vector<std::int64_t>& values) override {
    initializer(name, io::kOnnxInt64, {std::int64_t(values.size())}, int64_bytes(values));
    return name;
  }

  std::string ints_scalar(const std::string& name, std::int64_t value) override {
    initializer(name, io::kOnnxInt64, {}, int64_bytes({value}));
    return name;
  }

  std::string floats(const std::string& name, const std::vector<std::int64_t>& dims,
                     const std::vector<float>& values, DType dtype) override {
    std::vector<std::uint8_t> bytes(values.size() * dtype_size(dtype));
    convert(values.data(), DType::F32, bytes.data(), dtype, values.size());
    initializer(name, dtype, dims, bytes);
    return name;
  }

  // `tensor` as dtype `to`, through one Cast per (tensor, dtype) however many
  // layers need it.
  std::string cast_to(const std::string& tensor, DType to) override {
    const std::string key = tensor + "\n" + std::string(dtype_name(to));
    if (auto it = casts_.find(key); it != casts_.end()) return it->second;
    const std::string output = tensor + ".as_" + std::string(dtype_name(to));
    node("Cast", {tensor}, output, {io::cast_to_attr(to)});
    casts_[key] = output;
    return output;
  }

  // Input k of the layer, in the dtype the layer computes in.
  std::string input(const LayerSpec& spec, std::size_t k) override {
    const std::string& src = spec.inputs[k];
    const DType want = dtype_.at(spec.id);
    return dtype_.at(src) == want ? tensor_.at(src) : cast_to(tensor_.at(src), want);
  }

  const Shape& input_shape(const LayerSpec& spec, std::size_t k) const override {
    return shape_.at(spec.inputs[k]);
  }

  Graph& graph_;
  Policy policy_;
  std::map<std::string, Shape> shape_;         // layer id -> its per-sample output shape
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
