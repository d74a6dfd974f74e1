// The CUDA backend's parts that run without a GPU: what the registry reports
// when there is none, the caching allocator's size-class bookkeeping, what
// cuBLASLt and cuDNN are asked for, and the kernels' own formulas (dtype
// rounding, activations, the dropout draw), compiled here for the host from
// the same source the kernels use and checked against the CPU backend. (The
// optimizer, schedule and loss-scale rules need no such check: both backends
// call optim/step_rules.hpp.) These run in every build, with or without CUDA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/elementwise_math.hpp"
#include "backends/cuda/library_rules.hpp"
#include "backends/cuda/size_class_cache.hpp"
#include "backends/cuda/storage.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"

namespace mantissa {
namespace {

// ---- registry ------------------------------------------------------------------

std::vector<DeviceInfo> cuda_entries() {
  std::vector<DeviceInfo> out;
  for (auto& d : list_devices())
    if (d.name.rfind("cuda", 0) == 0) out.push_back(d);
  return out;
}

bool any_cuda_available() {
  for (auto& d : cuda_entries())
    if (d.available) return true;
  return false;
}

TEST(CudaRegistry, ListsCudaWithAReasonWhenUnavailable) {
  const auto entries = cuda_entries();
  ASSERT_FALSE(entries.empty()) << "list_devices() must always mention cuda";
  for (const auto& d : entries) {
    EXPECT_FALSE(d.description.empty()) << d.name;
    if (d.available) {
      EXPECT_TRUE(d.reason.empty()) << d.name << ": " << d.reason;
      EXPECT_EQ(d.name.rfind("cuda:", 0), 0u) << "usable GPUs are listed by ordinal";
    } else {
      // e.g. "cudaGetDeviceCount failed: no CUDA-capable device is detected
      // (cudaErrorNoDevice)" or "this build has no CUDA backend".
      EXPECT_FALSE(d.reason.empty()) << d.name << " is unavailable but says not why";
    }
  }
}

TEST(CudaRegistry, CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason) {
  if (any_cuda_available()) GTEST_SKIP() << "a CUDA device is present; covered by CudaParity";
  const std::string reason = cuda_entries().front().reason;
  for (const std::string name : {"cuda", "cuda:0", "cuda:3"}) {
    try {
      auto b = create_backend(name);
      FAIL() << name << " was created without a usable GPU";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("\"cuda"), std::string::npos) << what;
      EXPECT_NE(what.find("not available"), std::string::npos) << what;
      EXPECT_NE(what.find(reason), std::string::npos) << what << " / " << reason;
    }
  }
  EXPECT_THROW(create_backend("cuda:x"), InputError);
}

// ---- allocator bookkeeping --------------------------------------------------------

// A fake device: hands out distinct addresses within a byte budget.
struct FakeSource {
  std::size_t budget = std::size_t(1) << 40;
  std::size_t held = 0;
  std::uintptr_t next = 0x10000;
  int obtained = 0, released = 0;
  void* obtain(std::size_t bytes) {
    if (held + bytes > budget) return nullptr;
    held += bytes;
    ++obtained;
    void* p = reinterpret_cast<void*>(next);
    next += (bytes + 255) / 256 * 256 + 256;
    return p;
  }
  void release(void*, std::size_t bytes) noexcept {
    held -= bytes;
    ++released;
  }
};

TEST(CudaAllocatorCore, SizeClassesRoundSmallTo512AndLargeToEighths) {
  using cuda::size_class;
  EXPECT_EQ(size_class(0), 512u);
  EXPECT_EQ(size_class(1), 512u);
  EXPECT_EQ(size_class(512), 512u);
  EXPECT_EQ(size_class(513), 1024u);
  EXPECT_EQ(size_class(1 << 20), std::size_t(1) << 20);
  EXPECT_EQ(size_class((1 << 20) + 1), (std::size_t(1) << 20) + (1 << 17));
  EXPECT_EQ(size_class(3u << 20), 3u << 20);
  EXPECT_EQ(size_class((3u << 20) + 1), (3u << 20) + (256u << 10));
  for (std::size_t b = 1; b < (std::size_t(1) << 34); b = b * 3 + 7) {
    const std::size_t c = size_class(b);
    EXPECT_GE(c, b);
    EXPECT_LE(double(c), double(b) * 1.125 + 512) << b;
    EXPECT_EQ(size_class(c), c) << "a class is its own class";
  }
}

TEST(CudaAllocatorCore, FreedBlocksAreReusedAndStatsFollowLiveTensors) {
  cuda::SizeClassCache<FakeSource> cache{FakeSource{}};
  void* a = cache.allocate(1000, true);
  EXPECT_EQ(cache.stats().in_use, 1000u);
  EXPECT_EQ(cache.stats().reserved, 1024u);
  void* scratch = cache.allocate(4096, false);  // the backend's own: not tensor memory
  EXPECT_EQ(cache.stats().in_use, 1000u);
  EXPECT_EQ(cache.stats().reserved, 1024u + 4096u);
  cache.deallocate(a);
  EXPECT_EQ(cache.stats().in_use, 0u);
  EXPECT_EQ(cache.stats().peak, 1000u);
  EXPECT_EQ(cache.stats().cached, 1024u);
  EXPECT_EQ(cache.stats().reserved, 1024u + 4096u);

  // Same class: the cached block comes back, nothing new is obtained.
  void* b = cache.allocate(700, true);
  EXPECT_EQ(b, a);
  EXPECT_EQ(cache.source().obtained, 2);
  EXPECT_EQ(cache.stats().cached, 0u);
  // A live block is never handed out twice.
  void* c = cache.allocate(700, true);
  EXPECT_NE(c, b);
  EXPECT_EQ(cache.stats().in_use, 1400u);
  EXPECT_EQ(cache.stats().peak, 1400u);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak, 1400u);
  cache.deallocate(b);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak, 700u);

  // A nearby larger block serves a request (at most a quarter more), a far one does not.
  cache.deallocate(scratch);                // 4096 cached
  void* near = cache.allocate(3500, true);  // class 3584; 4096 <= 3584 * 1.25
  EXPECT_EQ(near, scratch);
  cache.deallocate(near);
  void* far = cache.allocate(1500, true);  // class 1536; 4096 is too big
  EXPECT_NE(far, scratch);
  EXPECT_EQ(cache.stats().live_blocks, 2u);
  cache.deallocate(far);
  cache.deallocate(c);
  cache.deallocate(reinterpret_cast<void*>(0x1));  // unknown pointers are ignored
  EXPECT_EQ(cache.stats().in_use, 0u);

  cache.release_cached();
  EXPECT_EQ(cache.stats().reserved, 0u);
  EXPECT_EQ(cache.stats().cached_blocks, 0u);
  EXPECT_EQ(cache.source().held, 0u);
}

