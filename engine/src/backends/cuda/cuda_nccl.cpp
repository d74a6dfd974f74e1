// The GPU ranks' gradient sum on NCCL (collective.hpp DeviceCollective),
// loaded at run time (dist/nccl_library.hpp). The ranks first agree that every
// one of them has NCCL (else all sum through host memory over Gloo), rank 0's
// unique id travels to the others over Gloo, and each sum is waited for by
// polling an event and NCCL's asynchronous error: a dead or stalled peer
// aborts the communicator instead of hanging the stream.
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "dist/nccl_library.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

class NcclSum : public DeviceCollective {
 public:
  NcclSum(const dist::NcclLibrary& lib, dist::NcclComm comm, cudaStream_t stream, int rank,
          std::chrono::milliseconds timeout)
      : lib_(lib), comm_(comm), stream_(stream), rank_(rank), timeout_(timeout) {
    MANTISSA_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }
  ~NcclSum() override {
    if (done_ != nullptr) cudaEventDestroy(done_);
    // An aborted communicator is gone already; a healthy one is finalized
    // (watched: a peer gone by now cannot hang the exit) and destroyed.
    if (aborted_) return;
    const std::string failed =
        lib_.end_comm(comm_, timeout_, "rank " + std::to_string(rank_) + ": closing NCCL");
    if (!failed.empty()) std::cerr << "mantissa: " << failed << "\n";
  }

  std::string engine() const override { return "nccl " + lib_.version_text(); }

  void sum(void* data, std::int64_t n) override {
    const std::string what = "rank " + std::to_string(rank_) + ": the NCCL gradient sum";
    if (aborted_) throw Error(what + " cannot run: the communicator was aborted earlier");
    const auto gone = [this] { aborted_ = true; };
    lib_.enqueue_sum(data, std::size_t(n), comm_, stream_, timeout_, what, gone);
    MANTISSA_CUDA_CHECK(cudaEventRecord(done_, stream_));
    dist::wait_or_abort(lib_.watch(
                            comm_,
                            [this] {
                              const cudaError_t e = cudaEventQuery(done_);
                              if (e == cudaErrorNotReady) return false;
                              MANTISSA_CUDA_CHECK(e);
                              return true;
                            },
                            gone),
                        timeout_, what);
  }

 private:
  const dist::NcclLibrary& lib_;
  dist::NcclComm comm_;
  cudaStream_t stream_;
  int rank_;
  std::chrono::milliseconds timeout_;
  cudaEvent_t done_ = nullptr;
  bool aborted_ = false;
};

}  // namespace

std::unique_ptr<DeviceCollective> CudaBackend::join_device_collective(Collective& host,
                                                                      std::string* why_not) {
  std::string why;
  const dist::NcclLibrary* lib = dist::NcclLibrary::process(&why);
  // Every rank must take the same path: NCCL only when every rank has it and
  // each has a GPU of its own (NCCL refuses two ranks on one GPU; Gloo does
  // not mind). Each rank says which GPU it is, by machine and PCI address.
  std::string mine = "-";
  if (lib != nullptr) {
    char bus[64] = {};
    char machine[256] = {};
    MANTISSA_CUDA_CHECK(cudaDeviceGetPCIBusId(bus, sizeof bus, gpu_.ordinal));
    gethostname(machine, sizeof machine - 1);
    mine = std::string(machine) + " " + bus;
  }
  const std::vector<std::string> all = host.all_gather(mine);
  const auto fall_back = [why_not](const std::string& reason) {
    if (why_not != nullptr) *why_not = reason;
    return std::unique_ptr<DeviceCollective>();
  };
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r] == "-")
      return fall_back(int(r) == host.rank() ? why : "rank " + std::to_string(r) + " has no NCCL");
    for (std::size_t q = 0; q < r; ++q)
      if (all[q] == all[r])
        return fall_back("ranks " + std::to_string(q) + " and " + std::to_string(r) +
                         " share a GPU (" + all[r] + "), which NCCL does not allow");
  }
  enter();
  dist::NcclUniqueId id{};
  if (host.rank() == 0) lib->check(lib->get_unique_id(&id), "ncclGetUniqueId");
  std::vector<std::uint8_t> bytes(sizeof id);
  std::memcpy(bytes.data(), &id, sizeof id);
  host.broadcast(bytes, 0);
  if (bytes.size() != sizeof id) throw Error("NCCL: rank 0's unique id arrived cut short");
  std::memcpy(&id, bytes.data(), sizeof id);
  const std::string what = "rank " + std::to_string(host.rank()) + " of " +
                           std::to_string(host.world()) + ": the NCCL start-up";
  dist::NcclComm comm = lib->start_comm(host.world(), id, host.rank(), host.timeout(), what);
  return std::make_unique<NcclSum>(*lib, comm, stream(), host.rank(), host.timeout());
}

}  // namespace mantissa::cuda
