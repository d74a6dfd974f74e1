#include "backends/cuda/kernel_util.cuh"
#include "backends/cuda/softmax_xent.cuh"

namespace mantissa::cuda {

namespace {

__device__ inline bool class_index(float label, std::int64_t C) {
  return label >= 0.0f && label < float(C) && label == floorf(label);
}

template <class X, class G>
__global__ void rows_kernel(const typename X::raw* logits, const float* labels, std::int64_t N,
                            std::int64_t C, typename G::raw* dlogits, const float* scale,
                            double* row_loss) {
  const std::int64_t n = blockIdx.x;
  const typename X::raw* row_raw = logits + n * C;
  const auto row = [row_raw](std::int64_t i) { return X::load(row_raw, i); };
  const float label_value = labels[n];
  const bool valid = class_index(label_value, C);
  const std::int64_t label = valid ? std::int64_t(label_value) : -1;
  const float coef = float(double(*scale) / double(N));

  // Subtracting the row maximum keeps exp() in range.
  float mx = -__int_as_float(0x7F800000);
  for (std::int64_t i = threadIdx.x; i < C; i += blockDim.x) mx = row(i) > mx ? row(i) : mx;
  mx = block_max(mx);
  float sum = 0.0f;
  for (std::int64_t i = threadIdx.x; i < C; i += blockDim.x) sum += expf(row(i) - mx);
  sum = block_sum(sum);

  const float nan = __int_as_float(0x7FC00000);
  if (threadIdx.x == 0) {
    row_loss[n] = valid ? double(mx) + log(double(sum)) - double(row(label)) : double(nan);
  }
  const float k = coef / sum;
  for (std::int64_t i = threadIdx.x; i < C; i += blockDim.x) {
    float g = expf(row(i) - mx) * k;
    if (i == label) g -= coef;
    G::store(dlogits, n * C + i, valid ? g : nan);
  }
}

__global__ void mean_kernel(const double* row_loss, std::int64_t N, float* loss) {
  double total = 0.0;
  for (std::int64_t i = threadIdx.x; i < N; i += blockDim.x) total += row_loss[i];
  total = block_sum(total);
  if (threadIdx.x == 0) *loss = float(total / double(N));
}

}  // namespace

void launch_softmax_cross_entropy(const void* logits, DType logits_type, const float* labels,
                                  std::int64_t N, std::int64_t C, void* dlogits,
                                  DType dlogits_type, const float* scale, double* row_loss,
                                  float* loss, cudaStream_t stream) {
  with_storage(logits_type, [&](auto x) {
    using X = decltype(x);
    with_storage(dlogits_type, [&](auto t) {
      using G = decltype(t);
      rows_kernel<X, G><<<unsigned(N), kThreads, 0, stream>>>(
          static_cast<const typename X::raw*>(logits), labels, N, C,
          static_cast<typename G::raw*>(dlogits), scale, row_loss);
    });
  });
  MANTISSA_CUDA_CHECK_LAUNCH("softmax_cross_entropy rows");
  mean_kernel<<<1, kThreads, 0, stream>>>(row_loss, N, loss);
  MANTISSA_CUDA_CHECK_LAUNCH("softmax_cross_entropy mean");
}

}  // namespace mantissa::cuda
