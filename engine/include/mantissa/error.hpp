#pragma once
// Errors. User-caused problems (bad files, bad settings, out of memory) throw
// mantissa::Error or a subclass; the faces print what() as one line. Programmer
// errors go through MANTISSA_ASSERT, which also throws (never exit()) so that a
// library bug cannot take the studio down, but carries expression, file and line.
#include <stdexcept>
#include <string>

namespace mantissa {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A project file, dataset or setting that is not acceptable.
class InputError : public Error {
 public:
  using Error::Error;
};

// Device memory could not be provided.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

// Broken engine invariant: a bug, not a user mistake.
class InternalError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_internal(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace mantissa

#define MANTISSA_ASSERT(expr, msg)                                            \
  do {                                                                        \
    if (!(expr)) ::mantissa::throw_internal(#expr, __FILE__, __LINE__, (msg)); \
  } while (0)
