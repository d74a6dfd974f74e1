#include "backends/cuda/count_correct.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

__global__ void count_correct_kernel(const float* logits, const float* labels, std::int64_t N,
                                     std::int64_t C, float* correct) {
  int hits = 0;
  for (std::int64_t n = global_index(); n < N; n += global_stride()) {
    const float* row = logits + n * C;
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < C; ++i) {
      if (row[i] > row[best]) best = i;  // strict: the first maximum wins
    }
    hits += float(best) == labels[n] ? 1 : 0;
  }
  hits = block_sum(hits);
  // Integer counts below 2^24 add exactly in fp32, in any order.
  if (threadIdx.x == 0 && hits > 0) atomicAdd(correct, float(hits));
}

}  // namespace

void launch_count_correct(const float* logits, const float* labels, std::int64_t N, std::int64_t C,
                          float* correct, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  count_correct_kernel<<<blocks_for(N), kThreads, 0, stream>>>(logits, labels, N, C, correct);
  MANTISSA_CUDA_CHECK_LAUNCH("count_correct");
}

}  // namespace mantissa::cuda
