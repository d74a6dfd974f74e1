#pragma once
// Shared pieces of the kernels: launch shapes, grid-stride loops, dispatch
// over storage types and deterministic block reductions (a fixed shuffle tree,
// so a sum comes out the same on every run).
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/storage.hpp"

namespace mantissa::cuda {

inline constexpr int kThreads = 256;     // threads per block, a multiple of 32
inline constexpr int kMaxBlocks = 4096;  // grid-stride loops cover the rest

inline int blocks_for(std::int64_t n) {
  const std::int64_t b = (n + kThreads - 1) / kThreads;
  return int(b < kMaxBlocks ? (b > 0 ? b : 1) : kMaxBlocks);
}

__device__ inline std::int64_t global_index() {
  return std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t global_stride() {
  return std::int64_t(blockDim.x) * gridDim.x;
}

// fn(tag) with tag an F32 / F16 / BF16 value for the run-time dtype t.
template <class Fn>
void with_storage(DType t, Fn&& fn) {
  switch (t) {
    case DType::F32:
      fn(F32{});
      return;
    case DType::F16:
      fn(F16{});
      return;
    case DType::BF16:
      fn(BF16{});
      return;
  }
}

template <class T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  return v;
}

template <class T>
__device__ inline T warp_max(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const T o = __shfl_down_sync(0xFFFFFFFFu, v, offset);
    v = o > v ? o : v;
  }
  return v;
}

// The sum of v over the block, returned to every thread. Every thread of the
// block must call it (it synchronises).
template <class T>
__device__ inline T block_sum(T v) {
  __shared__ T partial[32];
  __shared__ T total;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // an earlier call's readers are done with `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = int((blockDim.x + 31) >> 5);
    T w = lane < warps ? partial[lane] : T(0);
    w = warp_sum(w);
    if (lane == 0) total = w;
  }
  __syncthreads();
  return total;
}

// The maximum of v over the block (NaN-free inputs), returned to every thread.
__device__ inline float block_max(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = int((blockDim.x + 31) >> 5);
    float w = lane < warps ? partial[lane] : -__int_as_float(0x7F800000);
    w = warp_max(w);
    if (lane == 0) total = w;
  }
  __syncthreads();
  return total;
}

}  // namespace mantissa::cuda
