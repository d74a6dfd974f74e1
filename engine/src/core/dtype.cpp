// Dtype names and the bulk conversions of PRECISION.md.
//
// Every path must give the bits of the scalar functions in dtype.hpp for every
// input, so that a tensor's contents never depend on the machine or on the
// buffer length. Where a hardware instruction differs from those functions, the
// difference is patched here rather than accepted:
//   - vcvtps2ph rounds like IEEE RNE (as the scalar code does) but keeps part of a
//     NaN's payload and its sign; NaN lanes are replaced by the payload-free quiet
//     NaN 0x7FC00000 first, which converts to the canonical 0x7E00.
//   - vcvtph2ps sets the quiet bit of a signalling NaN while the scalar function
//     keeps the bits as they are; NaN lanes are rebuilt with integer operations.
//   - avx512_bf16's vcvtneps2bf16 flushes fp32 subnormals to zero, so it is not
//     used; fp32 -> bf16 is the integer round-half-even trick on vector lanes.
#include "mantissa/dtype.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/dtype_dispatch.hpp"
#include "mantissa/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define MANTISSA_DTYPE_X86 1
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() through and then warn
// about it inside the header when inlined at -O3 (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#include <cpuid.h>
#endif

namespace mantissa {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "f32";
    case DType::F16:
      return "f16";
    case DType::BF16:
      return "bf16";
  }
  MANTISSA_ASSERT(false, "unknown DType value " + std::to_string(static_cast<int>(t)));
}

DType parse_dtype(std::string_view s) {
  if (s == "f32" || s == "fp32" || s == "float32") return DType::F32;
  if (s == "f16" || s == "fp16" || s == "float16") return DType::F16;
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  throw InputError("unknown dtype '" + std::string(s) +
                   "' (valid: f32, fp32, float32, f16, fp16, float16, bf16, bfloat16)");
}

namespace {

using Half = std::uint16_t;  // raw fp16 or bf16 bits

// One set of the four primitive conversions; f16 <-> bf16 goes through fp32,
// which is exact on the way up, so it equals the composed scalar functions.
struct Kernels {
  void (*f32_to_f16)(const float* src, Half* dst, std::size_t n);
  void (*f32_to_bf16)(const float* src, Half* dst, std::size_t n);
  void (*f16_to_f32)(const Half* src, float* dst, std::size_t n);
  void (*bf16_to_f32)(const Half* src, float* dst, std::size_t n);
};

// ---- scalar: the definition, and the fallback on any CPU ----

void f32_to_f16_scalar(const float* src, Half* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}
void f32_to_bf16_scalar(const float* src, Half* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}
void f16_to_f32_scalar(const Half* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
void bf16_to_f32_scalar(const Half* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

constexpr Kernels kScalarKernels{f32_to_f16_scalar, f32_to_bf16_scalar, f16_to_f32_scalar,
                                 bf16_to_f32_scalar};

#ifdef MANTISSA_DTYPE_X86

// vcvtps2ph immediate: round to nearest even regardless of MXCSR.RC.
constexpr int kRoundNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
constexpr int kQuietNanBits = 0x7FC00000;

// ---- AVX2 + F16C: 8 fp32 lanes ----

__attribute__((target("avx2,f16c"))) void f32_to_f16_avx2(const float* src, Half* dst,
                                                          std::size_t n) {
  const __m256 qnan = _mm256_castsi256_ps(_mm256_set1_epi32(kQuietNanBits));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(src + i);
    x = _mm256_blendv_ps(x, qnan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(x, kRoundNearest));
  }
  f32_to_f16_scalar(src + i, dst + i, n - i);
}

__attribute__((target("avx2"))) inline __m256i bf16_round_avx2(__m256 x) {
  const __m256 qnan = _mm256_castsi256_ps(_mm256_set1_epi32(kQuietNanBits));
  x = _mm256_blendv_ps(x, qnan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  __m256i u = _mm256_castps_si256(x);
  // u + 0x7FFF + (bit 16 of u), then keep the top half: round half to even.
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  u = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF)));
  return _mm256_srli_epi32(u, 16);
}

