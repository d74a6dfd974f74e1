// ONNX export: the structure of the written ModelProto, read back with a
// minimal protobuf decoder (field numbers from onnx.proto). The numbers an
// exported model computes are checked by tests/io/check_onnx.py.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "engine/test_store_util.hpp"
#include "io/io_fixtures.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {
namespace {

using store_test::read_bytes;
using store_test::TempDir;
namespace fs = std::filesystem;

const fs::path kSource = MANTISSA_SOURCE_DIR;

// One decoded protobuf message: its fields in order.
struct Message {
  struct Field {
    std::uint32_t number;
    std::uint64_t varint = 0;  // wire types 0 and 5
    std::string bytes;         // wire type 2
  };
  std::vector<Field> fields;

  static Message parse(const std::string& b) {
    Message m;
    std::size_t pos = 0;
    auto varint = [&] {
      std::uint64_t v = 0;
      for (int shift = 0;; shift += 7) {
        if (pos >= b.size()) throw std::runtime_error("truncated varint");
        const auto c = std::uint8_t(b[pos++]);
        v |= std::uint64_t(c & 0x7F) << shift;
        if (!(c & 0x80)) return v;
      }
    };
    while (pos < b.size()) {
      const std::uint64_t tag = varint();
      Field f{std::uint32_t(tag >> 3)};
      switch (tag & 7) {
        case 0:
          f.varint = varint();
          break;
        case 5:
          std::memcpy(&f.varint, b.data() + pos, 4);
          pos += 4;
          break;
        case 2: {
          const std::uint64_t n = varint();
          if (n > b.size() - pos) throw std::runtime_error("truncated field");
          f.bytes = b.substr(pos, n);
          pos += n;
          break;
        }
        default:
          throw std::runtime_error("unexpected wire type");
      }
      m.fields.push_back(std::move(f));
    }
    return m;
  }
  std::vector<const Field*> all(std::uint32_t n) const {
    std::vector<const Field*> out;
    for (const auto& f : fields)
      if (f.number == n) out.push_back(&f);
    return out;
  }
  const Field* first(std::uint32_t n) const {
    auto v = all(n);
    return v.empty() ? nullptr : v.front();
  }
  std::string str(std::uint32_t n) const { return first(n) ? first(n)->bytes : ""; }
  Message msg(std::uint32_t n) const { return parse(str(n)); }
};

struct Node {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, Message> attrs;
  std::int64_t attr_int(const std::string& a) const {
    return std::int64_t(attrs.at(a).first(3)->varint);
  }
  float attr_float(const std::string& a) const {
    float f;
    const auto bits = std::uint32_t(attrs.at(a).first(2)->varint);
    std::memcpy(&f, &bits, 4);
    return f;
  }
  std::vector<std::int64_t> attr_ints(const std::string& a) const {
    std::vector<std::int64_t> v;
    for (const auto* f : attrs.at(a).all(8)) v.push_back(std::int64_t(f->varint));
    return v;
  }
};

struct Exported {
  Message model, graph;
  std::vector<Node> nodes;
  std::map<std::string, std::int64_t> initializer_types;  // name -> TensorProto.data_type

