// The registry: the one file that knows which backends this build contains.
#include <cctype>
#include <string>

#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

#ifdef MANTISSA_WITH_CUDA
// Provided by the CUDA backend (src/backends/cuda/): one entry per visible GPU
// ("cuda:0", ...), and a backend for a GPU ordinal, throwing InputError when
// that GPU cannot be used.
std::vector<DeviceInfo> cuda_list_devices();
std::unique_ptr<Backend> cuda_create_backend(int ordinal, const BackendOptions& options);
#endif

namespace {

constexpr const char* kValidChoices = "cpu, cuda, cuda:N";

#ifndef MANTISSA_WITH_CUDA
constexpr const char* kNoCuda = "this build has no CUDA backend";
#endif

// "cuda" -> 0, "cuda:3" -> 3; -1 for anything that is not a CUDA device name.
int parse_cuda_ordinal(const std::string& name) {
  if (name == "cuda") return 0;
  const std::string prefix = "cuda:";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size() ||
      name.size() > prefix.size() + 4) {
    return -1;
  }
  int ordinal = 0;
  for (std::size_t i = prefix.size(); i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    ordinal = ordinal * 10 + (name[i] - '0');
  }
  return ordinal;
}

}  // namespace

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> devices;
  devices.push_back({"cpu", cpu::cpu_device_description(), true, ""});
#ifdef MANTISSA_WITH_CUDA
  for (auto& d : cuda_list_devices()) devices.push_back(std::move(d));
#else
  devices.push_back({"cuda", "NVIDIA GPU", false, kNoCuda});
#endif
  return devices;
}

std::unique_ptr<Backend> create_backend(const std::string& name, const BackendOptions& options) {
  if (name == "cpu") return std::make_unique<cpu::CpuBackend>();
  const int ordinal = parse_cuda_ordinal(name);
  if (ordinal < 0) {
    throw InputError("unknown device \"" + name + "\"; valid choices: " + kValidChoices);
  }
#ifdef MANTISSA_WITH_CUDA
  return cuda_create_backend(ordinal, options);
#else
  (void)options;
  throw InputError("device \"" + name + "\" is not available: " + kNoCuda);
#endif
}

}  // namespace mantissa
