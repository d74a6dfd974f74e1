#include "backends/cuda/cudnn_conv.hpp"

#include <cudnn.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#include "mantissa/error.hpp"
#include "mantissa/units.hpp"

namespace mantissa::cuda {

static_assert(int(ConvMath::Default) == CUDNN_DEFAULT_MATH &&
                  int(ConvMath::TensorOp) == CUDNN_TENSOR_OP_MATH &&
                  int(ConvMath::TensorOpAllowConversion) == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION &&
                  int(ConvMath::Fma) == CUDNN_FMA_MATH,
              "ConvMath must carry cudnnMathType_t's values");

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

// A result may be used if it ran, is deterministic when that is asked, fits
// the workspace limit, and its math type keeps the descriptor's promise.
template <class Perf>
bool usable(const Perf& p, bool need_deterministic, ConvMath asked) {
  return p.status == CUDNN_STATUS_SUCCESS &&
         (!need_deterministic || p.determinism == CUDNN_DETERMINISTIC) &&
         p.memory <= ConvPlans::kMaxWorkspaceBytes &&
         conv_math_acceptable(asked, ConvMath(int(p.mathType)));
}

// The first (best-ranked) usable result.
template <class Perf>
const Perf* pick(const std::vector<Perf>& results, int count, bool need_deterministic,
                 ConvMath asked) {
  for (int i = 0; i < count; ++i)
    if (usable(results[std::size_t(i)], need_deterministic, asked)) return &results[std::size_t(i)];
  return nullptr;
}

std::string milliseconds(float ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", double(ms));
  return buf;
}

}  // namespace

struct ConvPlans::Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  ConvMath math = ConvMath::Default;  // the chosen result's, set on `conv`
  std::size_t workspace = 0;
  bool timed = false;  // chosen by running the candidates, not by the heuristic alone
  float time_ms = 0;
  std::string op, shape, path;  // what paths() reports
  std::int64_t calls = 0;

  ~Plan() {
    if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
    if (w != nullptr) cudnnDestroyFilterDescriptor(w);
    if (y != nullptr) cudnnDestroyTensorDescriptor(y);
    if (x != nullptr) cudnnDestroyTensorDescriptor(x);
  }
};

ConvPlans::ConvPlans(CudaAllocator& allocator, cudaStream_t stream, bool allow_tf32,
                     const bool& capturing, bool log)
    : allocator_(allocator),
      stream_(stream),
      allow_tf32_(allow_tf32),
      log_(log),
      capturing_(capturing) {}

std::vector<OpPath> ConvPlans::paths() const {
  std::vector<OpPath> out;
  for (const auto& [key, plan] : plans_)
    out.push_back({plan->op, plan->shape, plan->path, !plan->timed, plan->calls});
  return out;
}

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

ConvPlans::Plan& ConvPlans::plan_for(const ConvShape& s, Direction dir, DType data,
                                     ConvMath math, const void* a, const void* b, void* c) {
  const Key key{s.N,        s.C,        s.H,     s.W,     s.O,      s.KH,      s.KW,
                s.OH,       s.OW,       s.stride_h, s.stride_w, s.pad_h, s.pad_w, int(dir),
                int(data),  int(math),  0};
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
  MANTISSA_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, cudnnMathType_t(int(math))));

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
    const auto* first = pick(perf, count, deterministic, math);
    MANTISSA_ASSERT(first != nullptr, std::string("cuDNN has no ") +
                                          (deterministic ? "deterministic " : "") +
                                          "algorithm with " + conv_math_name(math) + " for " +
                                          what);
    std::size_t most = 0;
    for (int i = 0; i < count; ++i) {
      const auto& p = perf[std::size_t(i)];
      if (usable(p, deterministic, math)) most = std::max(most, p.memory);
    }
    // The whole result is kept: its algorithm runs under its own math type.
    auto chosen = first->algo;
    auto chosen_math = first->mathType;
    plan->timed = false;
    try {
      DeviceBuffer ws = most > 0 ? DeviceBuffer(allocator_, most) : DeviceBuffer();
      std::remove_reference_t<decltype(perf)> timed(perf.size());
      int timed_count = 0;
      if (find_ex(int(timed.size()), &timed_count, timed.data(), ws.get(), most) ==
          CUDNN_STATUS_SUCCESS) {
        if (const auto* fastest = pick(timed, timed_count, deterministic, math);
            fastest != nullptr && fastest->memory <= most) {
          chosen = fastest->algo;
          chosen_math = fastest->mathType;
          plan->timed = true;
          plan->time_ms = fastest->time;
        }
      }
    } catch (const OutOfMemoryError&) {
      // keep the heuristic's choice
    }
    cudaGetLastError();
    plan->algo = int(chosen);
    plan->math = ConvMath(int(chosen_math));
    MANTISSA_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, chosen_math));
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
  static constexpr const char* kOps[] = {"conv2d_forward", "conv2d_backward_data",
                                         "conv2d_backward_weights"};
  plan->op = kOps[int(dir)];
  plan->shape = what.substr(2);  // without the article
  plan->path = "cuDNN algo " + std::to_string(plan->algo) + ", " + conv_math_name(plan->math) +
               ", " +
               (plan->timed ? "fastest of the candidates (" + milliseconds(plan->time_ms) + ")"
                            : std::string("the heuristic's first choice (timing failed)")) +
               ", workspace " + bytes_text(double(plan->workspace));
  if (log_) std::cerr << "mantissa cuda: " << plan->op << " " << plan->shape << ": " << plan->path
                      << "\n";
  Plan& ref = *plan;
  plans_.emplace(key, std::move(plan));
  return ref;
}

void ConvPlans::forward(const ConvShape& s, DType dtype, const void* x, const void* w, void* y) {
  Plan& p = plan_for(s, Direction::Forward, dtype, descriptor_math(dtype, allow_tf32_), x, w, y);
  ++p.calls;
  DeviceBuffer ws = p.workspace > 0 ? DeviceBuffer(allocator_, p.workspace) : DeviceBuffer();
  const float alpha = 1.0f, beta = 0.0f;
  MANTISSA_CUDNN_CHECK(cudnnConvolutionForward(dnn(handle_), &alpha, p.x, x, p.w, w, p.conv,
                                               cudnnConvolutionFwdAlgo_t(p.algo), ws.get(),
                                               p.workspace, &beta, p.y, y));
}

void ConvPlans::backward_data(const ConvShape& s, DType dtype, const void* dy, const void* w,
                              void* dx) {
  Plan& p = plan_for(s, Direction::BackwardData, dtype, descriptor_math(dtype, allow_tf32_), dy, w, dx);
  ++p.calls;
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
  const ConvMath math =
      source == DType::F32 ? descriptor_math(DType::F32, allow_tf32_) : ConvMath::Default;
  Plan& p = plan_for(s, Direction::BackwardFilter, DType::F32, math, x, dy, dw);
  ++p.calls;
  DeviceBuffer ws = p.workspace > 0 ? DeviceBuffer(allocator_, p.workspace) : DeviceBuffer();
  const float alpha = 1.0f, beta = 0.0f;
  MANTISSA_CUDNN_CHECK(cudnnConvolutionBackwardFilter(dnn(handle_), &alpha, p.x, x, p.y, dy, p.conv,
                                                      cudnnConvolutionBwdFilterAlgo_t(p.algo),
                                                      ws.get(), p.workspace, &beta, p.w, dw));
}

}  // namespace mantissa::cuda
