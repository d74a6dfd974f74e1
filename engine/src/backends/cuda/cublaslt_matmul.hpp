#pragma once
// Matmul on cuBLASLt. Row-major c = op(a) @ op(b) is computed as the
// column-major product c^T = op(b)^T @ op(a)^T, so no operand is ever copied
// or transposed in memory. fp32 runs without TF32 unless the backend allows
// it; fp16 / bf16 multiply with fp32 accumulation into an fp32 or 16-bit c.
// batched_matmul's products run as one strided-batch call
// (CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT / STRIDED_BATCH_OFFSET on the three
// layouts), with its alpha.
// One plan per (shape, batch, transposes, dtypes, pointer alignment): the matmul
// descriptor, the three layouts and the heuristic's algorithm, built on first
// use and reused for every later call. The call, the epilogue rules and the
// heuristic preferences are in library_rules.hpp. Every plan counts its
// calls and says whether the epilogue was fused (paths()); with
// MANTISSA_CUDA_LOG set, each new plan is also described on stderr.
#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_allocator.hpp"
#include "backends/cuda/library_rules.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

class MatmulPlans {
 public:
  static constexpr std::size_t kWorkspaceBytes = std::size_t(32) << 20;  // Hopper's recommendation

  MatmulPlans(CudaAllocator& allocator, bool allow_tf32, bool log);
  ~MatmulPlans();
  MatmulPlans(const MatmulPlans&) = delete;
  MatmulPlans& operator=(const MatmulPlans&) = delete;

  void run(const MatmulCall& call, cudaStream_t stream);
  // For calls with an epilogue: false (nothing enqueued) when cuBLASLt has
  // no algorithm for it, so the caller runs the unfused ops instead.
  bool try_run(const MatmulCall& call, cudaStream_t stream);
  std::size_t size() const { return plans_.size(); }
  std::vector<OpPath> paths() const;

 private:
  using Key = std::array<std::int64_t, 14>;
  struct Plan;
  // One per key: the plan, or why the epilogue cannot be fused (the caller
  // then runs the unfused ops); the calls made either way.
  struct Entry {
    std::unique_ptr<Plan> plan;
    std::string fallback;  // non-empty: no plan, and why
    std::string op, shape, path;
    std::int64_t calls = 0;
  };
  Entry& entry_for(const MatmulCall& call);
  std::unique_ptr<Plan> make_plan(const MatmulCall& call, std::string& why_not);

  CudaAllocator& allocator_;
  bool allow_tf32_;
  bool log_;
  void* handle_ = nullptr;  // cublasLtHandle_t
  DeviceBuffer workspace_;
  std::map<Key, Entry> plans_;
};

}  // namespace mantissa::cuda
