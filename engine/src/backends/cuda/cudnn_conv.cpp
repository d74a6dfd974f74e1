#include "backends/cuda/cudnn_conv.hpp"

#include <cudnn.h>

#include <algorithm>
#include <climits>
#include <string>
#include <type_traits>
#include <vector>

#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

void check_cudnn(cudnnStatus_t status, const char* expr, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  if (status == CUDNN_STATUS_ALLOC_FAILED)
    throw OutOfMemoryError(std::string("cuda: cuDNN ran out of memory in ") + expr);
  throw_internal(expr, file, line, std::string("cuDNN error: ") + cudnnGetErrorString(status));
}

#define MANTISSA_CUDNN_CHECK(expr) check_cudnn((expr), #expr, __FILE__, __LINE__)

cudnnHandle_t dnn(void* handle) {
  return static_cast<cudnnHandle_t>(handle);
}

cudnnDataType_t cudnn_type(DType t) {
  switch (t) {
    case DType::F16:
      return CUDNN_DATA_HALF;
    case DType::BF16:
      return CUDNN_DATA_BFLOAT16;
    case DType::F32:
      break;
  }
  return CUDNN_DATA_FLOAT;
}

int as_int(std::int64_t v, const char* what) {
  MANTISSA_ASSERT(v >= 0 && v <= INT_MAX, std::string("convolution ") + what +
                                              " is too large for cuDNN: " + std::to_string(v));
  return int(v);
}

// Picks the first (best-ranked) result that ran, is deterministic when asked,
// and fits the workspace limit.
template <class Perf>
const Perf* pick(const std::vector<Perf>& results, int count, bool need_deterministic) {
  for (int i = 0; i < count; ++i) {
    const Perf& p = results[std::size_t(i)];
    if (p.status != CUDNN_STATUS_SUCCESS) continue;
    if (need_deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
    if (p.memory > ConvPlans::kMaxWorkspaceBytes) continue;
    return &p;
  }
  return nullptr;
}

}  // namespace

struct ConvPlans::Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  std::size_t workspace = 0;
  bool timed = false;  // chosen by running the candidates, not by the heuristic alone
  float time_ms = 0;

  ~Plan() {
    if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
    if (w != nullptr) cudnnDestroyFilterDescriptor(w);
    if (y != nullptr) cudnnDestroyTensorDescriptor(y);
    if (x != nullptr) cudnnDestroyTensorDescriptor(x);
  }
};

ConvPlans::ConvPlans(CudaAllocator& allocator, cudaStream_t stream, bool allow_tf32,
                     const bool& capturing)
    : allocator_(allocator), stream_(stream), allow_tf32_(allow_tf32), capturing_(capturing) {}

std::size_t ConvPlans::timed_plans() const {
  std::size_t n = 0;
  for (const auto& [key, plan] : plans_) n += plan->timed ? 1 : 0;
  return n;
}

ConvPlans::~ConvPlans() {
  plans_.clear();
  if (handle_ != nullptr) cudnnDestroy(dnn(handle_));
}

void ConvPlans::ensure_handle() {
  if (handle_ != nullptr) return;
  cudnnHandle_t h = nullptr;
  const cudnnStatus_t status = cudnnCreate(&h);
  if (status != CUDNN_STATUS_SUCCESS) {
    throw InternalError(std::string("cuda: cuDNN could not be initialised (") +
                        cudnnGetErrorString(status) +
                        "); check that the cuDNN 9 libraries match the CUDA driver");
  }
  handle_ = h;
  MANTISSA_CUDNN_CHECK(cudnnSetStream(h, stream_));
}

