#include "backends/cuda/cublaslt_matmul.hpp"

#include <cublasLt.h>

#include <cstdint>
#include <iostream>
#include <limits>
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

MatmulPlans::MatmulPlans(CudaAllocator& allocator, bool allow_tf32, bool log)
    : allocator_(allocator), allow_tf32_(allow_tf32), log_(log) {
  cublasLtHandle_t h = nullptr;
  MANTISSA_CUBLAS_CHECK(cublasLtCreate(&h));
  handle_ = h;
}

MatmulPlans::~MatmulPlans() {
  plans_.clear();
  if (handle_ != nullptr) cublasLtDestroy(lt(handle_));
}

namespace {

std::string dims(std::int64_t rows, std::int64_t cols, bool trans) {
  return std::to_string(rows) + "x" + std::to_string(cols) + (trans ? "ᵀ" : "");
}

std::string describe(const MatmulCall& call) {
  return (call.batched ? std::to_string(call.batch) + " × " : std::string()) +
         dims(call.a_rows, call.a_cols, call.trans_a) + " @ " +
         dims(call.b_rows, call.b_cols, call.trans_b) + " " + std::string(dtype_name(call.in)) +
         " -> " + std::string(dtype_name(call.out));
}

const char* op_name(const MatmulCall& call) {
  if (call.batched) return "batched_matmul";
  switch (epilogue_of(call)) {
    case MatmulEpilogue::None:
      return "matmul";
    case MatmulEpilogue::BiasGrad:
      return "linear_backward_weights";
    default:
      break;
  }
  return "linear_forward";
}

template <class T>
T algo_config(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr) {
  T value{};
  std::size_t written = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &value, sizeof value, &written) !=
      CUBLAS_STATUS_SUCCESS)
    return T{};
  return value;
}

const char* reduction_name(std::uint32_t scheme) {
  switch (scheme) {
    case CUBLASLT_REDUCTION_SCHEME_INPLACE:
      return "in place";
    case CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE:
      return "in the compute type";
    case CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE:
      return "in the output type";
    default:
      break;
  }
  return "none";
}

}  // namespace

std::unique_ptr<MatmulPlans::Plan> MatmulPlans::make_plan(const MatmulCall& call,
                                                         std::string& why_not) {
  const MatmulEpilogue epilogue = epilogue_of(call);
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
  if (epilogue != MatmulEpilogue::None) {
    // The vector is fp32 whatever c's type; its pointer is set per call.
    const cublasLtEpilogue_t e = epilogue == MatmulEpilogue::Bias       ? CUBLASLT_EPILOGUE_BIAS
                                 : epilogue == MatmulEpilogue::BiasGrad ? CUBLASLT_EPILOGUE_BGRADB
                                 : epilogue == MatmulEpilogue::Relu     ? CUBLASLT_EPILOGUE_RELU
                                                                        : CUBLASLT_EPILOGUE_RELU_BIAS;
    MANTISSA_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e));
    if (epilogue != MatmulEpilogue::Relu) {
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
  if (call.batched) {
    // Packed 3-D operands: matrix i of each starts i * rows * cols elements
    // after the first (the offsets are in elements, not bytes). C and D share
    // one layout, so they share the stride too.
    MANTISSA_ASSERT(call.batch >= 1 && call.batch <= std::numeric_limits<std::int32_t>::max(),
                    "batched_matmul: batch of " + std::to_string(call.batch));
    const auto count = std::int32_t(call.batch);
    auto batch = [&](cublasLtMatrixLayout_t layout, std::int64_t stride) {
      MANTISSA_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
          layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
      MANTISSA_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
          layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
    };
    batch(plan->a, call.b_rows * call.b_cols);  // cuBLASLt's A is our b
    batch(plan->b, call.a_rows * call.a_cols);
    batch(plan->c, call.M * call.N);
  }

  cublasLtMatmulPreference_t pref = nullptr;
  MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  struct PrefGuard {
    cublasLtMatmulPreference_t p;
    ~PrefGuard() { cublasLtMatmulPreferenceDestroy(p); }
  } guard{pref};
  const MatmulPreference want = matmul_preference(call, kWorkspaceBytes);
  auto set = [&](cublasLtMatmulPreferenceAttributes_t attr, const auto& value) {
    MANTISSA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof value));
  };
  set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, want.max_workspace_bytes);
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, want.min_alignment_a);
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, want.min_alignment_b);
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, want.min_alignment_c);
  set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, want.min_alignment_d);
  if (want.compute_type_reduction_only) {
    const std::uint32_t mask = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    set(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, mask);
  }

  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(
      lt(handle_), plan->desc, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &found);
  if (epilogue != MatmulEpilogue::None && (hs != CUBLAS_STATUS_SUCCESS || found == 0)) {
    why_not = std::string("cuBLASLt offers no algorithm with the ") + epilogue_name(epilogue) +
              " epilogue (" +
              (hs != CUBLAS_STATUS_SUCCESS ? cublasLtGetStatusName(hs) : "none found") + ")";
    return nullptr;
  }
  MANTISSA_CUBLAS_CHECK(hs);
  MANTISSA_ASSERT(found > 0, "cuBLASLt has no algorithm for a " + std::to_string(call.M) + "x" +
                                 std::to_string(call.K) + "x" + std::to_string(call.N) + " " +
                                 std::string(dtype_name(call.in)) + " -> " +
                                 std::string(dtype_name(call.out)) + " matmul on this GPU");
  plan->algo = result.algo;
  plan->workspace = result.workspaceSize;
  return plan;
}

