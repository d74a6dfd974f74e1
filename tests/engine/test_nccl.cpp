// NCCL loaded at run time (dist/nccl_library.hpp): the loader against a
// stand-in library (tests/plugins/fake_nccl.cpp) and a missing one, the
// watchdog that aborts a device collective instead of hanging, the CPU's
// answer, and on a GPU with NCCL the real sum.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "cuda_test_util.hpp"
#include "dist/nccl_library.hpp"
#include "mantissa/backend.hpp"
#include "mantissa/collective.hpp"
#include "mantissa/error.hpp"

namespace mantissa {
namespace {

using namespace std::chrono_literals;

TEST(Nccl, AMissingLibraryIsNamedWithTheLoadersReason) {
  std::string why;
  EXPECT_EQ(dist::NcclLibrary::open("/nonexistent/libnccl.so.2", &why), nullptr);
  EXPECT_NE(why.find("NCCL (/nonexistent/libnccl.so.2) did not load: "), std::string::npos) << why;
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
}

TEST(Nccl, ALibraryWithoutNcclsEntryPointsIsRefusedNamingTheFirstMissing) {
  std::string why;
  EXPECT_EQ(dist::NcclLibrary::open("libm.so.6", &why), nullptr);
  EXPECT_EQ(why, "NCCL (libm.so.6) has no ncclGetVersion: not a libnccl.so.2 Mantissa can use");
}

TEST(Nccl, TheStandInLoadsWithItsVersionAndItsErrorWords) {
  std::string why;
  const auto lib = dist::NcclLibrary::open(MANTISSA_FAKE_NCCL, &why);
  ASSERT_NE(lib, nullptr) << why;
  EXPECT_EQ(lib->version(), 21803);
  EXPECT_EQ(lib->version_text(), "2.18.3");
  dist::NcclUniqueId id{};
  lib->check(lib->get_unique_id(&id), "ncclGetUniqueId");
  EXPECT_EQ(id.internal[0], 'M');
  EXPECT_EQ(id.internal[127], 'M');
  dist::NcclComm comm = nullptr;
  lib->check(lib->comm_init_rank(&comm, 1, id, 0), "ncclCommInitRank");
  std::vector<float> v{1.0f, -2.5f};
  lib->check(lib->all_reduce(v.data(), v.data(), v.size(), dist::kNcclFloat32, dist::kNcclSum,
                             comm, nullptr),
             "ncclAllReduce");
  EXPECT_EQ(v, (std::vector<float>{1.0f, -2.5f}));
  lib->check(lib->comm_destroy(comm), "ncclCommDestroy");
  try {
    lib->check(lib->comm_init_rank(&comm, 1, id, 3), "ncclCommInitRank");
    FAIL() << "a rank outside the group was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "NCCL: ncclCommInitRank failed: fake error 4 (code 4)");
  }
}

TEST(Nccl, AVersionBefore2_9IsRefusedWithBothVersions) {
  ::setenv("FAKE_NCCL_VERSION", "2804", 1);
  std::string why;
  const auto lib = dist::NcclLibrary::open(MANTISSA_FAKE_NCCL, &why);
  ::unsetenv("FAKE_NCCL_VERSION");
  EXPECT_EQ(lib, nullptr);
  EXPECT_NE(why.find("is version 2.8.4: Mantissa needs 2.9 or later"), std::string::npos) << why;
}

// What the stand-in was asked to do (its fake_nccl_counts()), read through
// the copy the loader opened.
struct FakeCounts {
  int blocking = -1, non_blocking = -1, aborts = -1, finalizes = -1, destroys = -1;
  FakeCounts operator-(const FakeCounts& o) const {
    return {blocking - o.blocking, non_blocking - o.non_blocking, aborts - o.aborts,
            finalizes - o.finalizes, destroys - o.destroys};
  }
};
FakeCounts fake_counts() {
  FakeCounts c;
  void* handle = dlopen(MANTISSA_FAKE_NCCL, RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) {
    ADD_FAILURE() << "the stand-in is not loaded";
    return c;
  }
  using Fn = void (*)(int*, int*, int*, int*, int*);
  if (auto fn = reinterpret_cast<Fn>(dlsym(handle, "fake_nccl_counts")))
    fn(&c.blocking, &c.non_blocking, &c.aborts, &c.finalizes, &c.destroys);
  else
    ADD_FAILURE() << "the stand-in has no fake_nccl_counts";
  dlclose(handle);
  return c;
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char* name_;
};

// The stand-in, opened, and a unique id from it; `lib` is null (with the
// failure recorded) when it does not load.
struct StandIn {
  std::unique_ptr<dist::NcclLibrary> lib;
  dist::NcclUniqueId id{};
  StandIn() {
    std::string why;
    lib = dist::NcclLibrary::open(MANTISSA_FAKE_NCCL, &why);
    if (lib == nullptr) {
      ADD_FAILURE() << why;
      return;
    }
    lib->check(lib->get_unique_id(&id), "ncclGetUniqueId");
  }
  // A communicator of one rank, started.
  dist::NcclComm start_one_rank() const {
    return lib->start_comm(1, id, 0, 10s, "rank 0 of 1: the NCCL start-up");
  }
};

TEST(Nccl, TheStartUpIsNonBlockingAndWaitsUntilNcclHasSettled) {
  ScopedEnv polls("FAKE_NCCL_POLLS", "3");
  StandIn s;
  const auto& lib = s.lib;
  ASSERT_NE(lib, nullptr);
  ASSERT_TRUE(lib->non_blocking());
  const FakeCounts before = fake_counts();
  dist::NcclComm comm = s.start_one_rank();
  EXPECT_TRUE(lib->settled(comm));
  // A sum NCCL answers "in progress" is waited out before anything else.
  std::vector<float> v{1.0f, -2.5f};
  int aborted = 0;
  lib->enqueue_sum(v.data(), v.size(), comm, nullptr, 10s, "the sum", [&] { ++aborted; });
  EXPECT_TRUE(lib->settled(comm));
  EXPECT_EQ(v, (std::vector<float>{1.0f, -2.5f}));
  const FakeCounts c = fake_counts() - before;
  EXPECT_EQ(c.non_blocking, 1);
  EXPECT_EQ(c.blocking, 0);
  EXPECT_EQ(c.aborts, 0);
  EXPECT_EQ(aborted, 0);
  lib->check(lib->comm_destroy(comm), "ncclCommDestroy");
}

TEST(Nccl, AStartUpTheOtherRanksNeverJoinIsAbortedNamingTheRank) {
  ScopedEnv polls("FAKE_NCCL_POLLS", "never");
  StandIn s;
  const auto& lib = s.lib;
  ASSERT_NE(lib, nullptr);
  const FakeCounts before = fake_counts();
  try {
    lib->start_comm(2, s.id, 1, 200ms, "rank 1 of 2: the NCCL start-up");
    FAIL() << "a start-up that never settles returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "rank 1 of 2: the NCCL start-up did not finish within 0.2 s (another rank "
                 "stalled or is gone); the communicator was aborted");
  }
  EXPECT_EQ((fake_counts() - before).aborts, 1);
}

TEST(Nccl, ASumThatStaysInProgressIsAborted) {
  StandIn s;
  const auto& lib = s.lib;
  ASSERT_NE(lib, nullptr);
  dist::NcclComm comm = s.start_one_rank();
  ScopedEnv polls("FAKE_NCCL_POLLS", "never");
  const FakeCounts before = fake_counts();
  std::vector<float> v{4.0f};
  int aborted = 0;
  try {
    lib->enqueue_sum(v.data(), v.size(), comm, nullptr, 200ms, "rank 0: the NCCL gradient sum",
                     [&] { ++aborted; });
    FAIL() << "a sum that never settles returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0: the NCCL gradient sum did not finish within 0.2 s"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(aborted, 1);
  EXPECT_EQ((fake_counts() - before).aborts, 1);
}

TEST(Nccl, BeforeVersion2_14TheStartUpBlocks) {
  ScopedEnv version("FAKE_NCCL_VERSION", "21304");
  StandIn s;
  const auto& lib = s.lib;
  ASSERT_NE(lib, nullptr);
  EXPECT_FALSE(lib->non_blocking());
  const FakeCounts before = fake_counts();
  dist::NcclComm comm = s.start_one_rank();
  const FakeCounts c = fake_counts() - before;
  EXPECT_EQ(c.blocking, 1);
  EXPECT_EQ(c.non_blocking, 0);
  lib->check(lib->comm_destroy(comm), "ncclCommDestroy");
}

// Closes one rank's communicator of the stand-in: what end_comm() said, and
// what the stand-in was asked meanwhile.
struct Closed {
  std::string said;
  FakeCounts asked;
};
Closed close_comm(const dist::NcclLibrary& lib, dist::NcclComm comm,
                  std::chrono::milliseconds timeout) {
  const FakeCounts before = fake_counts();
  Closed c;
  c.said = lib.end_comm(comm, timeout, "rank 0: closing NCCL");
  c.asked = fake_counts() - before;
  return c;
}

// Closing a communicator: finalized first (from 2.14), its in-progress flush
// waited out, then destroyed.
TEST(Nccl, ClosingFinalizesWaitsForTheFlushAndDestroys) {
  ScopedEnv polls("FAKE_NCCL_POLLS", "3");
  StandIn s;
  ASSERT_NE(s.lib, nullptr);
  const Closed c = close_comm(*s.lib, s.start_one_rank(), 10s);
  EXPECT_EQ(c.said, "");
  EXPECT_EQ(c.asked.finalizes, 1);
  EXPECT_EQ(c.asked.destroys, 1);
  EXPECT_EQ(c.asked.aborts, 0);
}

// A flush that never settles (a peer gone during the last sum) is aborted
// after the timeout and said, instead of hanging the exit.
TEST(Nccl, AFinalizeThatNeverSettlesIsAbortedAndSaidSo) {
  StandIn s;
  ASSERT_NE(s.lib, nullptr);
  const dist::NcclComm comm = s.start_one_rank();
  ScopedEnv polls("FAKE_NCCL_POLLS", "never");
  const Closed c = close_comm(*s.lib, comm, 200ms);
  EXPECT_EQ(c.said,
            "rank 0: closing NCCL did not finish within 0.2 s (another rank stalled or is gone); "
            "the communicator was aborted");
  EXPECT_EQ(c.asked.finalizes, 1);
  EXPECT_EQ(c.asked.aborts, 1);
  EXPECT_EQ(c.asked.destroys, 0);
}

// Before 2.14 there is no ncclCommFinalize: closing destroys.
TEST(Nccl, BeforeVersion2_14ClosingDestroys) {
  ScopedEnv version("FAKE_NCCL_VERSION", "21304");
  StandIn s;
  ASSERT_NE(s.lib, nullptr);
  const Closed c = close_comm(*s.lib, s.start_one_rank(), 10s);
  EXPECT_EQ(c.said, "");
  EXPECT_EQ(c.asked.finalizes, 0);
  EXPECT_EQ(c.asked.destroys, 1);
}

// The watchdog's three ends: done, NCCL's asynchronous error, the timeout.
struct FakeWait {
  int polls_until_done = 1 << 30;
  int error_after = 1 << 30;
  int polls = 0, aborts = 0;
  dist::DeviceWait wait() {
    return {.done = [this] { return ++polls >= polls_until_done; },
            .async_error = [this] { return polls >= error_after ? 6 : 0; },
            .abort = [this] { ++aborts; },
            .describe = [](int code) { return "remote error " + std::to_string(code); }};
  }
};

TEST(Nccl, TheWatchdogReturnsWhenTheSumIsDone) {
  FakeWait w;
  w.polls_until_done = 5;
  dist::wait_or_abort(w.wait(), 10s, "the sum");
  EXPECT_EQ(w.polls, 5);
  EXPECT_EQ(w.aborts, 0);
}

TEST(Nccl, TheWatchdogAbortsOnNcclsAsynchronousError) {
  FakeWait w;
  w.error_after = 3;
  try {
    dist::wait_or_abort(w.wait(), 10s, "rank 1: the NCCL gradient sum");
    FAIL() << "an asynchronous error was not reported";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "rank 1: the NCCL gradient sum failed: NCCL reported remote error 6 (another "
                 "rank is gone or failed); the communicator was aborted");
  }
  EXPECT_EQ(w.aborts, 1);
  EXPECT_EQ(w.polls, 3);
}

TEST(Nccl, TheWatchdogAbortsASumThatNeverFinishes) {
  FakeWait w;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dist::wait_or_abort(w.wait(), 200ms, "rank 0: the NCCL gradient sum");
    FAIL() << "a stalled sum was not aborted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "rank 0: the NCCL gradient sum did not finish within 0.2 s (another rank "
                 "stalled or is gone); the communicator was aborted");
  }
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 0.2);
  EXPECT_LT(waited, 5.0);
  EXPECT_EQ(w.aborts, 1);
}

