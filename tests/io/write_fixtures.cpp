// Writes the files the independent readers check, with NumPy dumps of what the
// files must contain, taken from the engine's tensors directly:
//
//   mantissa_io_fixtures models OUT [--backend NAME] [--source DIR]
//     OUT/<model>.<f32|f16|bf16>.safetensors, OUT/<model>.<f32|f16>.onnx,
//     OUT/<model>.stale.onnx (exported before the weights were set: a check
//     that passes on it cannot see weights), and in OUT/<model>/: masters/
//     <tensor>.npy (fp32 masters and buffers), input.npy, expected.f32.npy
//     (float32 inference) and expected.f16.npy (mixed_float16 inference).
//     The models are built and run on backend NAME (default cpu; e.g. cuda,
//     so the ONNX checks compare a runtime with the GPU's results). DIR is
//     the source tree holding tests/io/models/ (default: the one this program
//     was built from).
//   mantissa_io_fixtures run DB OUT
//     Trains the dense model into the run database DB (checkpoints at steps 6
//     and 12), adds a second run that has no checkpoint, and prints both run
//     ids. OUT/latest/ and OUT/step6/ hold the masters of the two checkpoints;
//     OUT/input.npy and OUT/expected.npy the float32 inference at step 12.
#include <algorithm>
#include <bit>
#include <fstream>
#include <limits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "io/io_fixtures.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/numerics_bits.hpp"
#include "mantissa/store.hpp"
#include "mantissa/trainer.hpp"
#include "mantissa/version.hpp"
#include "mantissa/weights_io.hpp"

namespace fs = std::filesystem;
using namespace mantissa;

namespace {

constexpr std::int64_t kBatch = 5;

void dump_masters(Graph& g, const fs::path& dir) {
  fs::create_directories(dir);
  for (Param* p : g.params())
    io_test::write_npy_f32(dir / (p->name + ".npy"), p->master.shape().dims(), p->master.to_host());
  for (Buffer* b : g.buffers())
    io_test::write_npy_f32(dir / (b->name + ".npy"), b->value.shape().dims(), b->value.to_host());
}

std::vector<std::int64_t> batched(std::int64_t n, const Shape& s) {
  std::vector<std::int64_t> d{n};
  d.insert(d.end(), s.dims().begin(), s.dims().end());
  return d;
}

// The vocabulary of the model's Embedding when its input is token ids; 0 otherwise.
std::int64_t token_vocabulary(Graph& g) {
  for (const LayerInfo& info : g.summary().layers)
    if (info.kind == LayerKind::Embedding) return g.layer(info.id).spec().vocab;
  return 0;
}

void write_inference(Graph& g, const fs::path& input_file, const fs::path& expected_file) {
  auto x = io_test::test_values(std::size_t(io_test::input_numel(g, kBatch)), 42, -2.0f, 2.0f);
  if (const std::int64_t vocab = token_vocabulary(g))  // ids in [0, vocab)
    for (float& v : x) v = std::min(std::floor((v + 2.0f) / 4.0f * float(vocab)), float(vocab - 1));
  io_test::write_npy_f32(input_file, batched(kBatch, g.input_shape()), x);
  io_test::write_npy_f32(expected_file, batched(kBatch, g.output_shape()),
                         io_test::infer(g, x, kBatch));
}

void write_models(const fs::path& source, const fs::path& out, const std::string& backend_name) {
  auto backend = create_backend(backend_name);
  for (const std::string name : {"dense", "conv", "sequence"}) {
    const Project project = io_test::load_test_project(source, name);
    Graph g(project.model, *backend, Policy::Float32, 1);
    const fs::path stem = out / name;
    export_onnx(g, out / (name + ".stale.onnx"), {DType::F32, project.name, {}});
    io_test::randomize_state(g, 17);
    dump_masters(g, stem / "masters");
    for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
      std::string suffix(".");
      suffix += dtype_name(dtype);
      write_safetensors(out / (name + suffix + ".safetensors"), model_state(g, dtype),
                        export_metadata(g, {&project, std::nullopt, std::nullopt}, dtype));
      if (dtype != DType::BF16)
        export_onnx(g, out / (name + suffix + ".onnx"), {dtype, project.name, {}});
    }
    write_inference(g, stem / "input.npy", stem / "expected.f32.npy");

    // What the f16 ONNX model mirrors: the engine under mixed_float16.
    Graph mixed(project.model, *backend, Policy::MixedFloat16, 2);
    load_weights(mixed, out / (name + ".f32.safetensors"));
    write_inference(mixed, stem / "input.npy", stem / "expected.f16.npy");
  }
}

