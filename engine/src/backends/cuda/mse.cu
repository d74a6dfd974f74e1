#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/mse.cuh"

namespace mantissa::cuda {

namespace {

template <class G>
__global__ void mse_kernel(const float* pred, const float* target, std::int64_t n,
                           typename G::raw* dpred, const float* scale, double* partials) {
  const float coef = float(2.0 * double(*scale) / double(n));
  double s = 0.0;
  for (std::int64_t i = global_index(); i < n; i += global_stride()) {
    const float diff = pred[i] - target[i];
    s += double(diff * diff);
    G::store(dpred, i, coef * diff);
  }
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void mse_mean_kernel(const double* partials, int count, std::int64_t n, float* loss) {
  double total = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) total += partials[i];
  total = block_sum(total);
  if (threadIdx.x == 0) *loss = float(total / double(n));
}

}  // namespace

int mse_partials(std::int64_t n) {
  return blocks_for(n);
}

void launch_mse_loss(const float* pred, const float* target, std::int64_t n, void* dpred,
                     DType dpred_type, const float* scale, double* partials, float* loss,
                     cudaStream_t stream) {
  const int blocks = mse_partials(n);
  with_storage(dpred_type, [&](auto t) {
    using G = decltype(t);
    mse_kernel<G><<<blocks, kThreads, 0, stream>>>(
        pred, target, n, static_cast<typename G::raw*>(dpred), scale, partials);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("mse_loss");
  mse_mean_kernel<<<1, kThreads, 0, stream>>>(partials, blocks, n, loss);
  MANTISSA_CUDA_CHECK_LAUNCH("mse_loss mean");
}

}  // namespace mantissa::cuda
