#include "backends/cuda/arith.cuh"
#include "backends/cuda/kernel_util.cuh"

namespace mantissa::cuda {

namespace {

template <class O, BinaryOp Op>
__global__ void binary_kernel(const void* a, DType at, const void* b, DType bt,
                              typename O::raw* out, std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += global_stride()) {
    const float x = load_any(a, at, i);
    const float y = load_any(b, bt, i);
    O::store(out, i, Op == BinaryOp::Add ? x + y : x * y);
  }
}

template <class T>
__global__ void scale_kernel(typename T::raw* p, std::int64_t n, float s) {
  for (std::int64_t i = global_index(); i < n; i += global_stride())
    T::store(p, i, T::load(p, i) * s);
}

}  // namespace

void launch_binary(BinaryOp op, const void* a, DType a_type, const void* b, DType b_type, void* out,
                   DType out_type, std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  with_storage(out_type, [&](auto o) {
    using O = decltype(o);
    auto* po = static_cast<typename O::raw*>(out);
    if (op == BinaryOp::Add) {
      binary_kernel<O, BinaryOp::Add>
          <<<blocks_for(n), kThreads, 0, stream>>>(a, a_type, b, b_type, po, n);
    } else {
      binary_kernel<O, BinaryOp::Mul>
          <<<blocks_for(n), kThreads, 0, stream>>>(a, a_type, b, b_type, po, n);
    }
  });
  MANTISSA_CUDA_CHECK_LAUNCH(op == BinaryOp::Add ? "add" : "mul");
}

void launch_scale(void* data, DType dtype, std::int64_t n, float s, cudaStream_t stream) {
  if (n <= 0) return;
  with_storage(dtype, [&](auto t) {
    using T = decltype(t);
    scale_kernel<T>
        <<<blocks_for(n), kThreads, 0, stream>>>(static_cast<typename T::raw*>(data), n, s);
  });
  MANTISSA_CUDA_CHECK_LAUNCH("scale");
}

}  // namespace mantissa::cuda