MatmulPlans::Entry& MatmulPlans::entry_for(const MatmulCall& call) {
  const MatmulEpilogue epilogue = epilogue_of(call);
  const OperandAlignments align = operand_alignments(call);
  const Key key{call.M,
                call.N,
                call.K,
                call.trans_a,
                call.trans_b,
                int(call.in),
                int(call.out),
                align.a,
                align.b,
                align.c,
                allow_tf32_,
                int(epilogue),
                call.batched,
                call.batched ? call.batch : 1};
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;

  Entry entry;
  entry.op = op_name(call);
  entry.shape = describe(call);
  entry.fallback = unfusable_reason(call);
  if (entry.fallback.empty()) entry.plan = make_plan(call, entry.fallback);
  if (entry.plan != nullptr) {
    const auto& algo = entry.plan->algo;
    const auto splits = algo_config<std::uint32_t>(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM);
    entry.path = "cuBLASLt algo " +
                 std::to_string(algo_config<std::int32_t>(algo, CUBLASLT_ALGO_CONFIG_ID));
    if (splits > 1)
      entry.path += ", split-K " + std::to_string(splits) + " reduced " +
                    reduction_name(algo_config<std::uint32_t>(
                        algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME));
    if (epilogue != MatmulEpilogue::None)
      entry.path += std::string(", ") + epilogue_name(epilogue) + " epilogue";
    entry.path += ", workspace " + std::to_string(entry.plan->workspace) + " B";
  } else {
    entry.path = "unfused: " + entry.fallback;
  }
  if (log_) std::cerr << "mantissa cuda: " << entry.op << " " << entry.shape << ": " << entry.path
                      << "\n";
  return plans_.emplace(key, std::move(entry)).first->second;
}

std::vector<OpPath> MatmulPlans::paths() const {
  std::vector<OpPath> out;
  for (const auto& [key, e] : plans_)
    out.push_back({e.op, e.shape, e.path, e.plan == nullptr, e.calls});
  return out;
}

bool MatmulPlans::try_run(const MatmulCall& call, cudaStream_t stream) {
  Entry& entry = entry_for(call);
  ++entry.calls;
  Plan* plan = entry.plan.get();
  if (plan == nullptr) return false;
  if (plan->workspace > 0 && workspace_.get() == nullptr)
    workspace_ = DeviceBuffer(allocator_, kWorkspaceBytes);
  if (call.bias != nullptr || call.bias_grad != nullptr) {
    const void* vector =
        call.bias != nullptr ? static_cast<const void*>(call.bias) : call.bias_grad;
    MANTISSA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &vector, sizeof vector));
  }
  const float alpha = call.alpha;  // host scalars, read when the call is enqueued
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
