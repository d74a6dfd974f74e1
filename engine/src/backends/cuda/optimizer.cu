#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/optimizer.cuh"

namespace mantissa::cuda {

namespace {

namespace si = state_index;

__device__ void update_chunk(const TableView& table, const OptimizerParams& p,
                             const StepScalars& sc) {
  const Chunk chunk = table.chunks[blockIdx.x];
  const TensorSlot& slot = table.slots[chunk.slot];
  void* w = slot.ptr[0];
  const float* g = static_cast<const float*>(slot.ptr[1]);
  void* m1 = slot.ptr[2];
  void* m2 = slot.ptr[3];
  const auto dt = DType(slot.dtype[0]);
  const float wd = (slot.flags & 1) != 0 ? p.weight_decay : 0.0f;
  const std::int64_t end = chunk.begin + chunk.length;
  for (std::int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    const float wi = load_any(w, dt, i);
    if (!p.adamw) {
      float buf = m1 != nullptr ? load_any(m1, dt, i) : 0.0f;
      const float nw = sgd_element(wi, g[i], m1 != nullptr ? &buf : nullptr, sc.lr, p.momentum,
                                   p.nesterov, wd, sc.clip);
      if (m1 != nullptr) store_any(m1, dt, i, buf);
      store_any(w, dt, i, nw);
    } else {
      float m = load_any(m1, dt, i);
      float v = load_any(m2, dt, i);
      const float nw = adamw_element(wi, g[i], m, v, sc.lr, float(p.beta1), float(p.beta2), p.eps,
                                     wd, sc.bc1, sc.bc2, sc.clip);
      store_any(m1, dt, i, m);
      store_any(m2, dt, i, v);
      store_any(w, dt, i, nw);
    }
  }
}

__global__ void optimizer_kernel(TableView table, float* state, OptimizerParams p) {
  __shared__ StepScalars sc;
  if (step_is_skipped(p, state)) {
    // Masters, moments and the step counter stay bit-identical.
    if (blockIdx.x == 0 && threadIdx.x == 0) {
      state[si::kSkippedThisStep] = 1.0f;
      state[si::kLearningRate] = 0.0f;
    }
    return;
  }
  if (threadIdx.x == 0) sc = step_scalars(p, state);
  __syncthreads();
  if (int(blockIdx.x) < table.num_chunks) update_chunk(table, p, sc);
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    if (atomicAdd(table.blocks_done, 1u) == gridDim.x - 1) {
      state[si::kSkippedThisStep] = 0.0f;
      state[si::kOptimizerSteps] = float(sc.t + 1);
      state[si::kLearningRate] = sc.lr;
      *table.blocks_done = 0u;
    }
  }
}

}  // namespace

void launch_optimizer_step(const TableView& table, float* state, const OptimizerParams& params,
                           cudaStream_t stream) {
  const unsigned blocks = table.num_chunks > 0 ? unsigned(table.num_chunks) : 1u;
  optimizer_kernel<<<blocks, kThreads, 0, stream>>>(table, state, params);
  MANTISSA_CUDA_CHECK_LAUNCH("optimizer_step");
}

}  // namespace mantissa::cuda
