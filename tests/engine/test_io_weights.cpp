// Weights out of a Graph and back in: bit-identical round trips, 16-bit
// exports equal to PRECISION.md's conversion of the masters, strict matching
// on import, the trainer's init_weights and checkpoint restore.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/test_data_util.hpp"
#include "engine/test_store_util.hpp"
#include "engine/train_fixtures.hpp"
#include "io/io_fixtures.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/trainer.hpp"
#include "mantissa/weights_io.hpp"

namespace mantissa {
namespace {

using io_test::infer;
using io_test::load_test_project;
using io_test::randomize_state;
using io_test::test_values;
using store_test::TempDir;
namespace fs = std::filesystem;

const fs::path kSource = MANTISSA_SOURCE_DIR;

// Every parameter master and buffer, raw, by name.
std::map<std::string, std::vector<std::uint8_t>> state_bytes(Graph& g) {
  std::map<std::string, std::vector<std::uint8_t>> out;
  for (Param* p : g.params()) out[p->name] = p->master.to_host_bytes();
  for (Buffer* b : g.buffers()) out[b->name] = b->value.to_host_bytes();
  return out;
}

std::vector<float> test_input(Graph& g, std::int64_t batch) {
  return test_values(std::size_t(io_test::input_numel(g, batch)), 99, -2.0f, 2.0f);
}

std::string load_error(Graph& g, const fs::path& file) {
  try {
    load_weights(g, file);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

class IoWeights : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Backend> backend_ = create_backend("cpu");
  TempDir dir_;
};

TEST_P(IoWeights, RoundTripIsBitIdenticalAndGivesIdenticalOutputs) {
  const Project project = load_test_project(kSource, GetParam());
  for (Policy policy : {Policy::Float32, Policy::MixedFloat16, Policy::MixedBFloat16}) {
    SCOPED_TRACE(std::string(policy_name(policy)));
    Graph a(project.model, *backend_, policy, 1);
    randomize_state(a, 7);
    const fs::path file = dir_ / "w.safetensors";
    write_safetensors(file, model_state(a, DType::F32),
                      export_metadata(a, {&project, 3, 12}, DType::F32));

    Graph b(project.model, *backend_, policy, 2);
    ASSERT_NE(state_bytes(a), state_bytes(b)) << "the second graph must start different";
    load_weights(b, file);
    EXPECT_EQ(state_bytes(a), state_bytes(b));

    const auto x = test_input(a, 5);
    const auto ya = infer(a, x, 5);
    const auto yb = infer(b, x, 5);
    ASSERT_EQ(ya.size(), std::size_t(5 * a.output_shape().numel()));
    EXPECT_EQ(ya, yb);

    const auto meta = read_safetensors(file).metadata;
    EXPECT_EQ(meta.at("format"), "mantissa");
    EXPECT_EQ(meta.at("policy"), policy_name(policy));
    EXPECT_EQ(meta.at("run_id"), "3");
    EXPECT_EQ(meta.at("step"), "12");
    EXPECT_EQ(meta.at("dtype"), "f32");
    // The model graph travels with the weights and parses back to the same model.
    const Project again = parse_project(meta.at("project"), "metadata");
    EXPECT_EQ(project_to_json(again), project_to_json(project));
  }
}

TEST_P(IoWeights, SixteenBitExportsEqualTheConversionOfTheMasters) {
  const Project project = load_test_project(kSource, GetParam());
  Graph g(project.model, *backend_, Policy::Float32, 1);
  randomize_state(g, 3);
  const auto masters = state_bytes(g);
  for (DType dtype : {DType::F16, DType::BF16}) {
    const fs::path file = dir_ / "w16.safetensors";
    write_safetensors(file, model_state(g, dtype), {});
    const WeightsFile w = read_safetensors(file);
    ASSERT_EQ(w.tensors.size(), masters.size());
    for (const auto& [name, bytes] : masters) {
      const HostTensor* t = w.find(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->dtype, dtype);
      const std::size_t n = bytes.size() / 4;
      std::vector<std::uint8_t> want(n * 2);
      convert(bytes.data(), DType::F32, want.data(), dtype, n);
      EXPECT_EQ(t->bytes, want) << name << " " << dtype_name(dtype);
    }
    // Importing 16-bit weights into fp32 masters is exact.
    Graph h(project.model, *backend_, Policy::Float32, 5);
    load_weights(h, file);
    for (Param* p : h.params()) {
      const HostTensor* t = w.find(p->name);
      std::vector<float> want(std::size_t(p->master.numel()));
      convert(t->bytes.data(), dtype, want.data(), DType::F32, want.size());
      EXPECT_EQ(p->master.to_host(), want) << p->name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, IoWeights, ::testing::Values("dense", "conv"));

TEST(IoWeightsRounding, BoundaryValuesRoundToNearestEven) {
  auto backend = create_backend("cpu");
  const Project project = load_test_project(kSource, "dense");
  Graph g(project.model, *backend, Policy::Float32, 1);
  Param* w = g.params().front();
  ASSERT_EQ(w->name, "fc1.weight");
  std::vector<float> v = w->master.to_host();
  v[0] = 65520.0f;                        // fp16 overflow midpoint: inf
  v[1] = std::nextafter(65520.0f, 0.0f);  // just below: 65504
  v[2] = 1.0f + 0x1.0p-8f;                // bf16 tie: to even (down to 1.0)
  v[3] = 1.0f + 3 * 0x1.0p-8f;            // bf16 tie: to even (up)
  v[4] = 6e-8f;                           // fp16 subnormal 2^-24
  v[5] = -0.0f;
  w->master.copy_from_host(v.data());

  TempDir dir;
  auto bits = [&](DType dtype) {
    write_safetensors(dir / "b.safetensors", model_state(g, dtype));
    const WeightsFile file = read_safetensors(dir / "b.safetensors");
    const HostTensor* t = file.find("fc1.weight");
    std::vector<std::uint16_t> out(6);
    std::memcpy(out.data(), t->bytes.data(), 12);
    return out;
  };
  EXPECT_EQ(bits(DType::F16),
            (std::vector<std::uint16_t>{0x7C00, 0x7BFF, 0x3C04, 0x3C0C, 0x0001, 0x8000}));
  EXPECT_EQ(bits(DType::BF16),
            (std::vector<std::uint16_t>{0x4780, 0x4780, 0x3F80, 0x3F82, 0x3381, 0x8000}));
}

TEST(IoWeightsImport, SixteenBitMastersAreRoundedFromFp32Files) {
  auto backend = create_backend("cpu");
  const Project project = load_test_project(kSource, "dense");
  Graph a(project.model, *backend, Policy::Float32, 1);
  randomize_state(a, 11);
  TempDir dir;
  write_safetensors(dir / "w.safetensors", model_state(a, DType::F32));
  Graph pure(project.model, *backend, Policy::Float16, 2);  // fp16 masters
  load_weights(pure, dir / "w.safetensors");
  for (Param* p : pure.params()) {
    ASSERT_EQ(p->master.dtype(), DType::F16);
    std::vector<float> src;
    for (Param* q : a.params())
      if (q->name == p->name) src = q->master.to_host();
    std::vector<std::uint16_t> want(src.size());
    for (std::size_t i = 0; i < src.size(); ++i) want[i] = f32_to_f16(src[i]);
    std::vector<std::uint16_t> got(src.size());
    const auto raw = p->master.to_host_bytes();
    std::memcpy(got.data(), raw.data(), raw.size());
    EXPECT_EQ(got, want) << p->name;
  }
}

TEST(IoWeightsImport, MismatchListsMissingUnexpectedAndWrongShapesInOneError) {
  auto backend = create_backend("cpu");
  const Project project = parse_project(R"({
    "format": "mantissa-project", "version": 1, "name": "small",
    "dataset": {"kind": "spirals"},
    "model": {"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [4]}},
      {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 3}},
      {"id": "fc3", "type": "Linear", "inputs": ["fc1"], "params": {"out_features": 2}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc3"]}]}
  })",
                                        "small.json");
  Graph g(project.model, *backend, Policy::Float32, 1);
  const auto before = state_bytes(g);

  auto zeros = [](std::string name, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return HostTensor{std::move(name), DType::F32, std::move(shape),
                      std::vector<std::uint8_t>(std::size_t(n) * 4)};
  };
  TempDir dir;
  const fs::path file = dir / "model.safetensors";
  write_safetensors(file, {zeros("fc1.weight", {5, 4}), zeros("fc1.bias", {3}),
                           zeros("fc3.weight", {2, 3}), zeros("head.weight", {2})});
  EXPECT_EQ(load_error(g, file),
            file.string() +
                " does not fit the model: missing fc3.bias; unexpected head.weight; wrong shape "
                "fc1.weight (file 5×4, model 3×4)");
  EXPECT_EQ(state_bytes(g), before) << "a rejected file must not change any weight";

  // Several of a kind are listed together; buffers count like parameters.
  const Project dense = load_test_project(kSource, "dense");
  Graph d(dense.model, *backend, Policy::Float32, 1);
  std::vector<HostTensor> state = model_state(d, DType::F32);
  std::erase_if(state, [](const HostTensor& t) { return t.name.starts_with("bn1."); });
  write_safetensors(file, state);
  EXPECT_EQ(load_error(d, file), file.string() +
                                     " does not fit the model: missing bn1.bias, bn1.running_mean, "
                                     "bn1.running_var, bn1.weight");
}

TEST(IoWeightsTrainer, InitWeightsLoadsTheFileBeforeTraining) {
  auto backend = create_backend("cpu");
  const Project project = testing::spirals_project(Policy::MixedFloat16, 4);
  Graph source(project.model, *backend, project.training.policy, 1234);
  randomize_state(source, 5);
  TempDir dir;
  write_safetensors(dir / "init.safetensors", model_state(source, DType::F32));

  TrainOptions options;
  options.init_weights = dir / "init.safetensors";
  Trainer trainer(project, *backend, options);
  EXPECT_EQ(state_bytes(trainer.graph()), state_bytes(source));
  Trainer plain(project, *backend);
  EXPECT_NE(state_bytes(plain.graph()), state_bytes(source));

  // A file for another model stops the run before it starts, naming the file.
  const Project dense = load_test_project(kSource, "dense");
  Graph other(dense.model, *backend, Policy::Float32, 1);
  write_safetensors(dir / "other.safetensors", model_state(other, DType::F32));
  options.init_weights = dir / "other.safetensors";
  try {
    Trainer bad(project, *backend, options);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("other.safetensors does not fit the model: unexpected "
                                         "bn1.bias"),
              std::string::npos)
        << e.what();
  } catch (...) {
    FAIL() << "expected InputError";
  }
}

TEST(IoWeightsTrainer, CheckpointRestoresParamsAndBatchNormStatistics) {
  auto backend = create_backend("cpu");
  const Project project = load_test_project(kSource, "dense");
  Trainer trainer(project, *backend);
  testing::RecordingSink sink;
  TrainControl control;
  ASSERT_EQ(trainer.run(sink, control).outcome, RunOutcome::Finished) << sink.summary.error;
  ASSERT_FALSE(sink.checkpoints.empty());

  Graph g(project.model, *backend, project.training.policy, 77);
  restore_model_state(g, sink.checkpoints.back().second);
  EXPECT_EQ(state_bytes(g), state_bytes(trainer.graph()));
  // Training moved the running statistics away from their initial 0 and 1.
  Graph fresh(project.model, *backend, project.training.policy, 77);
  for (Buffer* b : g.buffers())
    for (Buffer* f : fresh.buffers())
      if (b->name == f->name) {
        EXPECT_NE(b->value.to_host(), f->value.to_host()) << b->name;
      }

  const auto x = test_input(g, 4);
  EXPECT_EQ(infer(g, x, 4), infer(trainer.graph(), x, 4));
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// Exported weights carry their project: open_project() on the file gives the
// project as trained and says that runs start from the file's weights.
TEST(IoWeightsBundle, ExportedWeightsOpenAsTheirProject) {
  auto backend = create_backend("cpu");
  const Project project = testing::spirals_project(Policy::MixedBFloat16, 4);
  Graph g(project.model, *backend, project.training.policy, 1);
  TempDir dir;
  const fs::path file = dir / "moved" / "model.safetensors";
  fs::create_directories(file.parent_path());
  write_safetensors(file, model_state(g, DType::F32),
                    export_metadata(g, {&project, 9, 4}, DType::F32));

  ASSERT_TRUE(is_weights_file(file));
  ASSERT_FALSE(is_weights_file(kSource / "projects" / "spirals.json"));
  std::optional<fs::path> weights;
  const Project opened = open_project(file, &weights);
  ASSERT_TRUE(weights.has_value());
  EXPECT_EQ(*weights, file);
  EXPECT_EQ(project_to_json(opened), project_to_json(project));
  EXPECT_EQ(opened.file, file);  // messages and relative paths refer to the weights file

  // A project file opens as before, with no weights.
  weights.reset();
  const Project json = open_project(kSource / "projects" / "spirals.json", &weights);
  EXPECT_EQ(json.name, "spirals");
  EXPECT_FALSE(weights.has_value());

  // Weights written without a project: one message naming the file.
  write_safetensors(dir / "bare.safetensors", model_state(g, DType::F32));
  try {
    open_project(dir / "bare.safetensors");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bare.safetensors: holds weights but no project"),
              std::string::npos)
        << e.what();
  }

  // An embedded project that is no JSON: its line and column are the
  // project's, and the message says so.
  write_safetensors(dir / "broken.safetensors", model_state(g, DType::F32),
                    {{"project", "{\"format\": "}});
  test_data::expect_input_error([&] { open_project(dir / "broken.safetensors"); },
                                {"broken.safetensors (its metadata \"project\"): line 1, column",
                                 "not valid JSON"});
}

}  // namespace
}  // namespace mantissa