  const Node& producer(const std::string& tensor) const {
    for (const auto& n : nodes)
      if (n.outputs.at(0) == tensor) return n;
    throw std::runtime_error("no node makes " + tensor);
  }
  std::multiset<std::string> ops() const {
    std::multiset<std::string> s;
    for (const auto& n : nodes) s.insert(n.op);
    return s;
  }
};

Exported read_onnx(const fs::path& file) {
  Exported e;
  e.model = Message::parse(read_bytes(file));
  e.graph = e.model.msg(7);
  for (const auto* f : e.graph.all(1)) {
    const Message m = Message::parse(f->bytes);
    Node n{m.str(4), m.str(3), {}, {}, {}};
    for (const auto* i : m.all(1)) n.inputs.push_back(i->bytes);
    for (const auto* o : m.all(2)) n.outputs.push_back(o->bytes);
    for (const auto* a : m.all(5)) {
      Message am = Message::parse(a->bytes);
      n.attrs[am.str(1)] = am;
    }
    e.nodes.push_back(n);
  }
  for (const auto* f : e.graph.all(5)) {
    const Message t = Message::parse(f->bytes);
    e.initializer_types[t.str(8)] = std::int64_t(t.first(2)->varint);
  }
  return e;
}

// ValueInfoProto -> (name, elem_type, dims with "N" for the symbolic one).
std::tuple<std::string, std::int64_t, std::vector<std::string>> value_info(const std::string& b) {
  const Message v = Message::parse(b);
  const Message tensor = v.msg(2).msg(1);
  std::vector<std::string> dims;
  const Message shape = tensor.msg(2);  // the loop's range must outlive it
  for (const auto* d : shape.all(1)) {
    const Message dim = Message::parse(d->bytes);
    dims.push_back(dim.first(2) ? dim.str(2) : std::to_string(dim.first(1)->varint));
  }
  return {v.str(1), std::int64_t(tensor.first(1)->varint), dims};
}

class IoOnnx : public ::testing::Test {
 protected:
  Exported export_model(const std::string& name, DType dtype) {
    project_ = io_test::load_test_project(kSource, name);
    graph_ = std::make_unique<Graph>(project_.model, *backend_, Policy::Float32, 1);
    io_test::randomize_state(*graph_, 2);
    const fs::path file = dir_ / (name + ".onnx");
    export_onnx(*graph_, file, {dtype, project_.name, {{"run_id", "4"}}});
    return read_onnx(file);
  }
  std::unique_ptr<Backend> backend_ = create_backend("cpu");
  Project project_;
  std::unique_ptr<Graph> graph_;
  TempDir dir_;
};

TEST_F(IoOnnx, ModelHeaderNamesOpset17AndTheBatchDimension) {
  const Exported e = export_model("dense", DType::F32);
  EXPECT_EQ(e.model.first(1)->varint, 8u);  // IR version
  const Message opset = e.model.msg(8);
  EXPECT_EQ(opset.str(1), "");
  EXPECT_EQ(opset.first(2)->varint, 17u);
  EXPECT_EQ(e.model.str(2), "mantissa");
  const Message meta = e.model.msg(14);
  EXPECT_EQ(meta.str(1), "run_id");
  EXPECT_EQ(meta.str(2), "4");
  EXPECT_EQ(e.graph.str(2), "io-dense");

  ASSERT_EQ(e.graph.all(11).size(), 1u);
  EXPECT_EQ(
      value_info(e.graph.all(11)[0]->bytes),
      std::make_tuple(std::string("input"), std::int64_t(1), std::vector<std::string>{"N", "2"}));
  ASSERT_EQ(e.graph.all(12).size(), 1u);
  EXPECT_EQ(
      value_info(e.graph.all(12)[0]->bytes),
      std::make_tuple(std::string("head"), std::int64_t(1), std::vector<std::string>{"N", "3"}));
}

TEST_F(IoOnnx, DenseLayersMapToTheirOperators) {
  const Exported e = export_model("dense", DType::F32);
  const std::multiset<std::string> want{
      "Gemm",    "Gemm",      "Gemm", "Gemm", "Gemm", "BatchNormalization",
      "Relu",    "LeakyRelu", "Tanh", "Add",  "Add",  "LayerNormalization",
      "Div",     "Erf",       "Add",  "Mul",  "Mul",  "Identity",
      "Sigmoid", "Concat"};
  EXPECT_EQ(e.ops(), want);

  const Node& fc1 = e.producer("fc1");
  EXPECT_EQ(fc1.inputs, (std::vector<std::string>{"input", "fc1.weight", "fc1.bias"}));
  EXPECT_EQ(fc1.attr_int("transB"), 1);
  EXPECT_EQ(e.producer("fc3").inputs.size(), 2u) << "Linear without bias";
  EXPECT_FLOAT_EQ(e.producer("leaky").attr_float("alpha"), 0.2f);

  const Node& bn = e.producer("bn1");
  EXPECT_EQ(bn.inputs, (std::vector<std::string>{"fc1", "bn1.weight", "bn1.bias",
                                                 "bn1.running_mean", "bn1.running_var"}));
  EXPECT_FLOAT_EQ(bn.attr_float("epsilon"), 1e-5f);
  EXPECT_FLOAT_EQ(bn.attr_float("momentum"), 0.9f);

  // Add of three inputs is a chain of two.
  const Node& sum = e.producer("sum");
  EXPECT_EQ(sum.inputs.at(1), "tanh");
  EXPECT_EQ(e.producer(sum.inputs.at(0)).inputs, (std::vector<std::string>{"relu", "leaky"}));

  const Node& norm = e.producer("norm");
  EXPECT_EQ(norm.attr_int("axis"), -1);
  EXPECT_EQ(norm.inputs, (std::vector<std::string>{"sum", "norm.weight", "norm.bias"}));

  // GELU = 0.5 · x · (1 + erf(x / √2)), ending in the layer's own tensor.
  const Node& gelu = e.producer("gelu");
  EXPECT_EQ(gelu.op, "Mul");
  EXPECT_EQ(e.producer("drop").op, "Identity");
  EXPECT_EQ(e.producer("cat").attr_int("axis"), 1);
  EXPECT_EQ(e.producer("cat").inputs, (std::vector<std::string>{"sig", "drop"}));

  std::set<std::string> state;
  for (Param* p : graph_->params()) state.insert(p->name);
  for (Buffer* b : graph_->buffers()) state.insert(b->name);
  for (const auto& name : state) {
    ASSERT_TRUE(e.initializer_types.count(name)) << name;
    EXPECT_EQ(e.initializer_types.at(name), 1) << name;
  }
}

TEST_F(IoOnnx, ConvolutionAndPoolingCarryTheirWindows) {
  const Exported e = export_model("conv", DType::F32);
  const std::multiset<std::string> want{
      "Conv",        "BatchNormalization", "Relu",    "Concat",  "MaxPool", "Conv",
      "AveragePool", "GlobalAveragePool",  "Flatten", "Flatten", "Concat",  "Gemm"};
  EXPECT_EQ(e.ops(), want);
  const Node& conv1 = e.producer("conv1");
  EXPECT_EQ(conv1.attr_ints("kernel_shape"), (std::vector<std::int64_t>{3, 3}));
  EXPECT_EQ(conv1.attr_ints("pads"), (std::vector<std::int64_t>{1, 1, 1, 1}));
  const Node& conv2 = e.producer("conv2");
  EXPECT_EQ(conv2.inputs.size(), 2u) << "bias: false";
  EXPECT_EQ(conv2.attr_ints("kernel_shape"), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(conv2.attr_ints("strides"), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(e.producer("maxpool").attr_ints("strides"), (std::vector<std::int64_t>{2, 2}));
  const Node& avg = e.producer("avgpool");
  EXPECT_EQ(avg.attr_int("count_include_pad"), 0);
  EXPECT_EQ(avg.attr_ints("pads"), (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(e.producer("stack").attr_int("axis"), 1);
  const Node& gap = e.producer("gap");
  EXPECT_EQ(gap.op, "Flatten");
  EXPECT_EQ(e.producer(gap.inputs.at(0)).op, "GlobalAveragePool");
  EXPECT_EQ(value_info(e.graph.all(11)[0]->bytes),
            std::make_tuple(std::string("input"), std::int64_t(1),
                            std::vector<std::string>{"N", "2", "9", "9"}));
}

TEST_F(IoOnnx, Float16FollowsMixedPrecisionWithCastsAndFloat32Ends) {
  const Exported e = export_model("conv", DType::F16);
  constexpr std::int64_t kFloat = 1, kFloat16 = 10;
  EXPECT_EQ(e.initializer_types.at("conv1.weight"), kFloat16);
  EXPECT_EQ(e.initializer_types.at("conv1.bias"), kFloat16);
  EXPECT_EQ(e.initializer_types.at("fc.weight"), kFloat16);
  EXPECT_EQ(e.initializer_types.at("conv2.weight"), kFloat) << "pinned to fp32";
  EXPECT_EQ(e.initializer_types.at("bn.weight"), kFloat);
  EXPECT_EQ(e.initializer_types.at("bn.running_var"), kFloat);

  // The fp32 input is cast once for conv1; batch norm runs in fp32 between casts.
  const Node& conv1 = e.producer("conv1");
  EXPECT_EQ(e.producer(conv1.inputs.at(0)).op, "Cast");
  EXPECT_EQ(e.producer(conv1.inputs.at(0)).attr_int("to"), kFloat16);
  const Node& bn_out = e.producer("bn");
  EXPECT_EQ(bn_out.op, "Cast");
  EXPECT_EQ(e.producer(bn_out.inputs.at(0)).op, "BatchNormalization");
  // The pinned conv2 reads an fp32 copy of the fp16 max pool.
  EXPECT_EQ(e.producer(e.producer("conv2").inputs.at(0)).attr_int("to"), kFloat);

  // The graph's output stays float32 and keeps the layer's name.
  const Node& out = e.producer("fc");
  EXPECT_EQ(out.op, "Cast");
  EXPECT_EQ(out.attr_int("to"), kFloat);
  EXPECT_EQ(std::get<1>(value_info(e.graph.all(12)[0]->bytes)), kFloat);
  EXPECT_EQ(std::get<1>(value_info(e.graph.all(11)[0]->bytes)), kFloat);
}

TEST_F(IoOnnx, RejectsBf16AndUnwritablePaths) {
  project_ = io_test::load_test_project(kSource, "dense");
  Graph g(project_.model, *backend_, Policy::Float32, 1);
  try {
    export_onnx(g, dir_ / "m.onnx", {DType::BF16});
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.onnx: ONNX export takes --dtype f32 or f16"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "m.onnx"));
  try {
    export_onnx(g, "/etc/passwd/m.onnx", {});
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/etc/passwd/m.onnx: cannot write", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace mantissa
