// Per-tensor numerics (numerics.hpp): the backend's statistics words and
// histograms against the one-value-at-a-time host reference, the slots a
// graph records in execution order, and what a training run reports and
// stores: the first non-finite tensor of a skipped step, sampled steps and
// the steps around an event.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <omp.h>
#include <random>
#include <nlohmann/json.hpp>
#include <string>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"
#include "mantissa/manifest.hpp"
#include "mantissa/numerics.hpp"
#include "mantissa/recorder.hpp"
#include "mantissa/store.hpp"
#include "mantissa/train_step.hpp"
#include "backends/cpu/cpu_numerics_kernels.hpp"
#include "backends/cpu/cpu_stats_pass.hpp"
#include "cuda_test_util.hpp"
#include "recording_backend.hpp"
#include "test_data_util.hpp"
#include "numerics_fixtures.hpp"
#include "train_fixtures.hpp"

namespace mantissa {
namespace {

namespace nb = numerics_bits;
using test_data::TempDir;
using test_data::write_text;
using testing::blowup_project;
using testing::RecordingSink;
using testing::set_fc1_weight;

// Values across every class the words count: fp32 and fp16 subnormals, the
// fp16 and bf16 flush ranges, normal values, fp16's saturation range, the
// exact thresholds and both infinities and NaN, in random order.
std::vector<float> edge_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> exponent(-149, 20);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  const float specials[] = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::bit_cast<float>(nb::kFlushF16Below),
                            std::bit_cast<float>(nb::kFlushF16Below - 1),
                            std::bit_cast<float>(nb::kNormalF16From),
                            std::bit_cast<float>(nb::kNormalF16From - 1),
                            std::bit_cast<float>(nb::kSaturateF16From),
                            -std::bit_cast<float>(nb::kSaturateF16From - 1),
                            std::bit_cast<float>(nb::kFlushBF16Below),
                            std::bit_cast<float>(nb::kFlushBF16Below - 1),
                            std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::max()};
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int pick = int(rng() % 8);
    if (pick == 0) {
      v[i] = specials[rng() % std::size(specials)];
    } else {
      const float m = mantissa(rng) * ((rng() & 1) ? -1.0f : 1.0f);
      v[i] = std::ldexp(m, exponent(rng));
    }
  }
  return v;
}

struct StatsRun {
  NumericsWords words{};
  Histogram histogram{};
  std::vector<float> stored;  // the values as the tensor holds them, widened
};

StatsRun stats_of(Backend& be, const std::vector<float>& values, DType dtype, bool histogram) {
  Tensor x = Tensor::from_host(be, Shape{std::int64_t(values.size())}, dtype, values.data());
  Tensor stats = Tensor::zeros(be, Shape{nb::kWords}, DType::F32);
  Tensor hist = Tensor::zeros(be, Shape{nb::kBins}, DType::F32);
  const float on = std::bit_cast<float>(histogram ? 1u : 0u);
  Tensor enable = Tensor::from_host(be, Shape{1}, DType::F32, &on);
  be.tensor_stats(x, stats, &hist, &enable);
  StatsRun r;
  const std::vector<std::uint8_t> w = stats.to_host_bytes();
  const std::vector<std::uint8_t> h = hist.to_host_bytes();
  std::memcpy(r.words.data(), w.data(), w.size());
  std::memcpy(r.histogram.data(), h.data(), h.size());
  r.stored = x.to_host();
  return r;
}

