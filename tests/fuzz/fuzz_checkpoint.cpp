// Checkpoints (train/checkpoint.hpp), through CheckpointReader only:
//  1. the input as a checkpoint blob: read the entries a trainer reads, and
//     restore a small model from it as `mantissa export` does;
//  2. the input as a recipe for CheckpointWriter (names, integers, doubles,
//     small tensors), whose blob must read back exactly, then once more with
//     one byte changed or the blob cut short, which may be accepted or
//     refused with mantissa::Error but nothing else.
// Part 2 keeps reaching the parser behind any integrity check the format
// gains, since the writer produces blobs that pass it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <variant>

#include "fuzz_util.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/weights_io.hpp"
#include "train/checkpoint.hpp"

namespace {

using namespace mantissa;

constexpr const char* kTinyProject = R"json({
  "format": "mantissa-project", "version": 1, "name": "tiny",
  "dataset": {"kind": "spirals", "samples": 64},
  "model": {"nodes": [
    {"id": "input", "type": "Input", "params": {"shape": [2]}},
    {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 4}},
    {"id": "bn", "type": "BatchNorm", "inputs": ["fc1"]},
    {"id": "tanh1", "type": "Tanh", "inputs": ["bn"]},
    {"id": "fc2", "type": "Linear", "inputs": ["tanh1"], "params": {"out_features": 2}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]}
})json";

Backend& cpu() {
  static const std::unique_ptr<Backend> backend = create_backend("cpu");
  return *backend;
}

Graph& tiny_graph() {
  static const Project project = parse_project(kTinyProject, "tiny.json");
  static Graph graph(project.model, cpu(), Policy::MixedFloat16, 1);
  return graph;
}

// What the trainer and the exporter read from a blob.
void read_like_the_engine(const std::vector<std::uint8_t>& blob) {
  fuzz::accepts([&] {
    const CheckpointReader r(blob);
    (void)r.has("state");
    for (const char* name : {"step", "steps_per_epoch", "epoch_loss_count", "warned_small_scale",
                             "warned_consecutive"})
      fuzz::accepts([&] { (void)r.read_int(name); });
    for (const char* name : {"epoch_loss_sum", "wall_time_s"})
      fuzz::accepts([&] { (void)r.read_double(name); });
  });
  fuzz::accepts([&] { restore_model_state(tiny_graph(), blob); });
}

struct Tensorish {
  DType dtype;
  std::vector<std::int64_t> dims;
  std::vector<float> values;
};
using Value = std::variant<std::int64_t, double, Tensorish>;

void round_trip(FuzzedDataProvider& in) {
  std::map<std::string, Value> expected;
  CheckpointWriter w;
  const int count = in.ConsumeIntegralInRange(0, 12);
  for (int i = 0; i < count && in.remaining_bytes() > 0; ++i) {
    std::string name = in.ConsumeRandomLengthString(24);
    switch (in.ConsumeIntegralInRange(0, 2)) {
      case 0: {
        const auto v = in.ConsumeIntegral<std::int64_t>();
        w.add_int(name, v);
        expected[name] = v;
        break;
      }
      case 1: {
        // Any bit pattern, NaNs included: compared as bits below.
        const auto bits = in.ConsumeIntegral<std::uint64_t>();
        double v;
        std::memcpy(&v, &bits, 8);
        w.add_double(name, v);
        expected[name] = v;
        break;
      }
      default: {
        Tensorish t;
        t.dtype = in.PickValueInArray({DType::F32, DType::F16, DType::BF16});
        const int rank = in.ConsumeIntegralInRange(0, 3);
        std::int64_t numel = 1;
        for (int k = 0; k < rank; ++k) {
          t.dims.push_back(in.ConsumeIntegralInRange<std::int64_t>(1, 4));
          numel *= t.dims.back();
        }
        for (std::int64_t k = 0; k < numel; ++k)
          t.values.push_back(in.ConsumeFloatingPointInRange<float>(-1e4f, 1e4f));
        const Tensor tensor = Tensor::from_host(cpu(), Shape(t.dims), t.dtype, t.values.data());
        w.add_tensor(name, tensor);
        expected[name] = std::move(t);
        break;
      }
    }
  }
  std::vector<std::uint8_t> blob = w.finish();

  const CheckpointReader r(blob);  // a blob the writer made must read
  for (const auto& [name, value] : expected) {
    if (!r.has(name)) fuzz::die("checkpoint lost entry '" + name + "'");
    if (const auto* i = std::get_if<std::int64_t>(&value)) {
      if (r.read_int(name) != *i) fuzz::die("checkpoint changed integer '" + name + "'");
    } else if (const auto* d = std::get_if<double>(&value)) {
      const double got = r.read_double(name);
      if (std::memcmp(&got, d, 8) != 0) fuzz::die("checkpoint changed double '" + name + "'");
    } else {
      const auto& t = std::get<Tensorish>(value);
      const Tensor want = Tensor::from_host(cpu(), Shape(t.dims), t.dtype, t.values.data());
      Tensor got = Tensor::zeros(cpu(), Shape(t.dims), t.dtype);
      r.read_tensor(name, got);
      if (got.to_host_bytes() != want.to_host_bytes())
        fuzz::die("checkpoint changed tensor '" + name + "'");
    }
  }

  // One change to a valid blob.
  if (in.remaining_bytes() == 0 || blob.empty()) return;
  const auto at = in.ConsumeIntegralInRange<std::size_t>(0, blob.size() - 1);
  if (in.ConsumeBool())
    blob.resize(at);
  else
    blob[at] ^= std::uint8_t(in.ConsumeIntegralInRange(1, 255));
  read_like_the_engine(blob);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read_like_the_engine(std::vector<std::uint8_t>(data, data + size));
  FuzzedDataProvider in(data, size);
  round_trip(in);
  return 0;
}
