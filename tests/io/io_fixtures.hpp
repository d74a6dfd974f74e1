#pragma once
// Shared by the weight-I/O tests and the fixture writer: the test models, state
// that makes every tensor matter, inference forward passes and .npy output.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/model.hpp"

namespace mantissa::io_test {

// tests/io/models/<name>.mantissa.json: "dense" (every dense layer kind, MSE
// loss) and "conv" (convolutions, pools, batch norm over images, a pinned layer).
inline Project load_test_project(const std::filesystem::path& source_dir, const std::string& name) {
  return load_project(source_dir / "tests" / "io" / "models" / (name + ".mantissa.json"));
}

// Deterministic values in [lo, hi).
inline std::vector<float> test_values(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::vector<float> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = lo + (hi - lo) * float(double(s >> 11) * 0x1.0p-53);
  }
  return v;
}

// Gives every parameter and buffer distinct values (the initial batch-norm
// statistics and norm affine parameters are 0 and 1, which would hide a
// tensor swapped or dropped on export).
inline void randomize_state(Graph& graph, std::uint64_t seed) {
  std::uint64_t k = 0;
  for (Param* p : graph.params()) {
    auto v = test_values(std::size_t(p->master.numel()), seed + ++k, -0.8f, 0.8f);
    p->master.copy_from_host(v.data());
  }
  for (Buffer* b : graph.buffers()) {
    const bool var = b->name.ends_with(".running_var");
    auto v = test_values(std::size_t(b->value.numel()), seed + ++k, var ? 0.3f : -0.5f,
                         var ? 2.0f : 0.5f);
    b->value.copy_from_host(v.data());
  }
  graph.prepare_step();
}

// Inference-mode forward of a (batch, input...) fp32 batch; the output as fp32.
inline std::vector<float> infer(Graph& graph, const std::vector<float>& input, std::int64_t batch) {
  std::vector<std::int64_t> dims{batch};
  for (auto d : graph.input_shape().dims()) dims.push_back(d);
  Backend& backend = graph.backend();
  Tensor x = Tensor::from_host(backend, Shape(dims), DType::F32, input.data());
  ExecContext ctx{backend, false, 0};
  graph.prepare_step();
  std::vector<float> out = graph.forward(ctx, x).to_host();
  graph.clear_saved();
  return out;
}

inline std::int64_t input_numel(Graph& graph, std::int64_t batch) {
  return batch * graph.input_shape().numel();
}

// A .npy file (format 1.0): descr is "<f4", "<f2" or "<u2".
inline void write_npy(const std::filesystem::path& file, const std::string& descr,
                      const std::vector<std::int64_t>& shape, const void* data, std::size_t bytes) {
  std::string tuple;  // Python's spelling: "()", "(3,)", "(2, 3)"
  for (std::size_t i = 0; i < shape.size(); ++i)
    tuple += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) tuple += ",";
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + tuple + "), }";
  std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::ofstream out(file, std::ios::binary);
  const std::uint16_t len = std::uint16_t(dict.size());
  out.write("\x93NUMPY\x01\x00", 8);
  const char le[2] = {char(len & 0xFF), char(len >> 8)};
  out.write(le, 2);
  out.write(dict.data(), std::streamsize(dict.size()));
  out.write(static_cast<const char*>(data), std::streamsize(bytes));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

inline void write_npy_f32(const std::filesystem::path& file, const std::vector<std::int64_t>& shape,
                          const std::vector<float>& values) {
  write_npy(file, "<f4", shape, values.data(), values.size() * 4);
}

}  // namespace mantissa::io_test
