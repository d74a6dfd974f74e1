#pragma once
// Data-parallel training's collectives (PRECISION.md "Data-parallel
// training", docs/data-parallel.md): the few operations a rank needs from the
// others, over an existing collective engine (Gloo over TCP; the engine is an
// implementation detail of src/dist/). Every call is made by every rank, in
// the same order; a peer that dies surfaces as an Error on the others, one
// that stalls as an Error after the timeout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mantissa {

// How the fp32 sum of the gradients is taken. Ring: the engine's ring
// all-reduce (each element summed once, in an order that depends on where it
// falls in the ring; every rank receives the same bits). Rank: each element
// summed in rank order, ((g0 + g1) + g2) + ..., which is what one process
// accumulating the same shards in order does (TrainingSpec::virtual_ranks).
enum class ReduceOrder { Ring, Rank };
const char* reduce_order_name(ReduceOrder o);
ReduceOrder parse_reduce_order(const std::string& text);  // "ring" | "rank"; InputError otherwise

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string engine() const = 0;  // "gloo"
  // How long a collective waits for the others before it fails.
  virtual std::chrono::milliseconds timeout() const = 0;

  // The fp32 sum over ranks of `data`, in place; every rank gets the same bits.
  virtual void sum(std::span<float> data, ReduceOrder order) = 0;
  // The element-wise maximum over ranks, in place.
  virtual void max(std::span<float> data) = 0;
  // Root's bytes to every rank (resized where they differ in length).
  virtual void broadcast(std::vector<std::uint8_t>& data, int root) = 0;
  // Every rank's text, in rank order.
  virtual std::vector<std::string> all_gather(const std::string& mine) = 0;
};

// The fp32 sum of a device buffer over ranks, on the backend's own stream
// (NCCL for CUDA tensors; docs/data-parallel.md "NCCL"). Made by
// Backend::join_device_collective over a host Collective, which carries its
// rendezvous. A peer that dies or stalls aborts it: sum() throws, it never
// hangs.
class DeviceCollective {
 public:
  virtual ~DeviceCollective() = default;
  virtual std::string engine() const = 0;  // "nccl 2.21.5"
  // `n` fp32 values at device address `data`, summed in place; returns when
  // the sum is done. Every rank gets the same bits.
  virtual void sum(void* data, std::int64_t n) = 0;
};

// Joins a group of `world` ranks over TCP. The rendezvous is a key-value
// store at host:port (tcp_store.hpp): hosted by rank 0 when serve_store is
// set (torchrun, mpirun, srun), or by the launcher (mantissa train
// --processes). `interface_host` is the address this rank's peers reach it
// at. Blocks until every rank has joined or `timeout` passes; then throws an
// Error naming the ranks that never joined. The timeout is also every later
// collective's.
struct JoinSpec {
  int rank = 0;
  int world = 1;
  std::string store_host = "127.0.0.1";
  int store_port = 0;
  bool serve_store = false;
  std::string interface_host = "127.0.0.1";
  std::chrono::milliseconds timeout{30000};
};
std::unique_ptr<Collective> join_gloo(const JoinSpec& spec);

// `world` ranks in this process, over loopback TCP, sharing an in-memory
// rendezvous (tests and single-process tools).
std::vector<std::unique_ptr<Collective>> gloo_group_in_process(
    int world, std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

}  // namespace mantissa
