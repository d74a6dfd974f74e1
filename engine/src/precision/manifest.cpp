// The numerics manifest (manifest.hpp).
#include "mantissa/manifest.hpp"

#include <omp.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.h>
#include <sstream>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/version.hpp"

namespace mantissa {

namespace {

using Json = nlohmann::ordered_json;

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

// The ISA features that change what the CPU computes, as /proc/cpuinfo lists them.
Json cpu_features() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  Json out = Json::object();
  for (const char* f : {"avx2", "f16c", "fma", "avx512f", "avx512_bf16", "avx512_fp16",
                        "avx512_vnni", "amx_bf16", "amx_tile"})
    out[f] = flags.find(std::string(" ") + f + " ") != std::string::npos;
  return out;
}

std::string isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other (" + std::to_string(int(isa)) + ")";
  }
}

std::string fpmath_name() {
  dnnl_fpmath_mode_t mode = dnnl_fpmath_mode_strict;
  if (dnnl_get_default_fpmath_mode(&mode) != dnnl_success) return "unknown";
  switch (mode) {
    case dnnl_fpmath_mode_strict: return "strict";
    case dnnl_fpmath_mode_bf16: return "bf16";
    case dnnl_fpmath_mode_f16: return "f16";
    case dnnl_fpmath_mode_any: return "any";
    default: return "other";
  }
}

}  // namespace

std::uint64_t dataset_fingerprint(const Dataset& d) {
  // FNV-1a over 64-bit words (the values' bytes as stored), then the shape.
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&](const std::vector<float>& v) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());
    const std::size_t n = v.size() * sizeof(float);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, bytes + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < n; ++i) h = (h ^ bytes[i]) * 0x100000001b3ull;
    h = (h ^ n) * 0x100000001b3ull;
  };
  mix(d.features);
  mix(d.targets);
  return h;
}

std::string numerics_manifest_json(Backend& backend, const Project& project,
                                   std::uint64_t dataset_hash, std::uint64_t dropout_seed,
                                   const RankLayout& ranks) {
  Json j;
  j["mantissa_version"] = version_string();
  j["backend"] = backend.name();
  j["device"] = backend.description();
  const dnnl_version_t* v = dnnl_version();
  j["libraries"] = {{"oneDNN", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                   std::to_string(v->patch)}};
  j["cpu"] = {{"model", cpu_model()}, {"features", cpu_features()}, {"threads", omp_get_max_threads()}};
  j["onednn"] = {{"effective_isa", isa_name(dnnl_get_effective_cpu_isa())},
                 {"fpmath_mode", fpmath_name()}};
#if defined(__x86_64__)
  const unsigned csr = _mm_getcsr();
  j["flush_to_zero"] = (csr & 0x8000u) != 0;
  j["denormals_are_zero"] = (csr & 0x0040u) != 0;
#endif
  j["policy"] = std::string(policy_name(project.training.policy));
  j["tf32"] = project.training.allow_tf32;
  // How the batch was split and its gradients summed (docs/data-parallel.md).
  Json dp = {{"ranks", ranks.world_size}};
  if (ranks.world_size > 1) {
    dp["engine"] = ranks.engine;
    dp["reduce_order"] = ranks.reduce_order;
    if (!project.model.batch_norm_ids().empty())
      dp["batch_norm"] = project.training.sync_batch_norm ? "synchronised" : "per rank";
  }
  if (project.training.virtual_ranks > 1) dp["virtual_ranks"] = project.training.virtual_ranks;
  j["data_parallel"] = dp;
  // Which implementation ran each matmul, convolution and pooling shape.
  Json paths = Json::array();
  bool nondeterministic = false;
  if (auto* cpu = dynamic_cast<cpu::CpuBackend*>(&backend)) {
    for (const std::string& line : cpu->primitive_implementations()) paths.push_back(line);
  } else {
    for (const OpPath& p : backend.op_paths()) {
      paths.push_back(p.op + " " + p.shape + ": " + p.path + (p.fallback ? " (fallback)" : ""));
      if (p.path.find("non-deterministic") != std::string::npos) nondeterministic = true;
    }
  }
  j["op_paths"] = paths;
  j["seeds"] = {{"init_and_data_order", project.training.seed}, {"dropout", dropout_seed}};
  std::ostringstream hash;
  hash << std::hex << dataset_hash;
  j["dataset_fingerprint"] = hash.str();
  // Whether another run of the same project gives the same bits.
  if (backend.name() == "cpu")
    j["reproducibility"] =
        "bitwise here: the same build on a CPU with the same features and thread count gives the "
        "same bits";
  else if (nondeterministic)
    j["reproducibility"] = "non-deterministic: an algorithm in use adds in varying order";
  else
    j["reproducibility"] = "bitwise on the same GPU model and SM count with the same build";
  return j.dump();
}

}  // namespace mantissa
