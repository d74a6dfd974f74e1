// The process-wide half of store/file_guard.hpp: open(), openat(), fopen()
// and their variants, replaced for every library in the process (Qt, GLib, a
// platform theme's plugins), refusing the run database's files while a
// RunStore has them open. Linked into executables only (the
// mantissa_open_guard object library): a definition in the executable is
// what the dynamic linker binds every library's call to.
//
// The fortified header wrappers would clash with these definitions.
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include "store/file_guard.hpp"

namespace {

using mantissa::store::open_is_refused;
using mantissa::store::open_unguarded;

bool takes_mode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

int guarded_open(int dirfd, const char* path, int flags, unsigned mode) {
  if (open_is_refused(dirfd, path)) {
    errno = EACCES;
    return -1;
  }
  return open_unguarded(dirfd, path, flags, mode);
}

template <typename Fn>
Fn next_definition(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

using FopenFn = FILE* (*)(const char*, const char*);

FILE* guarded_fopen(FopenFn real, const char* path, const char* mode) {
  if (open_is_refused(AT_FDCWD, path)) {
    errno = EACCES;
    return nullptr;
  }
  if (real == nullptr) {
    errno = ENOSYS;
    return nullptr;
  }
  return real(path, mode);
}

}  // namespace

#define MANTISSA_MODE_ARG(flags, last)     \
  unsigned mode = 0;                       \
  if (takes_mode(flags)) {                 \
    va_list args;                          \
    va_start(args, last);                  \
    mode = va_arg(args, unsigned);         \
    va_end(args);                          \
  }

extern "C" {

int open(const char* path, int flags, ...) {
  MANTISSA_MODE_ARG(flags, flags)
  return guarded_open(AT_FDCWD, path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  MANTISSA_MODE_ARG(flags, flags)
  return guarded_open(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  MANTISSA_MODE_ARG(flags, flags)
  return guarded_open(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  MANTISSA_MODE_ARG(flags, flags)
  return guarded_open(dirfd, path, flags, mode);
}

// What glibc's fortified open() calls when it cannot see the flags.
int __open_2(const char* path, int flags) {
  return guarded_open(AT_FDCWD, path, flags, 0);
}
int __open64_2(const char* path, int flags) {
  return guarded_open(AT_FDCWD, path, flags, 0);
}
int __openat_2(int dirfd, const char* path, int flags) {
  return guarded_open(dirfd, path, flags, 0);
}
int __openat64_2(int dirfd, const char* path, int flags) {
  return guarded_open(dirfd, path, flags, 0);
}

FILE* fopen(const char* path, const char* mode) {
  static const FopenFn real = next_definition<FopenFn>("fopen");
  return guarded_fopen(real, path, mode);
}

FILE* fopen64(const char* path, const char* mode) {
  static const FopenFn real = next_definition<FopenFn>("fopen64");
  return guarded_fopen(real, path, mode);
}

}  // extern "C"
