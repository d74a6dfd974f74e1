#pragma once
// What the backend asks cuBLASLt and cuDNN for, decided in plain C++: which
// matmul epilogue a call may fuse, the heuristic preferences a matmul plan
// hands to cuBLASLt, and which cuDNN math types may run a convolution. The
// library calls (cublaslt_matmul.cpp, cudnn_conv.cpp) apply these rules;
// host tests read them on machines without a GPU or the CUDA headers.
#include <cstdint>
#include <string>

#include "mantissa/dtype.hpp"

namespace mantissa::cuda {

// ---- cuBLASLt -----------------------------------------------------------------------

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
  // batched_matmul: `batch` products c[i] = alpha * op(a[i]) @ op(b[i]) +
  // beta * c[i] over packed 3-D operands, matrix i of each starting i *
  // rows * cols elements after the first (cuBLASLt's strided batch).
  // Epilogues are not offered for batched calls.
  std::int64_t batch = 1;
  bool batched = false;
  float alpha = 1.0f;
};

enum class MatmulEpilogue : int { None, Bias, BiasGrad, Relu, ReluBias };

inline MatmulEpilogue epilogue_of(const MatmulCall& call) {
  if (call.bias_grad != nullptr) return MatmulEpilogue::BiasGrad;
  if (call.relu) return call.bias != nullptr ? MatmulEpilogue::ReluBias : MatmulEpilogue::Relu;
  return call.bias != nullptr ? MatmulEpilogue::Bias : MatmulEpilogue::None;
}

inline const char* epilogue_name(MatmulEpilogue e) {
  switch (e) {
    case MatmulEpilogue::Bias:
      return "bias";
    case MatmulEpilogue::BiasGrad:
      return "bias gradient";
    case MatmulEpilogue::Relu:
      return "relu";
    case MatmulEpilogue::ReluBias:
      return "bias+relu";
    case MatmulEpilogue::None:
      break;
  }
  return "none";
}

// Why a call's epilogue is not even offered to cuBLASLt (the unfused ops run
// instead); empty when it may be fused. CUBLASLT_EPILOGUE_BGRADB has been
// reported to give a wrong bias gradient when the sum runs over one row, so
// a reduction of length 1 (a batch of one) takes the separate kernels.
inline std::string unfusable_reason(const MatmulCall& call) {
  if (call.batched && epilogue_of(call) != MatmulEpilogue::None)
    return "batched matmuls take no epilogue";
  if (epilogue_of(call) == MatmulEpilogue::BiasGrad && call.K < 2)
    return "a bias gradient summed over " + std::to_string(call.K) +
           " row is not fused (BGRADB needs at least 2)";
  return {};
}

// Largest power of two (at most 256) dividing a device address.
inline std::uint32_t pointer_alignment(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

// The alignment every matrix of a strided batch has: its base pointer's,
// and no more than the batch stride's (in bytes), since matrix i starts
// i * stride_bytes after the base.
inline std::uint32_t strided_alignment(const void* p, std::int64_t batch,
                                       std::int64_t stride_bytes) {
  std::uint32_t alignment = pointer_alignment(p);
  if (batch > 1)
    while (alignment > 1 && stride_bytes % std::int64_t(alignment) != 0) alignment /= 2;
  return alignment;
}

// Our a, b and c's alignments (the base pointer's for a single matmul).
struct OperandAlignments {
  std::uint32_t a = 1, b = 1, c = 1;
};

inline OperandAlignments operand_alignments(const MatmulCall& call) {
  const auto in = std::int64_t(dtype_size(call.in)), out = std::int64_t(dtype_size(call.out));
  return {strided_alignment(call.a, call.batch, call.a_rows * call.a_cols * in),
          strided_alignment(call.b, call.batch, call.b_rows * call.b_cols * in),
          strided_alignment(call.c, call.batch, call.M * call.N * out)};
}

// The heuristic preferences of one plan, in cuBLASLt's terms: its A is our b,
// its B our a, its C and D our c (the column-major view, see
// cublaslt_matmul.hpp).
struct MatmulPreference {
  std::uint64_t max_workspace_bytes = 0;
  std::uint32_t min_alignment_a = 0, min_alignment_b = 0, min_alignment_c = 0,
                min_alignment_d = 0;
  // CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK: split-K partial sums kept
  // only in the fp32 compute type. Without it the heuristic may choose an
  // in-place or output-type reduction, which for a 16-bit c adds the
  // partial sums in 16 bits: more than the contract's one rounding.
  bool compute_type_reduction_only = false;
};

inline MatmulPreference matmul_preference(const MatmulCall& call, std::uint64_t workspace) {
  MatmulPreference p;
  p.max_workspace_bytes = workspace;
  const OperandAlignments align = operand_alignments(call);
  p.min_alignment_a = align.b;
  p.min_alignment_b = align.a;
  p.min_alignment_c = align.c;
  p.min_alignment_d = p.min_alignment_c;
  p.compute_type_reduction_only = call.out != DType::F32;
  return p;
}

// ---- cuDNN --------------------------------------------------------------------------

// cudnnMathType_t's values (cudnn_conv.cpp checks them against cudnn.h).
enum class ConvMath : int { Default = 0, TensorOp = 1, TensorOpAllowConversion = 2, Fma = 3 };

inline const char* conv_math_name(ConvMath m) {
  switch (m) {
    case ConvMath::TensorOp:
      return "tensor-op math";
    case ConvMath::TensorOpAllowConversion:
      return "tensor-op math with down-conversion";
    case ConvMath::Fma:
      return "FMA math";
    case ConvMath::Default:
      break;
  }
  return "default math";
}

// The math type a convolution's descriptor starts with: fp32 uses FMA only
// (no TF32) unless TF32 is allowed; fp16 / bf16 use tensor cores with fp32
// accumulation.
inline ConvMath descriptor_math(DType data, bool allow_tf32) {
  if (data != DType::F32) return ConvMath::TensorOp;
  return allow_tf32 ? ConvMath::Default : ConvMath::Fma;
}

// Whether an algorithm the heuristic or the timing returned, with its own
// math type, may run a convolution whose descriptor asked for `asked`. The
// chosen result's math type is then set on the descriptor (an algorithm run
// under another math type fails or computes something else). Never a
// conversion of the inputs to a narrower type; fp32 without TF32 only on FMA
// kernels.
inline bool conv_math_acceptable(ConvMath asked, ConvMath result) {
  if (result == ConvMath::TensorOpAllowConversion) return false;
  if (asked == ConvMath::Fma) return result == ConvMath::Fma;
  return true;
}

}  // namespace mantissa::cuda