// Every word and every bin equals the host reference, for each storage
// dtype, for sizes below one thread's share, across several chunks, and
// with a ragged end: with inf and NaN among the values, with values at and
// past fp16's saturation but all finite, and with neither (the CPU counts
// chunks without inf or NaN from its quick pass, and a chunk whose maximum
// reaches fp16's saturation with one more count).
TEST(Numerics, BackendWordsAndHistogramsMatchTheReference) {
  auto be = create_backend("cpu");
  enum class Values { NonFinite, SaturatingFinite, Neither };
  const char* names[] = {"with inf and NaN", "saturating, finite", "nothing saturating"};
  for (const Values kind : {Values::NonFinite, Values::SaturatingFinite, Values::Neither})
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (std::size_t n : {std::size_t(1), std::size_t(37), std::size_t(4096),
                          std::size_t(100003), std::size_t(300000)}) {
      std::vector<float> v = edge_values(n, std::uint32_t(n));
      if (kind == Values::SaturatingFinite)
        for (float& x : v)
          if (!(std::abs(x) < 1e30f)) x = -1e6f;  // fp16 saturates; bf16 stays finite
      if (kind == Values::Neither)
        for (float& x : v)
          if (!(std::abs(x) < 60000.0f)) x = 0.75f;  // below 65,520 in bf16 too
      const StatsRun r = stats_of(*be, v, dtype, true);
      const NumericsWords want = reference_stats(r.stored);
      for (int k = 0; k < nb::kWords; ++k)
        EXPECT_EQ(r.words[std::size_t(k)], want[std::size_t(k)])
            << "word " << k << ", " << dtype_name(dtype) << ", n = " << n << ", "
            << names[int(kind)];
      EXPECT_EQ(r.histogram, reference_histogram(r.stored)) << dtype_name(dtype) << ", n = " << n;
      EXPECT_EQ(r.words[nb::kCount], n);
    }
  }
}

// Every backend gives the same words and bins (they are exact integers), with
// the histogram flag read on the device; a step captured once and replayed
// follows the flag of each replay.
// The CPU's quick pass, in each of its instruction-set paths, against a plain
// loop: every length up to a few vector widths and a full chunk, at
// unaligned starts, fp32 and bf16 bit patterns.
TEST(Numerics, CpuGlancePathsAgreeWithAPlainLoop) {
  const auto plain = [](const auto* x, std::int64_t n, int shift) {
    cpu::Glance g;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto a = std::int32_t((std::uint32_t(x[i]) << shift) & 0x7FFFFFFFu);
      g.max_bits = std::max(g.max_bits, a);
      g.zeros += a == 0;
      g.below_bf16 += a < std::int32_t(nb::kFlushBF16Below);
      g.below_f16 += a < std::int32_t(nb::kFlushF16Below);
      g.below_f16_normal += a < std::int32_t(nb::kNormalF16From);
    }
    return g;
  };
  std::vector<float> values = edge_values(std::size_t(1) << 16, 41);
  for (std::size_t i = 0; i < values.size(); i += 3)  // ReLU-like runs of zeros
    if (!std::isnan(values[i]) && std::fabs(values[i]) >= 65520.0f) values[i] = 1.0f;
  std::vector<std::uint32_t> bits32(values.size());
  std::vector<std::uint16_t> bits16(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    bits32[i] = std::bit_cast<std::uint32_t>(values[i]);
    bits16[i] = std::uint16_t(bits32[i] >> 16);
  }
  std::vector<cpu::GlanceIsa> paths{cpu::GlanceIsa::Portable};
  if (cpu::has_avx2()) paths.push_back(cpu::GlanceIsa::Avx2);
  else std::cout << "[ note ] this CPU has no AVX2: its path does not run\n";
  if (cpu::has_wide_glance()) paths.push_back(cpu::GlanceIsa::Wide);
  else std::cout << "[ note ] this CPU has no AVX-512BW: its path does not run\n";
  std::vector<std::int64_t> lengths{32768, 32767, 1000};
  for (std::int64_t n = 0; n <= 100; ++n) lengths.push_back(n);
  for (const cpu::GlanceIsa isa : paths)
    for (const std::int64_t start : {0, 1, 7, 31})
      for (const std::int64_t n : lengths) {
        SCOPED_TRACE("path " + std::to_string(int(isa)) + ", start " + std::to_string(start) +
                     ", length " + std::to_string(n));
        EXPECT_EQ(cpu::glance_bits32(bits32.data() + start, n, isa),
                  plain(bits32.data() + start, n, 0));
        EXPECT_EQ(cpu::glance_bits16(bits16.data() + start, n, isa),
                  plain(bits16.data() + start, n, 16));
      }
  // A full chunk of one kind of value: every lane's count at its largest.
  for (const float v : {0.0f, -0.0f, 1e-6f, 1e-40f}) {
    const std::vector<std::uint32_t> same(std::size_t(cpu::kStatsChunk), std::bit_cast<std::uint32_t>(v));
    for (const cpu::GlanceIsa isa : paths)
      EXPECT_EQ(cpu::glance_bits32(same.data(), cpu::kStatsChunk, isa),
                plain(same.data(), cpu::kStatsChunk, 0))
          << v << " on path " << int(isa);
  }
}