__attribute__((target("avx2"))) void f32_to_bf16_avx2(const float* src, Half* dst, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i lo = bf16_round_avx2(_mm256_loadu_ps(src + i));
    __m256i hi = bf16_round_avx2(_mm256_loadu_ps(src + i + 8));
    // Lanes hold 0..0xFFFF, so the unsigned-saturating pack is exact; it
    // interleaves 128-bit halves, which the permute puts back in order.
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), packed);
  }
  f32_to_bf16_scalar(src + i, dst + i, n - i);
}

__attribute__((target("avx2,f16c"))) void f16_to_f32_avx2(const Half* src, float* dst,
                                                          std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    __m256 f = _mm256_cvtph_ps(h);
    __m256i w = _mm256_cvtepu16_epi32(h);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x7FFF)),
                                     _mm256_set1_epi32(0x7C00));
    __m256i exact = _mm256_or_si256(
        _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x8000)), 16),
                        _mm256_set1_epi32(0x7F800000)),
        _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x3FF)), 13));
    f = _mm256_blendv_ps(f, _mm256_castsi256_ps(exact), _mm256_castsi256_ps(nan));
    _mm256_storeu_ps(dst + i, f);
  }
  f16_to_f32_scalar(src + i, dst + i, n - i);
}

__attribute__((target("avx2"))) void bf16_to_f32_avx2(const Half* src, float* dst, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), w);
  }
  bf16_to_f32_scalar(src + i, dst + i, n - i);
}

constexpr Kernels kAvx2Kernels{f32_to_f16_avx2, f32_to_bf16_avx2, f16_to_f32_avx2,
                               bf16_to_f32_avx2};

// ---- AVX-512F: 16 fp32 lanes (vcvtps2ph / vcvtph2ps / vpmovdw are all AVX-512F) ----

__attribute__((target("avx512f"))) void f32_to_f16_avx512(const float* src, Half* dst,
                                                          std::size_t n) {
  const __m512 qnan = _mm512_castsi512_ps(_mm512_set1_epi32(kQuietNanBits));
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(src + i);
    x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), qnan);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtps_ph(x, kRoundNearest));
  }
  f32_to_f16_scalar(src + i, dst + i, n - i);
}

__attribute__((target("avx512f"))) void f32_to_bf16_avx512(const float* src, Half* dst,
                                                           std::size_t n) {
  const __m512 qnan = _mm512_castsi512_ps(_mm512_set1_epi32(kQuietNanBits));
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i bias = _mm512_set1_epi32(0x7FFF);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(src + i);
    x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), qnan);
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
    u = _mm512_add_epi32(u, _mm512_add_epi32(lsb, bias));
    __m256i h = _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), h);
  }
  f32_to_bf16_scalar(src + i, dst + i, n - i);
}

__attribute__((target("avx512f"))) void f16_to_f32_avx512(const Half* src, float* dst,
                                                          std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    __m512 f = _mm512_cvtph_ps(h);
    __m512i w = _mm512_cvtepu16_epi32(h);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(w, _mm512_set1_epi32(0x7FFF)),
                                            _mm512_set1_epi32(0x7C00));
    __m512i exact = _mm512_or_si512(
        _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x8000)), 16),
                        _mm512_set1_epi32(0x7F800000)),
        _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x3FF)), 13));
    f = _mm512_mask_mov_ps(f, nan, _mm512_castsi512_ps(exact));
    _mm512_storeu_ps(dst + i, f);
  }
  f16_to_f32_scalar(src + i, dst + i, n - i);
}

__attribute__((target("avx512f"))) void bf16_to_f32_avx512(const Half* src, float* dst,
                                                           std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    _mm512_storeu_si512(dst + i, w);
  }
  bf16_to_f32_scalar(src + i, dst + i, n - i);
}

constexpr Kernels kAvx512Kernels{f32_to_f16_avx512, f32_to_bf16_avx512, f16_to_f32_avx512,
                                 bf16_to_f32_avx512};

#endif  // MANTISSA_DTYPE_X86

const Kernels& kernels_for(detail::ConvertIsa isa) {
#ifdef MANTISSA_DTYPE_X86
  if (isa == detail::ConvertIsa::Avx512) return kAvx512Kernels;
  if (isa == detail::ConvertIsa::Avx2) return kAvx2Kernels;
#endif
  return kScalarKernels;
}