TEST(CudaAllocatorCore, OutOfMemoryFirstReturnsTheCacheThenFails) {
  FakeSource src;
  src.budget = 8192;
  cuda::SizeClassCache<FakeSource> cache{src};
  void* a = cache.allocate(4096, true);
  void* b = cache.allocate(2048, true);
  cache.deallocate(b);  // 2048 cached, 6144 held by the source
  // 3000 -> class 3072: does not fit beside 6144 until the cached block goes back.
  void* c = cache.allocate(3000, true);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(cache.source().released, 1);
  EXPECT_EQ(cache.stats().reserved, 4096u + 3072u);
  // Nothing left to give back: the request fails (the backend turns this
  // into OutOfMemoryError naming the request and what is held).
  EXPECT_EQ(cache.allocate(4096, true), nullptr);
  EXPECT_EQ(cache.stats().in_use, 4096u + 3000u);
  cache.deallocate(a);
  cache.deallocate(c);
}

// While a step is being recorded, giving cached blocks back would wait for
// the capturing stream and invalidate the recording: the request fails
// instead (the step then runs eagerly), and the cache is left as it was.
TEST(CudaAllocatorCore, OutOfMemoryWhileRecordingFailsWithoutReleasingTheCache) {
  FakeSource src;
  src.budget = 8192;
  cuda::SizeClassCache<FakeSource> cache{src};
  void* a = cache.allocate(4096, true);
  void* b = cache.allocate(2048, true);
  cache.deallocate(b);  // 2048 cached, 6144 held by the source
  cache.begin_reserve();
  EXPECT_EQ(cache.allocate(3000, true), nullptr);  // would fit only after a release
  EXPECT_EQ(cache.source().released, 0) << "released (synchronised) while recording";
  EXPECT_EQ(cache.stats().cached, 2048u);
  cache.end_reserve();
  cache.release_reservation();
  // Eagerly, the same request first returns the cache and then fits.
  void* c = cache.allocate(3000, true);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(cache.source().released, 1);
  cache.deallocate(a);
  cache.deallocate(c);
}