ConvPlans::Plan& ConvPlans::plan_for(const ConvShape& s, Direction dir, DType data, int math,
                                     const void* a, const void* b, void* c) {
  const Key key{s.N,        s.C,        s.H,     s.W,     s.O,      s.KH,      s.KW, s.OH, s.OW,
                s.stride_h, s.stride_w, s.pad_h, s.pad_w, int(dir), int(data), math, 0};
  if (auto it = plans_.find(key); it != plans_.end()) return *it->second;
  if (capturing_)
    throw Error("a convolution of a shape not seen before the step was captured has no cuDNN "
                "plan (choosing one waits for the GPU)");
  ensure_handle();
  cudnnHandle_t h = dnn(handle_);

  auto plan = std::make_unique<Plan>();
  const cudnnDataType_t t = cudnn_type(data);
  MANTISSA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->x));
  MANTISSA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->y));
  MANTISSA_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  MANTISSA_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  MANTISSA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, t,
                                                  as_int(s.N, "batch"), as_int(s.C, "channels"),
                                                  as_int(s.H, "height"), as_int(s.W, "width")));
  MANTISSA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, t,
                                                  as_int(s.N, "batch"), as_int(s.O, "channels"),
                                                  as_int(s.OH, "height"), as_int(s.OW, "width")));
  MANTISSA_CUDNN_CHECK(cudnnSetFilter4dDescriptor(
      plan->w, t, CUDNN_TENSOR_NCHW, as_int(s.O, "output channels"), as_int(s.C, "input channels"),
      as_int(s.KH, "kernel"), as_int(s.KW, "kernel")));
  MANTISSA_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(plan->conv, s.pad_h, s.pad_w, s.stride_h,
                                                       s.stride_w, 1, 1, CUDNN_CROSS_CORRELATION,
                                                       CUDNN_DATA_FLOAT));
  MANTISSA_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, cudnnMathType_t(math)));

  const std::string what =
      "a " + std::to_string(s.N) + "x" + std::to_string(s.C) + "x" + std::to_string(s.H) + "x" +
      std::to_string(s.W) + " " + std::string(dtype_name(data)) + " convolution with " +
      std::to_string(s.O) + "x" + std::to_string(s.KH) + "x" + std::to_string(s.KW) + " filters";
  // The heuristics rank candidates; the ones that qualify are then run once
  // on these very tensors and the fastest is kept (cudnnFind*Ex). Timing
  // waits for the GPU, once per shape. When timing fails (e.g. no memory for
  // its workspace) the heuristic's first choice stands.
  const bool deterministic = dir != Direction::Forward;
  auto choose = [&](auto& perf, int count, auto&& find_ex, auto&& workspace_size) {
    const auto* first = pick(perf, count, deterministic);
    MANTISSA_ASSERT(first != nullptr, std::string("cuDNN has no ") +
                                          (deterministic ? "deterministic " : "") +
                                          "algorithm for " + what);
    std::size_t most = 0;
    for (int i = 0; i < count; ++i) {
      const auto& p = perf[std::size_t(i)];
      if (p.status == CUDNN_STATUS_SUCCESS && p.memory <= kMaxWorkspaceBytes &&
          (!deterministic || p.determinism == CUDNN_DETERMINISTIC))
        most = std::max(most, p.memory);
    }
    auto chosen = first->algo;
    plan->timed = false;
    try {
      DeviceBuffer ws = most > 0 ? DeviceBuffer(allocator_, most) : DeviceBuffer();
      std::remove_reference_t<decltype(perf)> timed(perf.size());
      int timed_count = 0;
      if (find_ex(int(timed.size()), &timed_count, timed.data(), ws.get(), most) ==
          CUDNN_STATUS_SUCCESS) {
        if (const auto* fastest = pick(timed, timed_count, deterministic);
            fastest != nullptr && fastest->memory <= most) {
          chosen = fastest->algo;
          plan->timed = true;
          plan->time_ms = fastest->time;
        }
      }
    } catch (const OutOfMemoryError&) {
      // keep the heuristic's choice
    }
    cudaGetLastError();
    plan->algo = int(chosen);
    MANTISSA_CUDNN_CHECK(workspace_size(chosen, &plan->workspace));
  };
  int count = 0;
  switch (dir) {
    case Direction::Forward: {
      int max = 0;
      MANTISSA_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::size_t(max > 0 ? max : 1));
      MANTISSA_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
          h, plan->x, plan->w, plan->conv, plan->y, int(perf.size()), &count, perf.data()));
      choose(
          perf, count,
          [&](int n, int* got, cudnnConvolutionFwdAlgoPerf_t* out, void* ws, std::size_t bytes) {
            return cudnnFindConvolutionForwardAlgorithmEx(h, plan->x, a, plan->w, b, plan->conv,
                                                          plan->y, c, n, got, out, ws, bytes);
          },
          [&](cudnnConvolutionFwdAlgo_t algo, std::size_t* bytes) {
            return cudnnGetConvolutionForwardWorkspaceSize(h, plan->x, plan->w, plan->conv,
                                                           plan->y, algo, bytes);
          });
      break;
    }
    case Direction::BackwardData: {
      int max = 0;
      MANTISSA_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::size_t(max > 0 ? max : 1));
      MANTISSA_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
          h, plan->w, plan->y, plan->conv, plan->x, int(perf.size()), &count, perf.data()));
      // a = dy, b = w, c = dx
      choose(
          perf, count,
          [&](int n, int* got, cudnnConvolutionBwdDataAlgoPerf_t* out, void* ws,
              std::size_t bytes) {
            return cudnnFindConvolutionBackwardDataAlgorithmEx(h, plan->w, b, plan->y, a,
                                                               plan->conv, plan->x, c, n, got, out,
                                                               ws, bytes);
          },
          [&](cudnnConvolutionBwdDataAlgo_t algo, std::size_t* bytes) {
            return cudnnGetConvolutionBackwardDataWorkspaceSize(h, plan->w, plan->y, plan->conv,
                                                                plan->x, algo, bytes);
          });
      break;
    }
    case Direction::BackwardFilter: {
      int max = 0;
      MANTISSA_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::size_t(max > 0 ? max : 1));
      MANTISSA_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
          h, plan->x, plan->y, plan->conv, plan->w, int(perf.size()), &count, perf.data()));
      // a = x, b = dy, c = dw
      choose(
          perf, count,
          [&](int n, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* out, void* ws,
              std::size_t bytes) {
            return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, plan->x, a, plan->y, b,
                                                                 plan->conv, plan->w, c, n, got,
                                                                 out, ws, bytes);
          },
          [&](cudnnConvolutionBwdFilterAlgo_t algo, std::size_t* bytes) {
            return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, plan->x, plan->y,
                                                                  plan->conv, plan->w, algo, bytes);
          });
      break;
    }
  }
  Plan& ref = *plan;
  plans_.emplace(key, std::move(plan));
  return ref;
}