// The cut of a tensor for statistics: equal chunks, a multiple of the
// threads where the values allow, covering every value once.
TEST(Numerics, StatsChunksCoverTheTensorInBalancedChunks) {
  const std::int64_t threads = omp_get_max_threads();
  for (const std::int64_t total : {std::int64_t(1), std::int64_t(1000), cpu::kParallelMin,
                                   std::int64_t(200704), std::int64_t(401408),
                                   std::int64_t(1605632), cpu::kStatsChunk * 7 + 3}) {
    SCOPED_TRACE("total " + std::to_string(total));
    const cpu::StatsChunks c = cpu::stats_chunks(total);
    ASSERT_GT(c.count, 0);
    EXPECT_LE(c.size, cpu::kStatsChunk);
    EXPECT_EQ(c.size % 64, total < 64 ? c.size % 64 : 0);
    std::int64_t next = 0;
    for (std::int64_t k = 0; k < c.count; ++k) {
      EXPECT_EQ(c.begin(k), next);
      ASSERT_GT(c.length(k, total), 0);
      next += c.length(k, total);
    }
    EXPECT_EQ(next, total);
    if (total >= cpu::kParallelMin && total >= 64 * threads * 4) {
      EXPECT_EQ(c.count % threads, 0) << c.count << " chunks of " << c.size;
    }
  }
}

TEST(Numerics, CudaWordsAndHistogramsEqualTheCpus) {
  REQUIRE_CUDA();
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (std::size_t n : {std::size_t(1), std::size_t(4099), std::size_t(1000003)}) {
      const std::vector<float> v = edge_values(n, std::uint32_t(n) + 1);
      const StatsRun c = stats_of(cuda_test::cpu(), v, dtype, true);
      const StatsRun g = stats_of(cuda_test::gpu(), v, dtype, true);
      EXPECT_EQ(g.words, c.words) << dtype_name(dtype) << ", n = " << n;
      EXPECT_EQ(g.histogram, c.histogram) << dtype_name(dtype) << ", n = " << n;
      const StatsRun off = stats_of(cuda_test::gpu(), v, dtype, false);
      EXPECT_EQ(off.histogram, Histogram{}) << "histogram written with the flag off";
    }
  }
}

// The reference itself, on values whose classes are known by hand.
TEST(Numerics, ReferenceCountsEachClass) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> v = {0.0f,   -0.0f,  1e-30f, -1e-8f, 3e-7f,  1e-5f, 1.0f,
                                -70000, 65504,  65520,  inf,    -inf,   std::nanf(""),
                                1e-41f};
  const TensorStats s = decode_stats(reference_stats(v));
  EXPECT_EQ(s.zeros, 2u);
  EXPECT_EQ(s.pos_inf, 1u);
  EXPECT_EQ(s.neg_inf, 1u);
  EXPECT_EQ(s.nan, 1u);
  EXPECT_EQ(s.flush_f16, 3u);      // 1e-30, 1e-8, 1e-41 are below 2^-25
  EXPECT_EQ(s.flush_bf16, 1u);     // only 1e-41 is below 2^-134
  EXPECT_EQ(s.subnormal_f16, 2u);  // 3e-7 and 1e-5 are fp16 subnormals
  EXPECT_EQ(s.saturate_f16, 2u);   // -70000 and 65520 round to inf in fp16; 65504 does not
  EXPECT_EQ(s.amax, 70000.0f);
  EXPECT_EQ(s.count, v.size());
  const Histogram h = reference_histogram(v);
  EXPECT_EQ(h[nb::kBinZero], 2u);
  EXPECT_EQ(h[nb::kBinSubnormal], 1u);
  EXPECT_EQ(h[nb::kBinNonFinite], 3u);
  EXPECT_EQ(h[nb::kFirstBinade], 1u);  // 1e-30 folds into 2^-40's bin
  EXPECT_EQ(h[std::size_t(nb::bin_of(std::bit_cast<std::uint32_t>(1.0f)))], 1u);
}