// Graph capture: the blocks a recording touched never go to anyone else
// while it exists; inside the recording they are reused in stream order.
TEST(CudaAllocatorCore, ARecordingKeepsItsBlocksUntilItIsReleased) {
  cuda::SizeClassCache<FakeSource> cache{FakeSource{}};
  void* before = cache.allocate(1000, true);  // e.g. the batch of an earlier step
  void* cached = cache.allocate(2000, true);
  cache.deallocate(cached);

  cache.begin_reserve();
  void* t1 = cache.allocate(2000, true);  // from the ordinary cache, now the recording's
  EXPECT_EQ(t1, cached);
  cache.deallocate(t1);                   // freed while recording: the recording's
  void* t2 = cache.allocate(1900, true);  // reused later in the same recording
  EXPECT_EQ(t2, t1);
  void* kept = cache.allocate(5000, true);  // outlives the recording (a saved tensor)
  cache.deallocate(before);                 // the recording may read it: kept too
  cache.deallocate(t2);
  cache.end_reserve();
  EXPECT_EQ(cache.reserved_blocks(), 3u);

  // After recording: freed recording blocks are not handed out again.
  void* a = cache.allocate(2000, true);
  EXPECT_NE(a, t1);
  void* b = cache.allocate(1000, true);
  EXPECT_NE(b, before);
  cache.deallocate(kept);  // freed after the recording ended: still the recording's
  void* c = cache.allocate(5000, true);
  EXPECT_NE(c, kept);
  // Only the recording's own blocks wait; the ordinary cache is released as usual.
  const std::size_t held_by_recording = 1024 + 2048 + 5120;
  cache.deallocate(a);
  cache.release_cached();
  EXPECT_EQ(cache.stats().cached, held_by_recording);

  cache.release_reservation();  // the graph is gone
  EXPECT_EQ(cache.reserved_blocks(), 0u);
  EXPECT_EQ(cache.allocate(2000, true), t1);
  cache.deallocate(b);
  cache.deallocate(c);
  cache.deallocate(t1);
  cache.release_cached();
  EXPECT_EQ(cache.stats().reserved, 0u);
  EXPECT_EQ(cache.source().held, 0u);
}

// ---- what cuBLASLt and cuDNN are asked for (library_rules.hpp) -----------------------

cuda::MatmulCall linear_call(DType in, DType out, std::int64_t batch) {
  // dW (out x in) = dyᵀ (batch x out)ᵀ @ x (batch x in), as linear_backward_weights does
  alignas(256) static float storage[4];
  cuda::MatmulCall c;
  c.a = storage;
  c.b = storage;
  c.c = storage;
  c.in = in;
  c.out = out;
  c.M = 32;
  c.N = 64;
  c.K = batch;
  c.a_rows = batch;
  c.a_cols = 32;
  c.b_rows = batch;
  c.b_cols = 64;
  c.trans_a = true;
  return c;
}

TEST(CudaLibraryRules, SixteenBitOutputsKeepSplitKPartialSumsInFp32) {
  for (DType in : {DType::F32, DType::F16, DType::BF16})
    for (DType out : {DType::F32, in}) {
      const auto pref = cuda::matmul_preference(linear_call(in, out, 128), 32u << 20);
      EXPECT_EQ(pref.compute_type_reduction_only, out != DType::F32)
          << dtype_name(in) << " -> " << dtype_name(out);
      EXPECT_EQ(pref.max_workspace_bytes, 32u << 20);
    }
}

TEST(CudaLibraryRules, PreferencesCarryEachOperandsAlignmentInCublasLtsOrder) {
  alignas(256) static std::uint8_t buf[1024];
  cuda::MatmulCall c = linear_call(DType::F16, DType::F16, 8);
  c.a = buf + 16;  // our a is cuBLASLt's B
  c.b = buf + 8;   // our b is cuBLASLt's A
  c.c = buf + 256;
  const auto pref = cuda::matmul_preference(c, 0);
  EXPECT_EQ(pref.min_alignment_a, 8u);
  EXPECT_EQ(pref.min_alignment_b, 16u);
  EXPECT_EQ(pref.min_alignment_c, 256u);
  EXPECT_EQ(pref.min_alignment_d, 256u);
  EXPECT_EQ(cuda::pointer_alignment(buf + 2), 2u);
  EXPECT_EQ(cuda::pointer_alignment(buf + 1), 1u);
}

