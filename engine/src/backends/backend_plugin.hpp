#pragma once
// The contract between the registry (registry.cpp) and a backend built as a
// module and loaded at run time (the CUDA backend: libmantissa-cuda.so). The
// programs and the engine library never link a GPU library; where the module
// or a library it needs is missing, the registry says which, and the CPU
// backend works as before.
//
// A module exports one C function, kBackendPluginSymbol, returning a static
// BackendPlugin. Modules are C++ built with this engine's headers: the
// registry refuses one whose engine_version differs from its own.
#include <memory>
#include <vector>

#include "mantissa/backend.hpp"

namespace mantissa {

struct BackendPlugin {
  const char* engine_version;  // MANTISSA_VERSION the module was built against
  // One entry per device the module can see ("cuda:0", ...); an unusable
  // device is listed with the reason.
  std::vector<DeviceInfo> (*list_devices)();
  // A backend for device `ordinal`; throws InputError when it cannot be used.
  std::unique_ptr<Backend> (*create_backend)(int ordinal, const BackendOptions& options);
};

inline constexpr const char* kBackendPluginSymbol = "mantissa_backend_plugin_v1";
using BackendPluginEntry = const BackendPlugin* (*)();

}  // namespace mantissa