// Multiplying by 2^k moves every binade's count k bins (what loss scaling
// does to a gradient's histogram), away from the folded end bins.
TEST(Numerics, ScalingByAPowerOfTwoShiftsTheHistogram) {
  auto be = create_backend("cpu");
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> exponent(-30, 5);
  std::vector<float> v(20000), scaled(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    v[i] = std::ldexp(1.5f, exponent(rng));
    scaled[i] = v[i] * 256.0f;
  }
  const Histogram a = stats_of(*be, v, DType::F32, true).histogram;
  const Histogram b = stats_of(*be, scaled, DType::F32, true).histogram;
  for (int bin = nb::kFirstBinade; bin + 8 < nb::kBinNonFinite; ++bin)
    EXPECT_EQ(a[std::size_t(bin)], b[std::size_t(bin + 8)]) << "bin " << bin;
}

// Without the enable word the histogram is left as it was.
TEST(Numerics, HistogramOnlyWhenEnabled) {
  auto be = create_backend("cpu");
  const StatsRun r = stats_of(*be, edge_values(1000, 1), DType::F32, false);
  EXPECT_EQ(r.histogram, Histogram{});
  EXPECT_EQ(r.words[nb::kCount], 1000u);
}

// Takes every slot's statistics on its own, with tensor_stats, as each
// tensor is produced: the reference for the words the step's ops take
// inside their own passes.
class SeparateStats : public TensorObserver {
 public:
  explicit SeparateStats(Backend& be) : be_(be) {}
  std::map<int, NumericsWords> words;
  std::map<int, Histogram> histograms;
  void observe(const TensorEvent& e, const Tensor& t) override {
    if (e.slot < 0) return;
    Tensor stats = Tensor::zeros(be_, Shape{nb::kWords}, DType::F32);
    Tensor hist = Tensor::zeros(be_, Shape{nb::kBins}, DType::F32);
    const float on = std::bit_cast<float>(1u);
    Tensor enable = Tensor::from_host(be_, Shape{1}, DType::F32, &on);
    be_.tensor_stats(t, stats, &hist, &enable);
    const std::vector<std::uint8_t> w = stats.to_host_bytes(), h = hist.to_host_bytes();
    std::memcpy(words[e.slot].data(), w.data(), w.size());
    std::memcpy(histograms[e.slot].data(), h.data(), h.size());
  }

 private:
  Backend& be_;
};