TEST(CudaLibraryRules, BiasGradientIsFusedOnlyOverTwoOrMoreRows) {
  float dbias[32];
  cuda::MatmulCall c = linear_call(DType::F16, DType::F32, 1);
  c.bias_grad = dbias;
  EXPECT_EQ(cuda::epilogue_of(c), cuda::MatmulEpilogue::BiasGrad);
  const std::string why = cuda::unfusable_reason(c);
  EXPECT_NE(why.find("bias gradient"), std::string::npos) << why;
  c.K = 2;
  EXPECT_EQ(cuda::unfusable_reason(c), "");
  // Forward epilogues are always offered (cuBLASLt may still refuse them).
  cuda::MatmulCall f = linear_call(DType::BF16, DType::BF16, 1);
  f.bias = dbias;
  EXPECT_EQ(cuda::epilogue_of(f), cuda::MatmulEpilogue::Bias);
  f.relu = true;
  EXPECT_EQ(cuda::epilogue_of(f), cuda::MatmulEpilogue::ReluBias);
  EXPECT_EQ(cuda::unfusable_reason(f), "");
  f.bias = nullptr;
  EXPECT_EQ(cuda::epilogue_of(f), cuda::MatmulEpilogue::Relu);
  f.relu = false;
  EXPECT_EQ(cuda::epilogue_of(f), cuda::MatmulEpilogue::None);
}

TEST(CudaLibraryRules, ConvolutionMathTypesKeepThePrecisionPromise) {
  using M = cuda::ConvMath;
  EXPECT_EQ(cuda::descriptor_math(DType::F32, false), M::Fma);
  EXPECT_EQ(cuda::descriptor_math(DType::F32, true), M::Default);
  EXPECT_EQ(cuda::descriptor_math(DType::F16, false), M::TensorOp);
  EXPECT_EQ(cuda::descriptor_math(DType::BF16, true), M::TensorOp);
  // fp32 without TF32: FMA kernels only.
  EXPECT_TRUE(cuda::conv_math_acceptable(M::Fma, M::Fma));
  for (M m : {M::Default, M::TensorOp, M::TensorOpAllowConversion})
    EXPECT_FALSE(cuda::conv_math_acceptable(M::Fma, m)) << cuda::conv_math_name(m);
  // 16-bit data on tensor cores: a default-math (non-tensor-core) algorithm
  // may be chosen, and then runs under its own math type.
  for (M m : {M::Default, M::TensorOp, M::Fma})
    EXPECT_TRUE(cuda::conv_math_acceptable(M::TensorOp, m)) << cuda::conv_math_name(m);
  // Never a down-conversion of the inputs.
  for (M asked : {M::Default, M::TensorOp, M::Fma})
    EXPECT_FALSE(cuda::conv_math_acceptable(asked, M::TensorOpAllowConversion));
}

// ---- dtype rounding (storage.hpp) against mantissa/dtype.hpp ---------------------

