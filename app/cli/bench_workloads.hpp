#pragma once
// The workloads of `mantissa bench`: the models of the PyTorch peers
// (shared/peers/README.md: mlp, cnn, big, gpt, gpt2) as Mantissa projects,
// and the random data the bench feeds them from memory.
#include <cstdint>
#include <string>
#include <vector>

#include "mantissa/data.hpp"
#include "mantissa/model.hpp"

namespace mantissa::cli {

struct Workload {
  std::string name;
  std::string description;
  std::int64_t batch = 128;
  std::vector<std::int64_t> sample_shape;
  int classes = 10;
  std::string nodes;  // the model's nodes as project JSON
  std::int64_t default_steps = 600;
  std::int64_t default_warmup = 20;
  std::int64_t positions = 0;  // > 0: token ids in, one label per position (a language model)
};

const std::vector<Workload>& workloads();
const Workload& find_workload(const std::string& name);  // InputError naming the valid ones

// The workload as a project (its dataset entry is never loaded).
Project workload_project(const Workload& w);

// MNIST-shaped (or `big`-shaped) normal noise with uniform labels; uniform
// token ids and a label per position for the language models.
Dataset random_pool(const Workload& w);

}  // namespace mantissa::cli
