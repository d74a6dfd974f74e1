#include "backends/cuda/grad_pass.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <bool Unscale, bool Norm>
__global__ void grad_pass_kernel(TableView table, const float* scale, float* found_inf,
                                 float* sum_squares) {
  __shared__ bool last_block;
  const float inv = Unscale ? float(1.0 / double(*scale)) : 1.0f;
  int bad = 0;
  float s = 0.0f;
  const Chunk chunk = table.chunks[blockIdx.x];
  const TensorSlot& slot = table.slots[chunk.slot];
  void* data = slot.ptr[0];
  const auto dtype = DType(slot.dtype[0]);
  const std::int64_t end = chunk.begin + chunk.length;
  for (std::int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    float v = load_any(data, dtype, i);
    bad |= nonfinite(v) ? 1 : 0;
    if (Unscale) {
      store_any(data, dtype, i, v * inv);
      v = load_any(data, dtype, i);  // the value as stored is what the norm sees
    }
    if (Norm) s += v * v;
  }
  if (Norm) s = block_sum(s);
  bad = __syncthreads_or(bad);
  if (threadIdx.x == 0) {
    if (Norm) table.partials[blockIdx.x] = s;
    if (bad) atomicMin(table.first_bad, chunk.slot);
    __threadfence();  // partials and first_bad are visible before this block counts as done
    last_block = atomicAdd(table.blocks_done, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last_block) return;

  __threadfence();
  double total = 0.0;
  if (Norm) {
    const volatile float* partials = table.partials;
    for (int i = threadIdx.x; i < table.num_chunks; i += blockDim.x) total += double(partials[i]);
    total = block_sum(total);
  }
  if (threadIdx.x == 0) {
    const int first =
        atomicExch(table.first_bad, kNoBadSlot);  // read and reset for the next launch
    if (found_inf != nullptr && first != kNoBadSlot && *found_inf == 0.0f)
      *found_inf = float(first + 1);
    if (Norm) *sum_squares = float(total);
    *table.blocks_done = 0u;
  }
}

template <bool Unscale, bool Norm>
void launch(const TableView& t, const GradPassOutputs& out, cudaStream_t stream) {
  grad_pass_kernel<Unscale, Norm><<<unsigned(t.num_chunks), kThreads, 0, stream>>>(
      t, out.scale, out.found_inf, out.sum_squares);
}

__global__ void no_chunks_kernel(float* sum_squares) {
  if (sum_squares != nullptr) *sum_squares = 0.0f;
}

}  // namespace

void launch_grad_pass(const TableView& table, const GradPassOutputs& out, cudaStream_t stream) {
  if (table.num_chunks == 0) {  // no elements at all: nothing is non-finite, the sum is 0
    if (out.sum_squares != nullptr) {
      no_chunks_kernel<<<1, 1, 0, stream>>>(out.sum_squares);
      MANTISSA_CUDA_CHECK_LAUNCH("gradient pass");
    }
    return;
  }
  const bool unscale = out.scale != nullptr;
  const bool norm = out.sum_squares != nullptr;
  if (unscale && norm) {
    launch<true, true>(table, out, stream);
  } else if (unscale) {
    launch<true, false>(table, out, stream);
  } else {
    launch<false, true>(table, out, stream);
  }
  MANTISSA_CUDA_CHECK_LAUNCH("gradient pass");
}

}  // namespace mantissa::cuda
