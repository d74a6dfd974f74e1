// The registry: the one file that knows which backends exist. The CPU
// backend is part of the engine; the CUDA backend is a module
// (libmantissa-cuda.so, backend_plugin.hpp) loaded on first use from
// $MANTISSA_BACKEND_PATH or from the directory that holds the engine library.
#include <dlfcn.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/backend_plugin.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

namespace {

namespace fs = std::filesystem;

constexpr const char* kValidChoices = "cpu, cuda, cuda:N";
constexpr const char* kCudaModule = "libmantissa-cuda.so";

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

// Where modules are looked for, in order.
std::vector<fs::path> module_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("MANTISSA_BACKEND_PATH"); env != nullptr) {
    std::string list = env;
    std::size_t start = 0;
    while (start <= list.size()) {
      const std::size_t end = std::min(list.find(':', start), list.size());
      if (end > start) dirs.emplace_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  // Next to the engine library (build tree: build/lib; installed:
  // <libdir>/mantissa).
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&list_devices), &info) != 0 && info.dli_fname != nullptr)
    dirs.push_back(fs::path(info.dli_fname).parent_path().lexically_normal());
  return dirs;
}

struct LoadedModule {
  const BackendPlugin* api = nullptr;
  std::string reason;  // why api is null
};

LoadedModule load_module(const char* file) {
  LoadedModule m;
  std::string looked;
  for (const fs::path& dir : module_dirs()) {
    const fs::path path = dir / file;
    looked += (looked.empty() ? "" : ", ") + dir.string();
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    // Never closed: the module's libraries tear themselves down at exit.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      m.reason = "the CUDA backend module " + path.string() + " could not be loaded: " +
                 (why != nullptr ? why : "unknown error");
      return m;
    }
    auto entry = reinterpret_cast<BackendPluginEntry>(dlsym(handle, kBackendPluginSymbol));
    if (entry == nullptr) {
      m.reason = path.string() + " is not a Mantissa backend module (no " +
                 std::string(kBackendPluginSymbol) + ")";
      return m;
    }
    const BackendPlugin* api = entry();
    if (api == nullptr || std::string(api->engine_version) != MANTISSA_VERSION) {
      m.reason = path.string() + " was built for Mantissa " +
                 (api != nullptr ? api->engine_version : "(unknown)") + ", this is " +
                 MANTISSA_VERSION;
      return m;
    }
    m.api = api;
    return m;
  }
  m.reason = std::string("the CUDA backend is not installed (no ") + file + " in " +
             (looked.empty() ? std::string("any folder") : looked) +
             "; install the mantissa-cuda package)";
  return m;
}

const LoadedModule& cuda_module() {
  static const LoadedModule m = load_module(kCudaModule);  // once, thread-safe
  return m;
}

}  // namespace

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> devices;
  devices.push_back({"cpu", cpu::cpu_device_description(), true, ""});
  const LoadedModule& cuda = cuda_module();
  if (cuda.api != nullptr) {
    for (auto& d : cuda.api->list_devices()) devices.push_back(std::move(d));
  } else {
    devices.push_back({"cuda", "NVIDIA GPU", false, cuda.reason});
  }
  return devices;
}

std::unique_ptr<Backend> create_backend(const std::string& name, const BackendOptions& options) {
  if (name == "cpu") return std::make_unique<cpu::CpuBackend>();
  const int ordinal = parse_cuda_ordinal(name);
  if (ordinal < 0) {
    throw InputError("unknown device \"" + name + "\"; valid choices: " + kValidChoices);
  }
  const LoadedModule& cuda = cuda_module();
  if (cuda.api == nullptr)
    throw InputError("device \"" + name + "\" is not available: " + cuda.reason);
  return cuda.api->create_backend(ordinal, options);
}

}  // namespace mantissa