// ---- numerics: the backend's words and histograms, for check_numerics.py ----

// A tensor as stored (raw bytes, .npy in its storage dtype) with the words and
// histogram the backend computed for it.
// corrupt_word >= 0 flips the low bit of that word in the file.
void dump_stats_case(Backend& be, const Tensor& t, const fs::path& out, const std::string& name,
                     int corrupt_word = -1) {
  namespace nb = numerics_bits;
  Tensor stats = Tensor::zeros(be, Shape{nb::kWords}, DType::F32);
  Tensor hist = Tensor::zeros(be, Shape{nb::kBins}, DType::F32);
  const float on = std::bit_cast<float>(1u);
  Tensor enable = Tensor::from_host(be, Shape{1}, DType::F32, &on);
  be.tensor_stats(t, stats, &hist, &enable);
  const std::vector<std::uint8_t> raw = t.to_host_bytes();
  const std::string descr =
      t.dtype() == DType::F32 ? "<f4" : (t.dtype() == DType::F16 ? "<f2" : "<u2");
  io_test::write_npy(out / (name + ".values.npy"), descr, {t.numel()}, raw.data(), raw.size());
  std::vector<std::uint8_t> w = stats.to_host_bytes();
  const std::vector<std::uint8_t> h = hist.to_host_bytes();
  if (corrupt_word >= 0) w[std::size_t(4 * corrupt_word)] ^= 1;
  io_test::write_npy(out / (name + ".words.npy"), "<u4", {nb::kWords}, w.data(), w.size());
  io_test::write_npy(out / (name + ".histogram.npy"), "<u4", {nb::kBins}, h.data(), h.size());
}

// Values in every class the words count, in each storage dtype; then the
// real tensors of one mixed_float16 training step of the dense model (its
// activations, gradients and 16-bit weights); then a case whose words are
// deliberately off by one, which the check must reject. Prints the case
// names, comma-separated.
void write_numerics(const fs::path& source, const fs::path& out, const std::string& backend_name) {
  auto be = create_backend(backend_name);
  std::vector<std::string> cases;
  const float inf = std::numeric_limits<float>::infinity();
  auto v = io_test::test_values(100003, 5, -1.0f, 1.0f);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const int e = int(i * 7919 % 171) - 150;  // exponents -150 .. 20
    v[i] = std::ldexp(v[i], e);
    if (i % 97 == 0) v[i] = (i % 3 == 0) ? inf : (i % 3 == 1 ? -inf : std::nanf(""));
    if (i % 89 == 0) v[i] = 0.0f;
    if (i % 83 == 0) v[i] = 65520.0f;
  }
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    Tensor t = Tensor::from_host(*be, Shape{std::int64_t(v.size())}, dtype, v.data());
    const std::string name = std::string(dtype_name(dtype)) + ".edges";
    dump_stats_case(*be, t, out, name);
    cases.push_back(name);
  }
  // One training step's own tensors, shown to an observer as they are made.
  struct Dump : TensorObserver {
    Backend& be;
    const fs::path& out;
    std::vector<std::string>& cases;
    Dump(Backend& b, const fs::path& o, std::vector<std::string>& c) : be(b), out(o), cases(c) {}
    void observe(const TensorEvent& e, const Tensor& t) override {
      if (e.slot < 0) return;
      const std::string name = std::string(dtype_name(t.dtype())) + ".slot" + std::to_string(e.slot);
      dump_stats_case(be, t, out, name);
      cases.push_back(name);
    }
  } dump(*be, out, cases);
  const Project project = io_test::load_test_project(source, "dense");
  Graph g(project.model, *be, Policy::MixedFloat16, 3);
  io_test::randomize_state(g, 23);
  const std::int64_t n = 64;
  const auto x = io_test::test_values(std::size_t(io_test::input_numel(g, n)), 8, -40.0f, 40.0f);
  const auto y = io_test::test_values(std::size_t(n * g.output_shape().numel()), 9, -1.0f, 1.0f);
  Tensor tx = Tensor::from_host(*be, Shape{n, g.input_shape()[0]}, DType::F32, x.data());
  Tensor ty = Tensor::from_host(*be, Shape{n, g.output_shape().numel()}, DType::F32, y.data());
  const float s = 4096.0f;
  Tensor scale = Tensor::from_host(*be, Shape{1}, DType::F32, &s);
  Tensor loss = Tensor::zeros(*be, Shape{1}, DType::F32);
  ExecContext ctx{*be, true, 7, nullptr};
  g.set_observer(&dump);
  g.prepare_step();
  g.forward(ctx, tx);
  g.loss_and_backward(ctx, ty, scale, loss);
  g.set_observer(nullptr);
  // The check must be able to fail: one count off by one.
  {
    Tensor t = Tensor::from_host(*be, Shape{std::int64_t(v.size())}, DType::F32, v.data());
    dump_stats_case(*be, t, out, "f32.wrong", numerics_bits::kZero);
  }
  std::string list;
  for (const std::string& c : cases) list += (list.empty() ? "" : ",") + c;
  std::ofstream(out / "cases.txt") << list;
}

