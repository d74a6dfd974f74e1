#pragma once
// 2-D convolution on cuDNN's convolution API (NCHW, OIHW, cross-correlation).
// One plan per (shape, direction, data type, math mode): the tensor, filter
// and convolution descriptors and the fastest algorithm, measured once on
// the first call's tensors (cudnnFind*AlgorithmEx) among those the
// heuristics list that fit the workspace limit and, for the backward
// passes, are deterministic; the heuristic's first choice when timing
// fails. Plans are built on first use and reused; workspaces come from the
// caching allocator for the duration of one call. A plan missing while a
// step is being captured is an error (timing waits for the GPU).
//
// Math modes: fp32 runs with FMA math only (no TF32, like matmul) unless the
// backend allows TF32; fp16 / bf16 use tensor cores with fp32 accumulation.
// The weight gradient is fp32 by contract, which cuDNN does not produce from
// 16-bit inputs, so x and dy are widened to fp32 first; fp16 and bf16 values
// are exact in TF32, so that convolution may use TF32 tensor cores and still
// forms exact products.
//
// Each result cuDNN returns carries its own math type; only results whose
// math type keeps these promises are considered (library_rules.hpp), and
// the chosen one's math type is set on the plan's descriptor before its
// workspace is sized and it runs. Every plan counts its calls and names its
// algorithm (paths()); with MANTISSA_CUDA_LOG set, each new plan is
// described on stderr.
#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_allocator.hpp"
#include "backends/cuda/library_rules.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

struct ConvShape {
  std::int64_t N, C, H, W;  // input
  std::int64_t O, KH, KW;   // weights
  std::int64_t OH, OW;      // output
  int stride_h, stride_w, pad_h, pad_w;
};

class ConvPlans {
 public:
  static constexpr std::size_t kMaxWorkspaceBytes = std::size_t(512) << 20;

  ConvPlans(CudaAllocator& allocator, cudaStream_t stream, bool allow_tf32,
            const bool& capturing, bool log);
  ~ConvPlans();
  ConvPlans(const ConvPlans&) = delete;
  ConvPlans& operator=(const ConvPlans&) = delete;

  // x, w, y share `dtype`.
  void forward(const ConvShape& s, DType dtype, const void* x, const void* w, void* y);
  // dy, w, dx share `dtype`.
  void backward_data(const ConvShape& s, DType dtype, const void* dy, const void* w, void* dx);
  // fp32 x and dy (widened from `source` when that is a 16-bit type), fp32 dw.
  void backward_filter(const ConvShape& s, DType source, const float* x, const float* dy,
                       float* dw);
  std::size_t size() const { return plans_.size(); }
  std::size_t timed_plans() const;  // plans whose algorithm was chosen by timing
  std::vector<OpPath> paths() const;

 private:
  enum class Direction : int { Forward, BackwardData, BackwardFilter };
  using Key = std::array<std::int64_t, 17>;
  struct Plan;
  // a, b: the call's inputs, c: its output (timing runs on them).
  Plan& plan_for(const ConvShape& s, Direction dir, DType data, ConvMath math, const void* a,
                 const void* b, void* c);
  void ensure_handle();

  CudaAllocator& allocator_;
  cudaStream_t stream_;
  bool allow_tf32_;
  bool log_;
  const bool& capturing_;  // the backend's: a step is being captured
  void* handle_ = nullptr;  // cudnnHandle_t, created on first use (cuDNN loads slowly)
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace mantissa::cuda
