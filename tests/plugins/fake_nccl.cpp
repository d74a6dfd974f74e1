// A stand-in for libnccl.so.2 with NCCL's C entry points, for the loader's
// tests on machines without a GPU (tests/engine/test_nccl.cpp): one rank, host
// pointers for device pointers. FAKE_NCCL_VERSION overrides the version it
// reports; every failing result is described as "fake error N".
#include <cstdlib>
#include <cstring>
#include <string>

namespace {
struct UniqueId {
  char internal[128];
};
struct Comm {
  int ranks, rank;
  UniqueId id;
};
thread_local std::string words;
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int ncclGetVersion(int* v) {
  const char* env = std::getenv("FAKE_NCCL_VERSION");
  *v = env != nullptr ? std::atoi(env) : 21803;
  return 0;
}
__attribute__((visibility("default"))) int ncclGetUniqueId(UniqueId* id) {
  std::memset(id->internal, 'M', sizeof id->internal);
  return 0;
}
__attribute__((visibility("default"))) int ncclCommInitRank(Comm** comm, int ranks, UniqueId id,
                                                            int rank) {
  // The id arrives by value, as NCCL's does (128 bytes on the stack).
  if (rank < 0 || rank >= ranks || id.internal[0] != 'M') return 4;  // ncclInvalidArgument
  *comm = new Comm{ranks, rank, id};
  return 0;
}
__attribute__((visibility("default"))) int ncclAllReduce(const void* send, void* recv,
                                                         std::size_t count, int type, int, Comm*,
                                                         void*) {
  if (type != 7) return 4;  // fp32 only
  if (send != recv) std::memcpy(recv, send, count * 4);
  return 0;
}
__attribute__((visibility("default"))) int ncclCommGetAsyncError(Comm*, int* err) {
  *err = 0;
  return 0;
}
__attribute__((visibility("default"))) int ncclCommAbort(Comm* c) {
  delete c;
  return 0;
}
__attribute__((visibility("default"))) int ncclCommDestroy(Comm* c) {
  delete c;
  return 0;
}
__attribute__((visibility("default"))) const char* ncclGetErrorString(int code) {
  words = "fake error " + std::to_string(code);
  return words.c_str();
}
}