TEST(Nccl, TheCpuSumsInHostMemoryAndSaysSo) {
  auto group = gloo_group_in_process(1, 5s);
  std::string why;
  auto cpu = create_backend("cpu");
  EXPECT_EQ(cpu->join_device_collective(*group[0], &why), nullptr);
  EXPECT_EQ(why, "cpu tensors are host memory: Gloo sums them in place");
}

// On a GPU with NCCL: one rank joins through Gloo and sums a device buffer
// in place (a sum over one rank leaves every bit as it was).
TEST(CudaNccl, OneRankSumsADeviceBufferInPlace) {
  REQUIRE_CUDA();
  std::string why;
  if (dist::NcclLibrary::process(&why) == nullptr) GTEST_SKIP() << "no NCCL: " << why;
  auto group = gloo_group_in_process(1, 30s);
  Backend& gpu = cuda_test::gpu();
  auto nccl = gpu.join_device_collective(*group[0], &why);
  ASSERT_NE(nccl, nullptr) << why;
  EXPECT_EQ(nccl->engine().rfind("nccl 2.", 0), 0u) << nccl->engine();
  const std::vector<float> host{1.0f, -0.0f, 3.5e-8f, 65504.0f, -1e30f};
  Tensor t = Tensor::empty(gpu, Shape{std::int64_t(host.size())}, DType::F32);
  gpu.upload(t.data(), host.data(), host.size() * 4);
  nccl->sum(t.data(), t.numel());
  std::vector<float> back(host.size());
  gpu.download(back.data(), t.data(), back.size() * 4);
  for (std::size_t i = 0; i < host.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint32_t>(back[i]), std::bit_cast<std::uint32_t>(host[i])) << i;
}

}  // namespace
}  // namespace mantissa