namespace {

// cuDNN math modes per data type (see the header).
int math_for(DType data, bool allow_tf32) {
  if (data != DType::F32) return int(CUDNN_TENSOR_OP_MATH);
  return int(allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH);
}

}  // namespace

void ConvPlans::forward(const ConvShape& s, DType dtype, const void* x, const void* w, void* y) {
  Plan& p = plan_for(s, Direction::Forward, dtype, math_for(dtype, allow_tf32_), x, w, y);
  DeviceBuffer ws = p.workspace > 0 ? DeviceBuffer(allocator_, p.workspace) : DeviceBuffer();
  const float alpha = 1.0f, beta = 0.0f;
  MANTISSA_CUDNN_CHECK(cudnnConvolutionForward(dnn(handle_), &alpha, p.x, x, p.w, w, p.conv,
                                               cudnnConvolutionFwdAlgo_t(p.algo), ws.get(),
                                               p.workspace, &beta, p.y, y));
}

void ConvPlans::backward_data(const ConvShape& s, DType dtype, const void* dy, const void* w,
                              void* dx) {
  Plan& p = plan_for(s, Direction::BackwardData, dtype, math_for(dtype, allow_tf32_), dy, w, dx);
  DeviceBuffer ws = p.workspace > 0 ? DeviceBuffer(allocator_, p.workspace) : DeviceBuffer();
  const float alpha = 1.0f, beta = 0.0f;
  MANTISSA_CUDNN_CHECK(cudnnConvolutionBackwardData(dnn(handle_), &alpha, p.w, w, p.y, dy, p.conv,
                                                    cudnnConvolutionBwdDataAlgo_t(p.algo), ws.get(),
                                                    p.workspace, &beta, p.x, dx));
}

void ConvPlans::backward_filter(const ConvShape& s, DType source, const float* x, const float* dy,
                                float* dw) {
  // Widened 16-bit values are exact in TF32 (10 stored mantissa bits, fp32's
  // exponent range), so TF32 tensor cores form their products exactly.
  const int math =
      source == DType::F32 ? math_for(DType::F32, allow_tf32_) : int(CUDNN_DEFAULT_MATH);
  Plan& p = plan_for(s, Direction::BackwardFilter, DType::F32, math, x, dy, dw);
  DeviceBuffer ws = p.workspace > 0 ? DeviceBuffer(allocator_, p.workspace) : DeviceBuffer();
  const float alpha = 1.0f, beta = 0.0f;
  MANTISSA_CUDNN_CHECK(cudnnConvolutionBackwardFilter(dnn(handle_), &alpha, p.x, x, p.y, dy, p.conv,
                                                      cudnnConvolutionBwdFilterAlgo_t(p.algo),
                                                      ws.get(), p.workspace, &beta, p.w, dw));
}

}  // namespace mantissa::cuda
