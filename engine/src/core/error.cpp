#include "mantissa/error.hpp"

namespace mantissa {

void throw_internal(const char* expr, const char* file, int line, const std::string& msg) {
  throw InternalError("internal error: " + msg + " (" + expr + " at " + file + ":" +
                      std::to_string(line) + ")");
}

}  // namespace mantissa