// f16 <-> bf16 through an fp32 block small enough to stay in L1.
void convert_via_f32(void (*to_f32)(const Half*, float*, std::size_t),
                     void (*from_f32)(const float*, Half*, std::size_t), const Half* src, Half* dst,
                     std::size_t n) {
  constexpr std::size_t kBlock = 2048;
  alignas(64) float buf[kBlock];
  for (std::size_t off = 0; off < n; off += kBlock) {
    std::size_t m = std::min(kBlock, n - off);
    to_f32(src + off, buf, m);
    from_f32(buf, dst + off, m);
  }
}

// Converts elements [begin, end) of a pair of distinct dtypes.
void convert_range(const Kernels& k, const void* src, DType src_type, void* dst, DType dst_type,
                   std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  const auto* s32 = static_cast<const float*>(src) + begin;
  const auto* s16 = static_cast<const Half*>(src) + begin;
  auto* d32 = static_cast<float*>(dst) + begin;
  auto* d16 = static_cast<Half*>(dst) + begin;
  switch (src_type) {
    case DType::F32:
      (dst_type == DType::F16 ? k.f32_to_f16 : k.f32_to_bf16)(s32, d16, n);
      return;
    case DType::F16:
      if (dst_type == DType::F32) return k.f16_to_f32(s16, d32, n);
      return convert_via_f32(k.f16_to_f32, k.f32_to_bf16, s16, d16, n);
    case DType::BF16:
      if (dst_type == DType::F32) return k.bf16_to_f32(s16, d32, n);
      return convert_via_f32(k.bf16_to_f32, k.f32_to_f16, s16, d16, n);
  }
}

// Below this a thread team costs more than it saves; chunks are large enough
// to amortise scheduling and small enough to balance two to a few dozen cores.
constexpr std::size_t kParallelMin = std::size_t(1) << 16;
constexpr std::size_t kChunk = std::size_t(1) << 15;

}  // namespace

namespace detail {

ConvertIsa best_convert_isa() {
  static const ConvertIsa best = [] {
#ifdef MANTISSA_DTYPE_X86
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the wide registers.
    if (__builtin_cpu_supports("avx512f")) return ConvertIsa::Avx512;
    // clang's __builtin_cpu_supports does not know "f16c"; CPUID leaf 1 says it.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    if (__builtin_cpu_supports("avx2") && f16c) return ConvertIsa::Avx2;
#endif
    return ConvertIsa::Scalar;
  }();
  return best;
}

std::string_view convert_isa_name(ConvertIsa isa) {
  switch (isa) {
    case ConvertIsa::Scalar:
      return "scalar";
    case ConvertIsa::Avx2:
      return "avx2";
    case ConvertIsa::Avx512:
      return "avx512";
  }
  return "unknown";
}

void convert_with(ConvertIsa isa, const void* src, DType src_type, void* dst, DType dst_type,
                  std::size_t n) {
  if (n == 0) return;
  MANTISSA_ASSERT(src != nullptr && dst != nullptr, "convert: null buffer");
  MANTISSA_ASSERT(
      static_cast<int>(isa) <= static_cast<int>(best_convert_isa()),
      "convert: path " + std::string(convert_isa_name(isa)) + " is not supported by this CPU");
  if (src_type == dst_type && src == dst) return;
  // Threads write chunks of dst while others still read src, so an overlap
  // would give results that depend on the thread count.
  const auto s = reinterpret_cast<std::uintptr_t>(src);
  const auto d = reinterpret_cast<std::uintptr_t>(dst);
  MANTISSA_ASSERT(s + n * dtype_size(src_type) <= d || d + n * dtype_size(dst_type) <= s,
                  "convert: source and destination buffers overlap");
  if (src_type == dst_type) {
    std::memcpy(dst, src, n * dtype_size(src_type));
    return;
  }
  const Kernels& k = kernels_for(isa);
  if (n < kParallelMin) {
    convert_range(k, src, src_type, dst, dst_type, 0, n);
    return;
  }
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) {
    convert_range(k, src, src_type, dst, dst_type, c * kChunk, std::min(n, (c + 1) * kChunk));
  }
}

}  // namespace detail

void convert(const void* src, DType src_type, void* dst, DType dst_type, std::size_t n) {
  detail::convert_with(detail::best_convert_isa(), src, src_type, dst, dst_type, n);
}

}  // namespace mantissa
