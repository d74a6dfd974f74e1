// Golden trajectories: the shipped mlp, cnn and residual-mlp projects trained
// for a few steps under every policy on the CPU backend, from a fixed seed,
// on a fixed random IDX dataset. Per step the loss, scale, gradient norm and
// learning rate, and at the end a checksum of every master weight, are
// compared bit for bit with tests/engine/golden/trajectories.json. A change
// that moves any of them changes numerics; restructuring must not.
//
// oneDNN picks its kernels (and so its summation order) by instruction set
// and thread count, so the file records the machine it was written on; on
// another kind of CPU the trajectories are compared within a tolerance
// instead, and the test says so. MANTISSA_UPDATE_GOLDEN=1 rewrites the file.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/model.hpp"
#include "test_data_util.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

using Json = nlohmann::ordered_json;
using test_data::TempDir;

constexpr std::int64_t kSteps = 6;
constexpr std::int64_t kBatch = 32;
constexpr std::uint32_t kSamples = 256;
const char* const kProjects[] = {"mnist-mlp", "mnist-cnn", "residual-mlp"};
constexpr Policy kPolicies[] = {Policy::Float32, Policy::MixedFloat16, Policy::MixedBFloat16,
                                Policy::Float16, Policy::BFloat16};

std::filesystem::path golden_path() {
  return std::filesystem::path(MANTISSA_SOURCE_DIR) / "tests/engine/golden/trajectories.json";
}

// What decides oneDNN's kernels: the CPU's vector extensions and the threads.
std::string machine_signature() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) {
      flags = line;
      break;
    }
  std::string sig;
  for (const char* f : {"avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"}) {
    const std::string word = std::string(" ") + f;
    if (flags.find(word + " ") != std::string::npos || flags.ends_with(word))
      sig += std::string(sig.empty() ? "" : "+") + f;
  }
  const char* threads = std::getenv("OMP_NUM_THREADS");
  return sig + ", OMP_NUM_THREADS=" + (threads != nullptr ? threads : "unset");
}

std::uint64_t fnv1a(const std::vector<std::vector<std::uint8_t>>& blobs) {
  std::uint64_t h = 1469598103934665603ull;
  for (const auto& b : blobs)
    for (std::uint8_t byte : b) h = (h ^ byte) * 1099511628211ull;
  return h;
}

std::string hex(std::uint64_t v) {
  std::ostringstream s;
  s << std::hex << v;
  return s.str();
}

// A fixed random 28x28, 10-class IDX set in `dir`.
DatasetSpec random_idx(const std::filesystem::path& dir) {
  std::mt19937 rng(2024);
  std::vector<std::uint8_t> pixels(std::size_t(kSamples) * 28 * 28), labels(kSamples);
  for (auto& p : pixels) p = std::uint8_t(rng() % 256);
  for (auto& l : labels) l = std::uint8_t(rng() % 10);
  test_data::write_bytes(dir / "images.idx", test_data::idx_u8({kSamples, 28, 28}, pixels));
  test_data::write_bytes(dir / "labels.idx", test_data::idx_u8({kSamples}, labels));
  DatasetSpec d;
  d.kind = "idx";
  d.images = dir / "images.idx";
  d.labels = dir / "labels.idx";
  d.validation_fraction = 0.125;
  return d;
}

Json trajectory(const std::string& name, Policy policy, const DatasetSpec& data) {
  Project p = load_project(std::filesystem::path(MANTISSA_SOURCE_DIR) / "projects" /
                           (name + ".json"));
  p.dataset = data;
  p.training.policy = policy;
  p.training.steps = kSteps;
  p.training.batch_size = kBatch;
  p.training.seed = 11;
  auto backend = create_backend("cpu");
  testing::TrainedRun run = testing::train_on(*backend, p);
  Json steps = Json::array();
  for (const StepMetrics& m : run.sink.steps)
    steps.push_back({{"loss", hex(std::bit_cast<std::uint64_t>(m.loss))},
                     {"scale", m.loss_scale},
                     {"skipped", m.skipped},
                     {"grad_norm", hex(std::bit_cast<std::uint64_t>(m.grad_norm))},
                     {"lr", hex(std::bit_cast<std::uint64_t>(m.lr))}});
  return {{"project", name},
          {"policy", std::string(policy_name(policy))},
          {"steps", steps},
          {"masters_fnv1a", hex(fnv1a(run.masters))}};
}

double from_hex(const Json& j) {
  return std::bit_cast<double>(std::uint64_t(std::stoull(j.get<std::string>(), nullptr, 16)));
}

TEST(GoldenTrajectories, EveryPolicyOnTheShippedProjectsIsUnchanged) {
  TempDir dir;
  const DatasetSpec data = random_idx(dir.path());
  Json runs = Json::array();
  for (const char* name : kProjects)
    for (Policy policy : kPolicies) runs.push_back(trajectory(name, policy, data));

  const std::string here = machine_signature();
  if (const char* update = std::getenv("MANTISSA_UPDATE_GOLDEN"); update && *update == '1') {
    std::filesystem::create_directories(golden_path().parent_path());
    std::ofstream(golden_path()) << Json{{"machine", here}, {"runs", runs}}.dump(1) << "\n";
    GTEST_SKIP() << "wrote " << golden_path() << " (" << here << ")";
  }
  std::ifstream in(golden_path());
  ASSERT_TRUE(in) << golden_path() << " is missing; MANTISSA_UPDATE_GOLDEN=1 writes it";
  const Json golden = Json::parse(in);
  const bool same_machine = golden.at("machine").get<std::string>() == here;
  if (!same_machine)
    std::cout << "[ NOTE     ] golden trajectories were recorded on "
              << golden.at("machine").get<std::string>() << "; this is " << here
              << ": compared within 2% instead of bit for bit\n";
  ASSERT_EQ(golden.at("runs").size(), runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const Json& want = golden.at("runs")[r];
    const Json& got = runs[r];
    const std::string what =
        got.at("project").get<std::string>() + " " + got.at("policy").get<std::string>();
    ASSERT_EQ(want.at("project"), got.at("project"));
    ASSERT_EQ(want.at("policy"), got.at("policy"));
    ASSERT_EQ(want.at("steps").size(), got.at("steps").size()) << what;
    for (std::size_t s = 0; s < got.at("steps").size(); ++s) {
      const Json& ws = want.at("steps")[s];
      const Json& gs = got.at("steps")[s];
      if (same_machine) {
        EXPECT_EQ(ws, gs) << what << " step " << s + 1;
      } else {
        EXPECT_EQ(ws.at("skipped"), gs.at("skipped")) << what << " step " << s + 1;
        EXPECT_EQ(ws.at("scale"), gs.at("scale")) << what << " step " << s + 1;
        const double a = from_hex(ws.at("loss")), b = from_hex(gs.at("loss"));
        EXPECT_NEAR(a, b, 0.02 * std::abs(a) + 1e-6) << what << " step " << s + 1;
      }
    }
    if (same_machine) {
      EXPECT_EQ(want.at("masters_fnv1a"), got.at("masters_fnv1a")) << what;
    }
  }
}

}  // namespace
}  // namespace mantissa
