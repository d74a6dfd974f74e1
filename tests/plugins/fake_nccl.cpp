// A stand-in for libnccl.so.2 with NCCL's C entry points, for the loader's
// tests on machines without a GPU (tests/engine/test_nccl.cpp): one rank, host
// pointers for device pointers. Every failing result is described as "fake
// error N". Read at each call, so that a test can set them as it goes:
// FAKE_NCCL_VERSION   the version it reports (default 2.18.3);
// FAKE_NCCL_POLLS     how many ncclCommGetAsyncError polls a non-blocking
//                     start-up, sum or finalize stays ncclInProgress ("never":
//                     always).
// fake_nccl_counts() says what it was asked to do.
#include <cstdlib>
#include <cstring>
#include <string>

namespace {
struct UniqueId {
  char internal[128];
};
// ncclConfig_t's head, as every version since 2.14 starts it.
struct Config {
  std::size_t size;
  unsigned magic, version;
  int blocking;
};
struct Comm {
  int ranks, rank;
  UniqueId id;
  bool blocking = true;
  int busy_polls = 0;  // polls left in progress; -1: never done
};
thread_local std::string words;
int blocking_inits = 0, non_blocking_inits = 0, aborts = 0, finalizes = 0, destroys = 0;

int polls_in_progress() {
  const char* env = std::getenv("FAKE_NCCL_POLLS");
  if (env == nullptr) return 0;
  return std::strcmp(env, "never") == 0 ? -1 : std::atoi(env);
}
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
  ++blocking_inits;
  return 0;
}
__attribute__((visibility("default"))) int ncclCommInitRankConfig(Comm** comm, int ranks,
                                                                  UniqueId id, int rank,
                                                                  Config* config) {
  // As NCCL checks a config: the initializer's magic, a size that covers
  // `blocking`, and a version that has it.
  if (config == nullptr || config->magic != 0xcafebeef || config->size < sizeof(Config) ||
      config->version < 21400 || (config->blocking != 0 && config->blocking != 1))
    return 4;
  if (rank < 0 || rank >= ranks || id.internal[0] != 'M') return 4;
  *comm = new Comm{ranks, rank, id, config->blocking == 1, 0};
  if (config->blocking == 1) {
    ++blocking_inits;
    return 0;
  }
  ++non_blocking_inits;
  (*comm)->busy_polls = polls_in_progress();
  return (*comm)->busy_polls == 0 ? 0 : 7;  // ncclInProgress
}
__attribute__((visibility("default"))) int ncclAllReduce(const void* send, void* recv,
                                                         std::size_t count, int type, int,
                                                         Comm* comm, void*) {
  if (type != 7) return 4;  // fp32 only
  if (send != recv) std::memcpy(recv, send, count * 4);
  if (comm->blocking) return 0;
  comm->busy_polls = polls_in_progress();
  return comm->busy_polls == 0 ? 0 : 7;
}
__attribute__((visibility("default"))) int ncclCommGetAsyncError(Comm* comm, int* state) {
  *state = comm->busy_polls == 0 ? 0 : 7;
  if (comm->busy_polls > 0) --comm->busy_polls;
  return 0;
}
__attribute__((visibility("default"))) int ncclCommAbort(Comm* c) {
  ++aborts;
  delete c;
  return 0;
}
// As NCCL's: on a non-blocking communicator the flush is asynchronous.
__attribute__((visibility("default"))) int ncclCommFinalize(Comm* comm) {
  ++finalizes;
  if (comm->blocking) return 0;
  comm->busy_polls = polls_in_progress();
  return comm->busy_polls == 0 ? 0 : 7;
}
__attribute__((visibility("default"))) int ncclCommDestroy(Comm* c) {
  ++destroys;
  delete c;
  return 0;
}
__attribute__((visibility("default"))) const char* ncclGetErrorString(int code) {
  words = "fake error " + std::to_string(code);
  return words.c_str();
}
// Not NCCL's: what the tests ask it.
__attribute__((visibility("default"))) void fake_nccl_counts(int* blocking, int* non_blocking,
                                                             int* aborted, int* finalized,
                                                             int* destroyed) {
  *blocking = blocking_inits;
  *non_blocking = non_blocking_inits;
  *aborted = aborts;
  *finalized = finalizes;
  *destroyed = destroys;
}
}
