// DataLoader: order, coverage, resume, shutdown and error propagation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>

#include "mantissa/data.hpp"
#include "test_data_util.hpp"

namespace mantissa {
namespace {

using test_data::expect_input_error;

// Sample i has features (i, i + 0.5, -i) and target i % 3, so every value in a
// batch tells which sample it came from.
Dataset numbered(std::int64_t n) {
  Dataset d;
  d.name = "numbered";
  d.sample_shape = {3};
  d.num_classes = 3;
  d.class_names = {"0", "1", "2"};
  for (std::int64_t i = 0; i < n; ++i) {
    d.features.insert(d.features.end(), {float(i), float(i) + 0.5f, -float(i)});
    d.targets.push_back(float(i % 3));
  }
  return d;
}

using Trace = std::vector<std::vector<std::int64_t>>;  // sample rows of each batch

Trace take(DataLoader& loader, int batches) {
  Trace t;
  for (int b = 0; b < batches; ++b) t.push_back(loader.next().samples);
  return t;
}

TEST(DataLoader, EverySampleOncePerEpochWithPartialLastBatch) {
  const Dataset data = numbered(10);
  DataLoader loader(data, 4, true, 42);
  ASSERT_EQ(loader.batches_per_epoch(), 3);
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> seen;
    for (std::int64_t b = 0; b < 3; ++b) {
      const Batch& batch = loader.next();
      EXPECT_EQ(batch.epoch, epoch);
      EXPECT_EQ(batch.index, b);
      EXPECT_EQ(batch.size, b < 2 ? 4 : 2);
      ASSERT_EQ(batch.x.size(), std::size_t(batch.size) * 3);
      ASSERT_EQ(batch.y.size(), std::size_t(batch.size));
      for (std::int64_t i = 0; i < batch.size; ++i) {
        const std::int64_t s = batch.samples[std::size_t(i)];
        EXPECT_EQ(batch.x[std::size_t(3 * i)], float(s));
        EXPECT_EQ(batch.x[std::size_t(3 * i + 1)], float(s) + 0.5f);
        EXPECT_EQ(batch.x[std::size_t(3 * i + 2)], -float(s));
        EXPECT_EQ(batch.y[std::size_t(i)], float(s % 3));
        seen.push_back(s);
      }
    }
    std::sort(seen.begin(), seen.end());
    std::vector<std::int64_t> all(10);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(seen, all) << "epoch " << epoch;
  }
}

TEST(DataLoader, OrderIsAFunctionOfSeedAndEpoch) {
  const Dataset data = numbered(100);
  DataLoader a(data, 16, true, 7), b(data, 16, true, 7), c(data, 16, true, 8);
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  EXPECT_EQ(a.epoch_order(3), b.epoch_order(3));
  EXPECT_NE(a.epoch_order(0), c.epoch_order(0));
  const Trace ta = take(a, 21), tb = take(b, 21), tc = take(c, 21);
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
  // The stream follows epoch_order().
  std::vector<std::int64_t> flat;
  for (int i = 7; i < 14; ++i)
    flat.insert(flat.end(), ta[std::size_t(i)].begin(), ta[std::size_t(i)].end());
  EXPECT_EQ(flat, a.epoch_order(1));

  DataLoader plain(data, 30, false, 7);
  const Trace tp = take(plain, 5);
  EXPECT_EQ(tp[0].front(), 0);
  EXPECT_EQ(tp[3].size(), 10u);
  EXPECT_EQ(tp[3].back(), 99);
  EXPECT_EQ(tp[4].front(), 0);
}

TEST(DataLoader, DropLast) {
  const Dataset data = numbered(10);
  DataLoader loader(data, 4, true, 1, /*drop_last=*/true);
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  for (int i = 0; i < 6; ++i) {
    const Batch& b = loader.next();
    EXPECT_EQ(b.size, 4);
    EXPECT_EQ(b.epoch, i / 2);
    EXPECT_EQ(b.index, i % 2);
  }
  expect_input_error([&] { DataLoader too_big(data, 11, true, 1, true); },
                     {"batch_size", "11", "numbered", "10 samples"});
  expect_input_error([&] { DataLoader zero(data, 0, true, 1); }, {"training.batch_size"});
  DataLoader kept(data, 11, true, 1, false);
  EXPECT_EQ(kept.next().size, 10);
}

TEST(DataLoader, SeekReproducesUninterruptedRun) {
  const Dataset data = numbered(37);
  DataLoader reference(data, 5, true, 99);  // 8 batches per epoch
  const Trace whole = take(reference, 30);

  DataLoader resumed(data, 5, true, 99);
  resumed.seek(1, 3);
  const Trace tail = take(resumed, 19);
  EXPECT_EQ(tail, Trace(whole.begin() + 11, whole.end()));

  // Seeking in the middle of a stream drops what was prefetched.
  DataLoader jumpy(data, 5, true, 99);
  take(jumpy, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let the queue fill
  jumpy.seek(0, 1);
  EXPECT_EQ(take(jumpy, 3), Trace(whole.begin() + 1, whole.begin() + 4));
  jumpy.seek(0, 17);  // carries over: epoch 2, batch 1
  const Batch& b = jumpy.next();
  EXPECT_EQ(b.epoch, 2);
  EXPECT_EQ(b.index, 1);
  EXPECT_EQ(b.samples, whole[17]);
  expect_input_error([&] { jumpy.seek(-1, 0); }, {"epoch -1"});
}

TEST(DataLoader, EarlyDestructionDoesNotHang) {
  const Dataset data = numbered(1000);
  for (int i = 0; i < 20; ++i) {
    DataLoader never_read(data, 8, true, 1);
  }
  for (int i = 0; i < 20; ++i) {
    DataLoader read_once(data, 8, true, 1);
    read_once.next();
  }
  std::atomic<int> produced = 0;
  LoaderOptions slow{.batch_size = 8, .seed = 1, .prefetch = 2, .transform = [&](Batch&) {
                       ++produced;
                       std::this_thread::sleep_for(std::chrono::milliseconds(2));
                     }};
  {
    DataLoader loader(data, slow);
    loader.next();
  }
  // The queue is bounded: with one batch read, at most prefetch + 1 were made.
  EXPECT_LE(produced.load(), 3);
}

TEST(DataLoader, ProducerErrorPropagatesAfterEarlierBatches) {
  const Dataset data = numbered(20);
  LoaderOptions options{.batch_size = 4, .seed = 3, .transform = [](Batch& b) {
                          if (b.epoch == 0 && b.index == 2)
                            throw InputError("augment failed at 0/2");
                          b.y[0] = -1.0f;  // a transform may rewrite the batch
                        }};
  DataLoader loader(data, options);
  EXPECT_EQ(loader.next().index, 0);
  EXPECT_EQ(loader.next().y[0], -1.0f);
  expect_input_error([&] { loader.next(); }, {"augment failed at 0/2"});
  expect_input_error([&] { loader.next(); }, {"augment failed at 0/2"});
  // A seek clears the failure and production goes on.
  loader.seek(0, 3);
  const Batch& b = loader.next();
  EXPECT_EQ(b.epoch, 0);
  EXPECT_EQ(b.index, 3);
}

TEST(DataLoader, BuffersAreReused) {
  const Dataset data = numbered(64);
  LoaderOptions options{.batch_size = 8, .seed = 5, .prefetch = 3};
  DataLoader loader(data, options);
  std::set<const float*> buffers;
  for (int i = 0; i < 40; ++i) buffers.insert(loader.next().x.data());
  EXPECT_LE(buffers.size(), 4u);
}

TEST(DataLoader, GatherBatchForEvaluation) {
  const Dataset data = numbered(6);
  Batch b;
  const std::vector<std::int64_t> rows = {5, 0, 3};
  gather_batch(data, rows, b);
  EXPECT_EQ(b.size, 3);
  EXPECT_EQ(b.x, (std::vector<float>{5, 5.5f, -5, 0, 0.5f, 0, 3, 3.5f, -3}));
  EXPECT_EQ(b.y, (std::vector<float>{2, 0, 0}));
  EXPECT_EQ(b.samples, rows);
}

}  // namespace
}  // namespace mantissa
