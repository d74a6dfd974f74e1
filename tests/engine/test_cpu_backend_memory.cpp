// The CPU backend's caching allocator and the backend registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "mantissa/backend.hpp"
#include "mantissa/error.hpp"
#include "test_cpu_backend_util.hpp"

namespace mantissa {
namespace {

TEST(CpuBackendMemory, InUseAndPeakFollowLiveTensorsExactly) {
  cpu::CpuBackend b;
  EXPECT_EQ(b.memory_stats().in_use, 0u);
  {
    Tensor a = Tensor::empty(b, {10, 3}, DType::F32);  // 120 bytes
    EXPECT_EQ(b.memory_stats().in_use, 120u);
    Tensor h = Tensor::empty(b, {7}, DType::F16);  // 14 bytes
    EXPECT_EQ(b.memory_stats().in_use, 134u);
    EXPECT_EQ(b.memory_stats().peak, 134u);
    Tensor shared = a;  // a second handle holds no new memory
    EXPECT_EQ(b.memory_stats().in_use, 134u);
  }
  EXPECT_EQ(b.memory_stats().in_use, 0u);
  EXPECT_EQ(b.memory_stats().peak, 134u);

  b.reset_peak_memory();
  EXPECT_EQ(b.memory_stats().peak, 0u);
  Tensor c = Tensor::empty(b, {16}, DType::BF16);
  EXPECT_EQ(b.memory_stats().in_use, 32u);
  EXPECT_EQ(b.memory_stats().peak, 32u);
  c = Tensor();
  EXPECT_EQ(b.memory_stats().in_use, 0u);
  EXPECT_EQ(b.memory_stats().peak, 32u);
}

TEST(CpuBackendMemory, FreedBlocksAreReusedWithoutGrowingReserve) {
  cpu::CpuBackend b;
  void* first = b.allocate(1000);
  const std::size_t reserved = b.memory_stats().reserved;
  EXPECT_EQ(reserved, 1024u);  // rounded up to whole 64-byte lines
  b.deallocate(first, 1000);
  EXPECT_EQ(b.memory_stats().in_use, 0u);
  EXPECT_EQ(b.memory_stats().reserved, reserved);  // cached, not returned

  // Any request that rounds to the same block size gets the cached block back.
  void* again = b.allocate(1020);
  EXPECT_EQ(again, first);
  EXPECT_EQ(b.memory_stats().reserved, reserved);
  EXPECT_EQ(b.memory_stats().in_use, 1020u);

  // A live block is never handed out twice; a different size gets its own.
  void* other = b.allocate(1020);
  EXPECT_NE(other, again);
  void* bigger = b.allocate(4096);
  EXPECT_EQ(b.memory_stats().reserved, 1024u + 1024u + 4096u);
  b.deallocate(again, 1020);
  b.deallocate(other, 1020);
  b.deallocate(bigger, 4096);

  b.release_cached_memory();
  EXPECT_EQ(b.memory_stats().reserved, 0u);
  EXPECT_EQ(b.memory_stats().in_use, 0u);
}

TEST(CpuBackendMemory, SteadyStateTrainingLoopDoesNotGrowReserve) {
  cpu::CpuBackend b;
  auto step = [&] {
    Tensor x = Tensor::empty(b, {32, 100}, DType::F32);
    Tensor h = Tensor::empty(b, {32, 64}, DType::BF16);
    Tensor g = Tensor::empty(b, {100, 64}, DType::F32);
  };
  step();
  const std::size_t reserved = b.memory_stats().reserved;
  for (int i = 0; i < 20; ++i) step();
  EXPECT_EQ(b.memory_stats().reserved, reserved);
  EXPECT_EQ(b.memory_stats().in_use, 0u);
}

TEST(CpuBackendMemory, BlocksAre64ByteAligned) {
  cpu::CpuBackend b;
  std::vector<Tensor> held;
  for (std::int64_t n : {1, 3, 17, 100, 1000}) {
    held.push_back(Tensor::empty(b, {n}, DType::F16));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(held.back().data()) % 64, 0u) << n;
  }
}

TEST(CpuBackendMemory, ConcurrentAllocationKeepsExactCounts) {
  cpu::CpuBackend b;
  auto work = [&] {
    for (int i = 0; i < 2000; ++i) {
      void* p = b.allocate(std::size_t(64 + (i % 7) * 64));
      b.deallocate(p, std::size_t(64 + (i % 7) * 64));
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(b.memory_stats().in_use, 0u);
  // At most two blocks of each of the 7 sizes can have been live at once.
  EXPECT_LE(b.memory_stats().reserved, 2u * (64 + 128 + 192 + 256 + 320 + 384 + 448));
}

TEST(CpuBackendMemory, ImpossibleRequestThrowsOutOfMemoryAndCountsNothing) {
#ifdef __SANITIZE_ADDRESS__
  // AddressSanitizer aborts on such a request instead of returning null.
  GTEST_SKIP() << "not meaningful under AddressSanitizer";
#endif
  cpu::CpuBackend b;
  Tensor held = Tensor::empty(b, {256}, DType::F32);
  try {
    b.allocate(std::size_t(1) << 50);  // 1 PiB: more than the address space allows
    ADD_FAILURE() << "a 1 PiB allocation succeeded";
  } catch (const OutOfMemoryError& e) {
    EXPECT_NE(std::string(e.what()).find("allocating 1.0 PiB (1.0 KiB already held"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(b.memory_stats().in_use, 1024u);
  EXPECT_EQ(b.memory_stats().peak, 1024u);
}

TEST(CpuBackendMemory, UploadDownloadRoundTrip) {
  cpu::CpuBackend b;
  const std::vector<float> v{1.5f, -2.0f, 3.25f};
  Tensor t = cpu_test::upload(b, {3}, DType::F32, v);
  EXPECT_EQ(t.to_host(), v);
}

TEST(CpuBackendRegistry, CpuIsListedWithModelAndThreads) {
  const auto devices = list_devices();
  ASSERT_GE(devices.size(), 2u);
  EXPECT_EQ(devices[0].name, "cpu");
  EXPECT_TRUE(devices[0].available);
  EXPECT_NE(devices[0].description.find(" thread"), std::string::npos) << devices[0].description;
  EXPECT_NE(devices[0].description.find('('), std::string::npos);
  bool has_cuda = false;
  for (const auto& d : devices) has_cuda = has_cuda || d.name.rfind("cuda", 0) == 0;
  EXPECT_TRUE(has_cuda);
}

TEST(CpuBackendRegistry, CreateCpu) {
  auto b = create_backend("cpu");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name(), "cpu");
  EXPECT_FALSE(b->description().empty());
  EXPECT_FALSE(b->native_f16());
}

TEST(CpuBackendRegistry, UnavailableCudaIsListedWithItsReason) {
  const auto devices = list_devices();
  std::vector<DeviceInfo> cuda;
  for (const auto& d : devices) {
    if (d.name.rfind("cuda", 0) == 0) cuda.push_back(d);
  }
  ASSERT_FALSE(cuda.empty());
  for (const auto& d : cuda) {
    if (d.available) GTEST_SKIP() << "this build can use " << d.name;
  }
  if (cuda.size() == 1 && cuda[0].name == "cuda") {
    // A build without the CUDA backend lists one placeholder entry.
    EXPECT_EQ(cuda[0].reason, "this build has no CUDA backend");
  }
  for (const char* name : {"cuda", "cuda:0", "cuda:1"}) {
    try {
      create_backend(name);
      ADD_FAILURE() << name << " should not be creatable";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("\"") + name + "\""), std::string::npos) << msg;
      EXPECT_FALSE(cuda[0].reason.empty());
      if (cuda.size() == 1) {
        EXPECT_NE(msg.find(cuda[0].reason), std::string::npos) << msg;
      }
    }
  }
}

TEST(CpuBackendRegistry, UnknownNamesListValidChoices) {
  for (const char* name : {"tpu", "", "CPU", "cuda:", "cuda:x", "cuda0", "cpu:0"}) {
    try {
      create_backend(name);
      ADD_FAILURE() << '"' << name << "\" should be rejected";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("\"") + name + "\""), std::string::npos) << msg;
      EXPECT_NE(msg.find("cpu, cuda, cuda:N"), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace mantissa