// Hands checkpoints to the run database, as the faces do.
struct StoreSink : MetricsSink {
  RunStore& store;
  std::int64_t run_id;
  StoreSink(RunStore& s, std::int64_t id) : store(s), run_id(id) {}
  void checkpoint_written(std::int64_t step, std::int64_t epoch, CheckpointKind,
                          const std::vector<std::uint8_t>& blob) override {
    store.add_checkpoint(run_id, step, epoch, blob);
  }
};

void write_run(const fs::path& source, const fs::path& db, const fs::path& out) {
  auto backend = create_backend("cpu");
  const Project project = io_test::load_test_project(source, "dense");
  RunStore store(db);
  NewRun run;
  run.name = "export-test";
  run.project_name = project.name;
  run.project_json = project_to_json(project);
  run.policy = std::string(policy_name(project.training.policy));
  run.loss_scale_json = "{}";
  run.backend = backend->name();
  run.device = backend->description();
  run.library_versions = library_versions();
  run.seed = project.training.seed;
  const std::int64_t id = store.create_run(run);

  Trainer trainer(project, *backend);
  StoreSink sink(store, id);
  TrainControl control;
  const RunSummary summary = trainer.run(sink, control);
  if (summary.outcome != RunOutcome::Finished) throw Error("training failed: " + summary.error);
  store.set_status(id, RunStatus::Finished);

  dump_masters(trainer.graph(), out / "latest");
  write_inference(trainer.graph(), out / "input.npy", out / "expected.npy");
  Graph early(project.model, *backend, project.training.policy, 0);
  restore_model_state(early, store.checkpoint(id, 6).value().data);
  dump_masters(early, out / "step6");

  run.name = "no-checkpoint";
  const std::int64_t empty = store.create_run(run);
  store.set_status(empty, RunStatus::Failed, "stopped before its first checkpoint");
  std::cout << id << " " << empty << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path source = MANTISSA_SOURCE_DIR;
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "models" && argc >= 3 && argc % 2 == 1) {
      std::string backend = "cpu";
      fs::path models_source = source;
      bool options_ok = true;
      for (int i = 3; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--backend") {
          backend = argv[i + 1];
        } else if (option == "--source") {
          models_source = argv[i + 1];
        } else {
          options_ok = false;
        }
      }
      if (options_ok) {
        fs::create_directories(argv[2]);
        write_models(models_source, argv[2], backend);
        return 0;
      }
    }
    if (mode == "numerics" && argc >= 3) {
      fs::create_directories(argv[2]);
      write_numerics(source, argv[2], argc >= 5 && std::string(argv[3]) == "--backend" ? argv[4] : "cpu");
      return 0;
    }
    if (mode == "run" && argc == 4) {
      fs::create_directories(argv[3]);
      write_run(source, argv[2], argv[3]);
      return 0;
    }
    std::cerr << "usage: mantissa_io_fixtures models OUT [--backend NAME] [--source DIR]"
                 " | numerics OUT [--backend NAME] | run DB OUT\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mantissa_io_fixtures: " << e.what() << "\n";
    return 1;
  }
}