// Ops count the tensors they read and write in their own pass (activations
// take their producer's output and their reader's gradient, casts their
// 16-bit copy, the unscale pass the weight gradients, a pass-through layer
// copies its input's words). Every slot's words, and on a histogram step
// every histogram, equal tensor_stats on the tensor as it was produced, under
// each policy: chains of activations, a Linear with its ReLU applied inside,
// tensors of several chunks.
TEST(Numerics, WordsTakenInsideOpsEqualSeparateStats) {
  const std::string model = R"({"nodes": [
      {"id": "input", "type": "Input", "params": {"shape": [2, 24, 24]}},
      {"id": "conv", "type": "Conv2d", "inputs": ["input"],
       "params": {"out_channels": 8, "kernel": 3, "padding": 1}},
      {"id": "relu", "type": "ReLU", "inputs": ["conv"]},
      {"id": "tanh", "type": "Tanh", "inputs": ["relu"]},
      {"id": "pool", "type": "MaxPool2d", "inputs": ["tanh"], "params": {"kernel": 2}},
      {"id": "leaky", "type": "LeakyReLU", "inputs": ["pool"]},
      {"id": "flatten", "type": "Flatten", "inputs": ["leaky"]},
      {"id": "fc1", "type": "Linear", "inputs": ["flatten"], "params": {"out_features": 64}},
      {"id": "act", "type": "ReLU", "inputs": ["fc1"]},
      {"id": "fc2", "type": "Linear", "inputs": ["act"], "params": {"out_features": 5}},
      {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc2"]}]})";
  for (const char* policy : {"float32", "mixed_bfloat16", "mixed_float16"}) {
    SCOPED_TRACE(policy);
    const Project p = parse_project(
        std::string(R"({"format": "mantissa-project", "version": 1, "name": "fused",
          "dataset": {"kind": "csv", "path": "unused.csv"}, "model": )") + model +
            R"(, "training": {"policy": ")" + policy + R"(", "batch_size": 16,
              "loss_scale": {"mode": "dynamic", "init_scale": 256},
              "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0.9}}})",
        "fused.json");
    auto be = create_backend("cpu");
    Graph graph(p.model, *be, p.training.policy, 3);
    ASSERT_FALSE(graph.fused_relus().empty());  // fc1 applies act
    TrainingStep step(graph, *be, p.training, 10);
    SeparateStats reference(*be);
    graph.set_observer(&reference);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    for (int k = 0; k < 3; ++k) {
      SCOPED_TRACE("step " + std::to_string(k + 1));
      std::vector<float> x(16 * 2 * 24 * 24), y(16);
      for (float& v : x) v = normal(rng);
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = float((i + std::size_t(k)) % 5);
      step.set_histograms(k == 1);
      reference.words.clear();
      step.run(x, y, 16, 0);
      const StepNumerics& n = step.numerics();
      const auto& slots = graph.numerics_slots();
      ASSERT_EQ(n.stats.size(), slots.size() * nb::kWords);
      ASSERT_EQ(reference.words.size(), slots.size());
      for (std::size_t i = 0; i < slots.size(); ++i) {
        NumericsWords got{};
        std::copy_n(n.stats.begin() + std::ptrdiff_t(i * nb::kWords), nb::kWords, got.begin());
        EXPECT_EQ(got, reference.words.at(int(i))) << slots[i].label();
        if (k == 1) {
          ASSERT_EQ(n.histograms.size(), slots.size() * nb::kBins);
          Histogram h{};
          std::copy_n(n.histograms.begin() + std::ptrdiff_t(i * nb::kBins), nb::kBins, h.begin());
          EXPECT_EQ(h, reference.histograms.at(int(i))) << slots[i].label();
        }
      }
    }
    graph.set_observer(nullptr);
  }
}

// The heatmaps' metrics from one tensor's statistics.
TEST(Numerics, MetricsOfOneTensor) {
  TensorStats s;
  s.count = 200;
  s.flush_f16 = 50;
  s.subnormal_f16 = 10;
  s.saturate_f16 = 2;
  s.nan = 1;
  s.pos_inf = 3;
  s.amax = 1024.0f;
  EXPECT_DOUBLE_EQ(*metric_value(s, NumericsMetric::FlushF16), 25.0);
  EXPECT_DOUBLE_EQ(*metric_value(s, NumericsMetric::SubnormalF16), 5.0);
  EXPECT_DOUBLE_EQ(*metric_value(s, NumericsMetric::SaturateF16), 1.0);
  EXPECT_DOUBLE_EQ(*metric_value(s, NumericsMetric::NonFinite), 2.0);
  EXPECT_DOUBLE_EQ(*metric_value(s, NumericsMetric::Headroom), std::log2(65504.0 / 1024.0));
  s.amax = 131072.0f;  // past fp16's range: negative headroom
  EXPECT_LT(*metric_value(s, NumericsMetric::Headroom), -1.0);
  s.amax = 0.0f;
  EXPECT_FALSE(metric_value(s, NumericsMetric::Headroom).has_value());
  EXPECT_FALSE(metric_value(TensorStats{}, NumericsMetric::FlushF16).has_value());
  for (NumericsMetric m : kNumericsMetrics) EXPECT_EQ(parse_metric_key(metric_key(m)), m);
  EXPECT_FALSE(parse_metric_key("flushes").has_value());
}

// The slots follow execution order: 16-bit weights, forward outputs with
// the loss last, the loss's gradient, input gradients in reverse layer
// order, weight gradients.
TEST(Numerics, SlotsFollowExecutionOrder) {
  TempDir dir;
  auto be = create_backend("cpu");
  Trainer t(blowup_project(dir.path(), 1.0f, 1), *be);
  std::vector<std::string> labels;
  for (const NumericsSlot& s : t.graph().numerics_slots())
    labels.push_back(std::string(role_key(s.role)) + ":" + s.label());
  const std::vector<std::string> want = {
      "weight16:fc1.weight (16-bit copy)",  "weight16:fc2.weight (16-bit copy)",
      "activation:fc1 output",              "activation:act output",
      "activation:fc2 output",              "activation:loss output",
      "activation_grad:loss gradient of input 0", "activation_grad:fc2 gradient of input 0",
      "activation_grad:act gradient of input 0",  "weight_grad:fc1.weight gradient",
      "weight_grad:fc1.bias gradient",      "weight_grad:fc2.weight gradient",
      "weight_grad:fc2.bias gradient"};
  EXPECT_EQ(labels, want);
}

// fc1's forward output overflows fp16 (1000 x 100 = 100,000): the step is
// skipped and the event names fc1's output, an activation, as the first
// non-finite tensor, not a parameter gradient. The event step and the step
// before it are stored with all their slots.
TEST(Numerics, SkippedStepNamesTheFirstNonFiniteTensorInExecutionOrder) {
  TempDir dir;
  auto be = create_backend("cpu");
  Trainer t(blowup_project(dir.path(), 100.0f, 4), *be);
  set_fc1_weight(t, *be, 1000.0f);
  RecordingSink sink;
  TrainControl c;
  const RunSummary s = t.run(sink, c);
  ASSERT_EQ(s.outcome, RunOutcome::Finished) << s.error;
  ASSERT_FALSE(sink.events.empty());
  const RunEvent& e = sink.events.front();
  EXPECT_EQ(e.kind, EventKind::Overflow);
  EXPECT_EQ(e.tensor, "fc1 output (activation)") << e.message;
  ASSERT_FALSE(sink.numerics.empty());
  const NumericsSample& first = sink.numerics.front();
  EXPECT_EQ(first.reason, "event");
  EXPECT_EQ(first.step, 1);
  ASSERT_EQ(first.stats.size(), sink.numerics_slots.size());
  // fc1's output: 4 values of +inf (fp16 saturation); the 16-bit weights are fine.
  EXPECT_EQ(first.stats[2].pos_inf, 4u * 4u);
  EXPECT_EQ(first.stats[0].nonfinite(), 0u);
  EXPECT_EQ(first.stats[0].amax, 1000.0f);
}

// A run that overflows at every step keeps a bounded record: at most
// kMaxEventSamples steps stored for events, then only the sampled ones, and
// at most kMaxTracedEvents events traced; every event is still reported.
TEST(Numerics, ARunThatKeepsOverflowingStoresABoundedRecord) {
  TempDir dir;
  auto be = create_backend("cpu");
  const std::int64_t steps = kMaxEventSamples + 60;
  Trainer t(blowup_project(dir.path(), 100.0f, steps), *be);
  set_fc1_weight(t, *be, 1000.0f);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  EXPECT_GE(std::int64_t(sink.events.size()), steps);  // every step skipped, every one reported
  EXPECT_EQ(std::int64_t(sink.provenance.size()), kMaxTracedEvents);
  std::int64_t unsampled = 0;
  for (const NumericsSample& n : sink.numerics)
    if (n.step % 3 != 0) ++unsampled;  // the project samples every 3rd step
  EXPECT_LE(unsampled, kMaxEventSamples);
  EXPECT_LE(std::int64_t(sink.numerics.size()), kMaxEventSamples + steps / 3);
  EXPECT_LT(std::int64_t(sink.numerics.size()), steps);
  // Past the budget, only sampled steps.
  for (const NumericsSample& n : sink.numerics) {
    if (n.step > kMaxEventSamples + 3) {
      EXPECT_EQ(n.step % 3, 0) << n.step;
    }
  }
}

// A clean run stores every sample_every-th step with histograms, and
// nothing else.
TEST(Numerics, CleanRunStoresSampledStepsWithHistograms) {
  TempDir dir;
  auto be = create_backend("cpu");
  Trainer t(blowup_project(dir.path(), 0.5f, 7), *be);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  std::vector<std::int64_t> steps;
  for (const NumericsSample& n : sink.numerics) {
    steps.push_back(n.step);
    EXPECT_EQ(n.reason, "sampled");
    ASSERT_EQ(n.histograms.size(), sink.numerics_slots.size()) << "step " << n.step;
    // Each tensor's histogram counts each of its values once.
    for (std::size_t i = 0; i < n.stats.size(); ++i) {
      std::uint64_t total = 0;
      for (std::uint32_t b : n.histograms[i]) total += b;
      EXPECT_EQ(total, n.stats[i].count) << sink.numerics_slots[i].label();
    }
  }
  EXPECT_EQ(steps, (std::vector<std::int64_t>{3, 6}));
}

// What the recorder stores reads back the same, and a resume drops the
// samples after its checkpoint.
TEST(Numerics, StoreKeepsSlotsAndSamples) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  NewRun nr;
  nr.name = "n";
  const std::int64_t id = store.create_run(nr);
  const std::vector<NumericsSlot> slots = {
      {"fc1", TensorRole::Activation, -1, "", DType::F16},
      {"fc1", TensorRole::WeightGrad, -1, "fc1.weight", DType::F32}};
  store.set_numerics_slots(id, slots);
  NumericsSample a{5, "sampled", 1024, {}, {}};
  a.stats.push_back(decode_stats(reference_stats(edge_values(500, 9))));
  a.stats.push_back(decode_stats(reference_stats(edge_values(50, 8))));
  a.histograms = {reference_histogram(edge_values(500, 9)), Histogram{}};
  NumericsSample b{9, "event", 512, a.stats, {}};
  store.append_numerics(id, a);
  store.append_numerics(id, b);
  const std::vector<NumericsSlot> back = store.numerics_slots(id);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].param, "fc1.weight");
  EXPECT_EQ(back[1].role, TensorRole::WeightGrad);
  EXPECT_EQ(back[0].dtype, DType::F16);
  const auto steps = store.numerics_steps(id);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(steps[0].histograms);
  EXPECT_FALSE(steps[1].histograms);
  const auto got = store.numerics_sample(id, 5);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->stats, a.stats);
  EXPECT_EQ(got->histograms, a.histograms);
  EXPECT_EQ(got->scale, 1024);
  EXPECT_FALSE(store.numerics_sample(id, 6).has_value());
  store.resume_run(id, 6);
  EXPECT_FALSE(store.numerics_sample(id, 9).has_value());
  EXPECT_TRUE(store.numerics_sample(id, 5).has_value());
}

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

}  // namespace
}  // namespace mantissa