TEST(CudaDeviceRules, ConversionsMatchTheCpuBitForBit) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto bits = std::uint16_t(h);
    ASSERT_EQ(float_bits(cuda::widen_f16(bits)), float_bits(f16_to_f32(bits))) << h;
    ASSERT_EQ(float_bits(cuda::widen_bf16(bits)), float_bits(bf16_to_f32(bits))) << h;
    const float f = f16_to_f32(bits);
    ASSERT_EQ(cuda::round_to_f16(f), f32_to_f16(f)) << h;
    ASSERT_EQ(cuda::round_to_bf16(f), f32_to_bf16(f)) << h;
    const float g = bf16_to_f32(bits);
    ASSERT_EQ(cuda::round_to_f16(g), f32_to_f16(g)) << h;
    ASSERT_EQ(cuda::round_to_bf16(g), f32_to_bf16(g)) << h;
  }
  std::mt19937_64 gen(2024);
  for (int i = 0; i < 1000000; ++i) {
    const float f = bits_float(std::uint32_t(gen()));
    ASSERT_EQ(cuda::round_to_f16(f), f32_to_f16(f)) << std::hex << float_bits(f);
    ASSERT_EQ(cuda::round_to_bf16(f), f32_to_bf16(f)) << std::hex << float_bits(f);
  }
  // PRECISION.md's boundaries.
  for (float f : {65504.0f, 65519.99f, 65520.0f, -65520.0f, 6.103515625e-05f, 5.9604645e-08f,
                  2.9802322e-08f, 2.9802326e-08f, 3.3895314e38f, 3.4028235e38f, 0.0f, -0.0f,
                  std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                  -std::numeric_limits<float>::quiet_NaN()}) {
    EXPECT_EQ(cuda::round_to_f16(f), f32_to_f16(f)) << f;
    EXPECT_EQ(cuda::round_to_bf16(f), f32_to_bf16(f)) << f;
  }
  EXPECT_EQ(cuda::round_to_f16(std::numeric_limits<float>::quiet_NaN()), 0x7E00);
  EXPECT_EQ(cuda::round_to_bf16(-std::numeric_limits<float>::quiet_NaN()), 0x7FC0);
}

// ---- activations and dropout against the CPU backend -------------------------------

TEST(CudaDeviceRules, ActivationFormulasMatchTheCpuBackend) {
  auto cpu = create_backend("cpu");
  std::vector<float> x(2001);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = -10.0f + 0.01f * float(i);
  x[1000] = 0.0f;
  const std::vector<float> dy(x.size(), 0.75f);
  const Activation acts[] = {Activation::Relu, Activation::LeakyRelu, Activation::Gelu,
                             Activation::Tanh, Activation::Sigmoid};
  for (Activation act : acts) {
    const auto kind = cuda::ActKind(int(act));
    const Shape shape{std::int64_t(x.size())};
    Tensor xt = Tensor::from_host(*cpu, shape, DType::F32, x.data());
    Tensor y = Tensor::empty(*cpu, shape, DType::F32);
    Tensor g = Tensor::from_host(*cpu, shape, DType::F32, dy.data());
    Tensor dx = Tensor::empty(*cpu, shape, DType::F32);
    cpu->activation_forward(act, 0.1f, xt, y);
    cpu->activation_backward(act, 0.1f, xt, y, g, dx);
    const auto yv = y.to_host(), dxv = dx.to_host();
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float hy = cuda::activation_value(kind, 0.1f, x[i]);
      const float a = activation_reads_output(act) ? yv[i] : x[i];
      const float hdx = cuda::activation_grad(kind, 0.1f, a, dy[i]);
      // libm's expf / tanhf may be vectorised differently on the CPU path;
      // the CPU's GELU is oneDNN's, whose vectorised erf is within about
      // 3e-7 of erff (absolute, largest in the negative tail near x = -3).
      const double tol = act == Activation::Gelu ? 5e-7 : 2e-7;
      EXPECT_NEAR(hy, yv[i], tol * (1 + std::abs(yv[i]))) << int(act) << " x " << x[i];
      EXPECT_NEAR(hdx, dxv[i], tol * (1 + std::abs(dxv[i]))) << int(act) << " x " << x[i];
    }
  }
}

TEST(CudaDeviceRules, DropoutDrawEqualsTheCpuMask) {
  auto cpu = create_backend("cpu");
  const std::int64_t n = 5000;
  std::vector<float> ones(static_cast<std::size_t>(n), 1.0f);
  Tensor x = Tensor::from_host(*cpu, Shape{n}, DType::F32, ones.data());
  Tensor y = Tensor::empty(*cpu, Shape{n}, DType::F32);
  Tensor mask = Tensor::empty(*cpu, Shape{n}, DType::F32);
  for (float p : {0.0f, 0.1f, 0.5f, 0.9f}) {
    cpu->dropout_forward(x, y, mask, p, 0xABCDEFull, nullptr);
    const auto m = mask.to_host();
    for (std::int64_t i = 0; i < n; ++i) {
      const bool keep = cuda::dropout_keep(0xABCDEFull, std::uint64_t(i), p);
      ASSERT_EQ(m[std::size_t(i)] != 0.0f, keep) << "p " << p << " i " << i;
    }
  }
}

}  // namespace
}  // namespace mantissa
