#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/optimizer.cuh"

namespace mantissa::cuda {

namespace {

template <class O>
__device__ void update_chunk(const TableView& table, const rules::OptimizerParams& p,
                             const rules::StepScalars& sc) {
  const Chunk chunk = table.chunks[blockIdx.x];
  const TensorSlot& slot = table.slots[chunk.slot];
  void* w = slot.ptr[0];
  const float* g = static_cast<const float*>(slot.ptr[1]);
  const int slots = O::slots(p);
  const auto dt = DType(slot.dtype[0]);
  const float wd = (slot.flags & 1) != 0 ? p.weight_decay : 0.0f;
  const std::int64_t end = chunk.begin + chunk.length;
  for (std::int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    float m = slots > 0 ? load_any(slot.ptr[2], dt, i) : 0.0f;
    float v = slots > 1 ? load_any(slot.ptr[3], dt, i) : 0.0f;
    const float nw = O::update(p, sc, wd, load_any(w, dt, i), g[i], m, v);
    if (slots > 0) store_any(slot.ptr[2], dt, i, m);
    if (slots > 1) store_any(slot.ptr[3], dt, i, v);
    store_any(w, dt, i, nw);
  }
}

template <class O>
__global__ void optimizer_kernel(TableView table, StepState* state, rules::OptimizerParams p) {
  __shared__ rules::StepScalars sc;
  if (rules::step_is_skipped(p, *state)) {
    // Masters, state slots and the step counter stay bit-identical.
    if (blockIdx.x == 0 && threadIdx.x == 0) rules::note_skipped_step(*state);
    return;
  }
  if (threadIdx.x == 0) sc = rules::step_scalars(p, *state);
  __syncthreads();
  if (int(blockIdx.x) < table.num_chunks) update_chunk<O>(table, p, sc);
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    if (atomicAdd(table.blocks_done, 1u) == gridDim.x - 1) {
      rules::note_taken_step(*state, sc);
      *table.blocks_done = 0u;
    }
  }
}

}  // namespace

void launch_optimizer_step(const TableView& table, StepState* state,
                           const rules::OptimizerParams& params, cudaStream_t stream) {
  const unsigned blocks = table.num_chunks > 0 ? unsigned(table.num_chunks) : 1u;
  rules::with_optimizer(params.code, [&](auto o) {
    optimizer_kernel<decltype(o)><<<blocks, kThreads, 0, stream>>>(table, state, params);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("optimizer_step");
}

}  // namespace mantissa::cuda
