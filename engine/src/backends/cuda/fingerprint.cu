#include "backends/cuda/fingerprint.cuh"
#include "backends/cuda/kernel_util.cuh"
#include "optim/fingerprint_rule.hpp"

namespace mantissa::cuda {

namespace {

// The element's value and its stored bits.
__device__ inline float value_of(const void* p, int dtype, std::int64_t i, std::uint32_t& bits) {
  if (DType(dtype) == DType::F32) {
    bits = static_cast<const std::uint32_t*>(p)[i];
  } else {
    bits = static_cast<const std::uint16_t*>(p)[i];
  }
  return load_any(p, DType(dtype), i);
}

__global__ void fingerprint_kernel(TableView table, float* out) {
  const Chunk chunk = table.chunks[blockIdx.x];
  const TensorSlot& slot = table.slots[chunk.slot];
  const void* data = slot.ptr[0];
  void* prev = slot.ptr[1];
  const int dtype = slot.dtype[0];
  float sq = 0.0f, du = 0.0f;
  unsigned long long sum = 0;
  const std::int64_t end = chunk.begin + chunk.length;
  for (std::int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    std::uint32_t bits = 0;
    const float v = value_of(data, dtype, i, bits);
    sq += v * v;
    sum += rules::fingerprint_term(bits, chunk.slot, i);
    if (prev != nullptr) {
      std::uint32_t old_bits = 0;
      const float d = v - value_of(prev, dtype, i, old_bits);
      du += d * d;
      if (DType(dtype) == DType::F32) {
        static_cast<std::uint32_t*>(prev)[i] = bits;
      } else {
        static_cast<std::uint16_t*>(prev)[i] = std::uint16_t(bits);
      }
    }
  }
  sq = block_sum(sq);
  du = block_sum(du);
  sum = block_sum(sum);
  if (threadIdx.x == 0) {
    atomicAdd(reinterpret_cast<unsigned long long*>(out + rules::kFingerprintChecksumLo), sum);
    atomicAdd(out + rules::kFingerprintUpdate, du);
    atomicAdd(out + rules::kFingerprintNorms + chunk.slot, sq);
  }
}

}  // namespace

void launch_weight_fingerprint(const TableView& table, float* out, std::int64_t out_words,
                               cudaStream_t stream) {
  MANTISSA_CUDA_CHECK(cudaMemsetAsync(out, 0, std::size_t(out_words) * 4, stream));
  if (table.num_chunks == 0) return;
  fingerprint_kernel<<<unsigned(table.num_chunks), kThreads, 0, stream>>>(table, out);
  MANTISSA_CUDA_CHECK_LAUNCH("weight_fingerprint");
}

}  // namespace mantissa::cuda
