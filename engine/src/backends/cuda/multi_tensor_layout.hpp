#pragma once
// The pointer table of the multi-tensor kernels (gradient pass, optimizer):
// one slot per tensor (or per parameter with its gradient and moments) and a
// list of chunks, each handled by one thread block. Built on the host, copied
// to the device once per distinct list of tensors (TableCache), read by the
// kernels. Plain data shared by host code and kernels.
#include <cstdint>

namespace mantissa::cuda {

struct TensorSlot {
  void* ptr[4] = {nullptr, nullptr, nullptr,
                  nullptr};  // gradient pass: [0]; optimizer: master, grad, state slots
  std::int64_t numel = 0;
  std::int32_t dtype[4] = {0, 0, 0, 0};  // mantissa::DType values
  std::int32_t flags = 0;                // optimizer: bit 0 = weight decay applies
  std::int32_t reserved = 0;
};

struct Chunk {
  std::int32_t slot = 0;
  std::int32_t reserved = 0;
  std::int64_t begin = 0;
  std::int64_t length = 0;
};

// Elements per chunk: one block of 256 threads, 32 elements each.
inline constexpr std::int64_t kChunkElements = 8192;

// Device addresses of one table's parts.
struct TableView {
  const TensorSlot* slots = nullptr;
  const Chunk* chunks = nullptr;
  int num_chunks = 0;
  float* partials = nullptr;        // one per chunk
  int* first_bad = nullptr;         // lowest slot with a non-finite value; INT32_MAX when none
  unsigned* blocks_done = nullptr;  // for the last block of a launch to find itself
};

inline constexpr std::int32_t kNoBadSlot = 0x7FFFFFFF;

}  // namespace mantissa::cuda
