#pragma once
// Matmul on cuBLASLt. Row-major c = op(a) @ op(b) is computed as the
// column-major product c^T = op(b)^T @ op(a)^T, so no operand is ever copied
// or transposed in memory. fp32 runs without TF32 unless the backend allows
// it; fp16 / bf16 multiply with fp32 accumulation into an fp32 or 16-bit c.
// One plan per (shape, transposes, dtypes, pointer alignment): the matmul
// descriptor, the three layouts and the heuristic's algorithm, built on first
// use and reused for every later call.
#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "backends/cuda/cuda_allocator.hpp"
#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

struct MatmulCall {
  const void* a = nullptr;  // stored (a_rows, a_cols)
  const void* b = nullptr;  // stored (b_rows, b_cols)
  void* c = nullptr;        // (M, N)
  DType in = DType::F32;    // a and b
  DType out = DType::F32;   // c
  std::int64_t M = 0, N = 0, K = 0;
  std::int64_t a_rows = 0, a_cols = 0, b_rows = 0, b_cols = 0;
  bool trans_a = false, trans_b = false;
  float beta = 0.0f;
  // Epilogues: c[m, n] += bias[n] before c's one rounding
  // (CUBLASLT_EPILOGUE_BIAS), then c = max(c, 0) when relu (RELU_BIAS, or
  // RELU without a bias); or, alone, bias_grad[m] = sum over k of op(a)[m, k]
  // (CUBLASLT_EPILOGUE_BGRADB: in the column-major view, a sum over the
  // columns of cuBLASLt's B, which is our a). Vectors are fp32.
  const float* bias = nullptr;
  bool relu = false;
  float* bias_grad = nullptr;
};

// Largest power of two (at most 256) dividing a device address.
std::uint32_t pointer_alignment(const void* p);

class MatmulPlans {
 public:
  static constexpr std::size_t kWorkspaceBytes = std::size_t(32) << 20;  // Hopper's recommendation

  MatmulPlans(CudaAllocator& allocator, bool allow_tf32);
  ~MatmulPlans();
  MatmulPlans(const MatmulPlans&) = delete;
  MatmulPlans& operator=(const MatmulPlans&) = delete;

  void run(const MatmulCall& call, cudaStream_t stream);
  // For calls with an epilogue: false (nothing enqueued) when cuBLASLt has
  // no algorithm for it, so the caller runs the unfused ops instead.
  bool try_run(const MatmulCall& call, cudaStream_t stream);
  std::size_t size() const { return plans_.size(); }

 private:
  using Key = std::array<std::int64_t, 12>;
  struct Plan;
  // nullptr when the heuristic finds no algorithm (cached as such).
  Plan* plan_for(const MatmulCall& call);

  CudaAllocator& allocator_;
  bool allow_tf32_;
  void* handle_ = nullptr;  // cublasLtHandle_t
  DeviceBuffer workspace_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace mantissa::cuda
