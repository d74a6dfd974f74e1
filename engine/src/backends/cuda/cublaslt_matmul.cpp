#include "backends/cuda/cublaslt_matmul.hpp"

#include <cublasLt.h>

#include <string>

#include "mantissa/error.hpp"

namespace mantissa::cuda {

namespace {

void check_cublas(cublasStatus_t status, const char* expr, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfMemoryError(std::string("cuda: cuBLASLt ran out of memory in ") + expr);
  throw_internal(expr, file, line,
                 std::string("cuBLASLt error ") + cublasLtGetStatusName(status) + ": " +
                     cublasLtGetStatusString(status));
}

#define MANTISSA_CUBLAS_CHECK(expr) check_cublas((expr), #expr, __FILE__, __LINE__)

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F16:
      return CUDA_R_16F;
    case DType::BF16:
      return CUDA_R_16BF;
    case DType::F32:
      break;
  }
  return CUDA_R_32F;
}

cublasLtHandle_t lt(void* handle) {
  return static_cast<cublasLtHandle_t>(handle);
}

}  // namespace

std::uint32_t pointer_alignment(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

struct MatmulPlans::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A, B, C = D
  cublasLtMatmulAlgo_t algo{};
  std::size_t workspace = 0;

  ~Plan() {
    if (c != nullptr) cublasLtMatrixLayoutDestroy(c);
    if (b != nullptr) cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) cublasLtMatrixLayoutDestroy(a);
    if (desc != nullptr) cublasLtMatmulDescDestroy(desc);
  }
};

MatmulPlans::MatmulPlans(CudaAllocator& allocator, bool allow_tf32)
    : allocator_(allocator), allow_tf32_(allow_tf32) {
  cublasLtHandle_t h = nullptr;
  MANTISSA_CUBLAS_CHECK(cublasLtCreate(&h));
  handle_ = h;
}

MatmulPlans::~MatmulPlans() {
  plans_.clear();
  if (handle_ != nullptr) cublasLtDestroy(lt(handle_));
}

MatmulPlans::Plan* MatmulPlans::plan_for(const MatmulCall& call) {
  const std::uint32_t align_a = pointer_alignment(call.a);
  const std::uint32_t align_b = pointer_alignment(call.b);
  const std::uint32_t align_c = pointer_alignment(call.c);
  // 0 none, 1 bias, 2 bias gradient, 3 ReLU, 4 bias + ReLU
  const int epilogue = call.bias_grad != nullptr ? 2
                       : call.relu               ? (call.bias != nullptr ? 4 : 3)
                       : call.bias != nullptr    ? 1
                                                 : 0;
  const Key key{call.M,        call.N,  call.K,  call.trans_a, call.trans_b, int(call.in),
                int(call.out), align_a, align_b, align_c,      allow_tf32_,  epilogue};
  if (auto it = plans_.find(key); it != plans_.end()) return it->second.get();

  auto plan = std::make_unique<Plan>();
  const bool fp32 = call.in == DType::F32;
  const cublasComputeType_t compute =
      fp32 && allow_tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F));
  // Column-major view: cuBLASLt's A is our b, its B is our a (see the header).
  const cublasOperation_t op_a = call.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = call.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  MANTISSA_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
  MANTISSA_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
  if (epilogue != 0) {
    // The vector is fp32 whatever c's type; its pointer is set per call.
    const cublasLtEpilogue_t e = epilogue == 1   ? CUBLASLT_EPILOGUE_BIAS
                                 : epilogue == 2 ? CUBLASLT_EPILOGUE_BGRADB
                                 : epilogue == 3 ? CUBLASLT_EPILOGUE_RELU
                                                 : CUBLASLT_EPILOGUE_RELU_BIAS;
    MANTISSA_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e));
    if (epilogue != 3) {
      const cudaDataType_t bias_type = CUDA_R_32F;
      MANTISSA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
          plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type));
    }
  }
  const cudaDataType_t in = cuda_type(call.in);
  MANTISSA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->a, in, std::uint64_t(call.b_cols),
                                                   std::uint64_t(call.b_rows), call.b_cols));
  MANTISSA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->b, in, std::uint64_t(call.a_cols),
                                                   std::uint64_t(call.a_rows), call.a_cols));
  MANTISSA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(
      &plan->c, cuda_type(call.out), std::uint64_t(call.N), std::uint64_t(call.M), call.N));

  cublasLtMatmulPreference_t pref = nullptr;
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  struct PrefGuard {
    cublasLtMatmulPreference_t p;
    ~PrefGuard() { cublasLtMatmulPreferenceDestroy(p); }
  } guard{pref};
  const std::uint64_t max_workspace = kWorkspaceBytes;
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_workspace, sizeof max_workspace));
  // cuBLASLt's A is our b and its B our a; C and D are our c.
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_b, sizeof align_b));
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_a, sizeof align_a));
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c, sizeof align_c));
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_c, sizeof align_c));

  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(
      lt(handle_), plan->desc, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &found);
  if (epilogue != 0 && (hs != CUBLAS_STATUS_SUCCESS || found == 0)) {
    plans_.emplace(key, nullptr);  // this epilogue is not offered here: remember that
    return nullptr;
  }
  MANTISSA_CUBLAS_CHECK(hs);
  MANTISSA_ASSERT(found > 0, "cuBLASLt has no algorithm for a " + std::to_string(call.M) + "x" +
                                 std::to_string(call.K) + "x" + std::to_string(call.N) + " " +
                                 std::string(dtype_name(call.in)) + " -> " +
                                 std::string(dtype_name(call.out)) + " matmul on this GPU");
  plan->algo = result.algo;
  plan->workspace = result.workspaceSize;
  Plan* ptr = plan.get();
  plans_.emplace(key, std::move(plan));
  return ptr;
}

bool MatmulPlans::try_run(const MatmulCall& call, cudaStream_t stream) {
  Plan* plan = plan_for(call);
  if (plan == nullptr) return false;
  if (plan->workspace > 0 && workspace_.get() == nullptr)
    workspace_ = DeviceBuffer(allocator_, kWorkspaceBytes);
  if (call.bias != nullptr || call.bias_grad != nullptr) {
    const void* vector =
        call.bias != nullptr ? static_cast<const void*>(call.bias) : call.bias_grad;
    MANTISSA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &vector, sizeof vector));
  }
  const float alpha = 1.0f;
  const float beta = call.beta;
  MANTISSA_CUBLAS_CHECK(
      cublasLtMatmul(lt(handle_), plan->desc, &alpha, call.b, plan->a, call.a, plan->b, &beta,
                     call.c, plan->c, call.c, plan->c, &plan->algo,
                     plan->workspace > 0 ? workspace_.get() : nullptr, plan->workspace, stream));
  return true;
}

void MatmulPlans::run(const MatmulCall& call, cudaStream_t stream) {
  MANTISSA_ASSERT(call.bias == nullptr && call.bias_grad == nullptr && !call.relu,
                  "epilogue matmuls go through try_run()");
  try_run(call, stream);
}

}  // namespace mantissa::cuda