namespace mantissa {
namespace {

// The manifest's dataset fingerprint follows the data: the same values in
// the same order give the same one; one changed value or order does not.
TEST(Manifest, DatasetFingerprintFollowsTheData) {
  Dataset a;
  a.features = {1.0f, 2.0f, 3.0f, 4.0f};
  a.targets = {0.0f, 1.0f};
  Dataset b = a;
  EXPECT_EQ(dataset_fingerprint(a), dataset_fingerprint(b));
  b.features[2] = std::nextafter(3.0f, 4.0f);
  EXPECT_NE(dataset_fingerprint(a), dataset_fingerprint(b));
  Dataset c = a;
  std::swap(c.targets[0], c.targets[1]);
  EXPECT_NE(dataset_fingerprint(a), dataset_fingerprint(c));
}

// A run's manifest says what decided its arithmetic (JSON, stored with it).
TEST(Manifest, RunRecordsItsManifest) {
  TempDir dir;
  auto be = create_backend("cpu");
  Trainer t(blowup_project(dir.path(), 0.5f, 2), *be);
  RecordingSink sink;
  TrainControl c;
  ASSERT_EQ(t.run(sink, c).outcome, RunOutcome::Finished);
  const auto m = nlohmann::json::parse(sink.manifest);
  EXPECT_EQ(m["backend"], "cpu");
  EXPECT_EQ(m["policy"], "mixed_float16");
  EXPECT_FALSE(m["onednn"]["effective_isa"].get<std::string>().empty());
  EXPECT_EQ(m["onednn"]["fpmath_mode"], "strict");
  EXPECT_FALSE(m["op_paths"].empty());
  EXPECT_TRUE(m["seeds"].contains("dropout"));
  EXPECT_EQ(m["dataset_fingerprint"].get<std::string>().size() > 0, true);
  EXPECT_EQ(m["data_parallel"], nlohmann::json({{"ranks", 1}}));
}

}  // namespace
}  // namespace mantissa
