#include "mantissa/version.hpp"

#include <oneapi/dnnl/dnnl.hpp>
#include <sqlite3.h>

namespace mantissa {

std::string version_string() { return MANTISSA_VERSION; }

std::string library_versions() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + ", SQLite " + sqlite3_libversion();
}

}  // namespace mantissa
