#include "backends/cpu/cpu_backend.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <fstream>

namespace mantissa::cpu {

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) break;
    std::string name = line.substr(colon + 1);
    const auto first = name.find_first_not_of(" \t");
    const auto last = name.find_last_not_of(" \t\r");
    if (first == std::string::npos) break;
    return name.substr(first, last - first + 1);
  }
  return "CPU";
}

// oneDNN 2.6 builds bf16 kernels only for AVX-512 (and newer) CPUs; elsewhere
// primitive creation fails and the backend stages bf16 through fp32.
bool probe_native_bf16(const dnnl::engine& engine) {
  const dnnl::memory::desc md = plain_md({2, 2}, dnnl_dt::bf16);
  const dnnl::matmul::desc d(md, md, plain_md({2, 2}, dnnl_dt::f32));
  const dnnl::matmul::primitive_desc pd(d, DnnlContext::attr(), engine, /*allow_empty=*/true);
  return bool(pd);
}

}  // namespace

std::string cpu_device_description() {
  const int threads = omp_get_max_threads();
  return cpu_model_name() + " (" + std::to_string(threads) +
         (threads == 1 ? " thread)" : " threads)");
}

CpuBackend::CpuBackend(const CpuBackendOptions& options) {
  description_ = cpu_device_description();
  native_bf16_ = options.allow_native_bf16 && probe_native_bf16(dnnl_.engine());
}

void CpuBackend::upload(void* dst, const void* host_src, std::size_t bytes) {
  if (bytes > 0) std::memcpy(dst, host_src, bytes);
}

void CpuBackend::download(void* host_dst, const void* src, std::size_t bytes) {
  if (bytes > 0) std::memcpy(host_dst, src, bytes);
}

std::size_t CpuBackend::cached_primitives() {
  auto lock = dnnl_.lock();
  return dnnl_.cached_primitives();
}

std::vector<std::string> CpuBackend::primitive_implementations() {
  static constexpr const char* kNames[] = {
      "",        "matmul",  "conv forward", "conv backward data", "conv backward weights",
      "pool forward", "pool backward", "eltwise forward", "eltwise backward",
      "softmax", "log-softmax"};
  std::vector<std::string> out;
  {
    auto lock = dnnl_.lock();
    for (const auto& b : dnnl_.built_primitives()) {
      const auto op = std::size_t(b.op);
      std::string line = op < std::size(kNames) ? kNames[op] : "primitive";
      std::string fields;
      for (std::int64_t f : b.fields) fields += (fields.empty() ? "" : "x") + std::to_string(f);
      out.push_back(line + " [" + fields + "]: " + b.implementation);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mantissa::cpu
