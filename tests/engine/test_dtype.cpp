// PRECISION.md test 1: exact fp32 <-> fp16 / bf16 conversions.
//
// The rounding is checked against a reference that shares nothing with the
// library: it lists every positive finite value of the 16-bit format as a
// double, finds the two values around the input by binary search and picks the
// nearer one (ties to the even bit pattern), with the overflow rule written out
// as "at or past max + half an ulp becomes inf".
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/dtype_dispatch.hpp"
#include "mantissa/dtype.hpp"
#include "mantissa/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mantissa {
namespace {

constexpr std::uint16_t kF16Nan = 0x7E00;
constexpr std::uint16_t kBF16Nan = 0x7FC0;
constexpr std::size_t kRandomCount = 1'000'000;

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::uint32_t to_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A 16-bit binary format described by its field widths, decoded with ldexp.
struct Format {
  int mantissa_bits;
  int bias;
  std::uint16_t inf;
  std::uint16_t nan;
  std::vector<double> values;  // values[h] for every positive finite pattern h
  double overflow_at;          // max + half an ulp: here and beyond rounds to inf

  Format(int mbits, int exp_bias, std::uint16_t inf_bits, std::uint16_t nan_bits)
      : mantissa_bits(mbits), bias(exp_bias), inf(inf_bits), nan(nan_bits) {
    for (std::uint32_t h = 0; h < inf; ++h) values.push_back(decode(std::uint16_t(h)));
    const double max = values.back();
    overflow_at = max + (max - values[values.size() - 2]) / 2;
  }

  // The exact value of any non-NaN pattern, infinities included.
  double decode(std::uint16_t h) const {
    if ((h & 0x7FFF) == inf) {
      return (h & 0x8000) ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity();
    }
    const int e = (h & 0x7FFF) >> mantissa_bits;
    const int m = h & ((1 << mantissa_bits) - 1);
    const double mag = e == 0 ? std::ldexp(m, 1 - bias - mantissa_bits)
                              : std::ldexp(m + (1 << mantissa_bits), e - bias - mantissa_bits);
    return (h & 0x8000) ? -mag : mag;
  }

  std::uint16_t round(float x) const {
    if (std::isnan(x)) return nan;
    const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    const double a = std::fabs(double(x));
    if (a >= overflow_at) return sign | inf;
    // lo: the largest representable value <= a.
    const auto lo =
        std::size_t(std::upper_bound(values.begin(), values.end(), a) - values.begin()) - 1;
    if (values[lo] == a || lo + 1 == values.size()) return std::uint16_t(sign | lo);
    const double below = a - values[lo];
    const double above = values[lo + 1] - a;
    std::size_t pick = lo;
    if (above < below || (above == below && lo % 2 == 1)) pick = lo + 1;
    return std::uint16_t(sign | pick);
  }
};

const Format& f16_format() {
  static const Format f(10, 15, 0x7C00, kF16Nan);
  return f;
}
const Format& bf16_format() {
  static const Format f(7, 127, 0x7F80, kBF16Nan);
  return f;
}

bool is_f16_nan(std::uint16_t h) {
  return (h & 0x7FFF) > 0x7C00;
}
bool is_bf16_nan(std::uint16_t h) {
  return (h & 0x7FFF) > 0x7F80;
}

// Fixed-seed fp32 bit patterns: three fifths anything at all (NaNs, fp32
// subnormals, huge values), two fifths inside fp16's range 2^-26 .. 2^17 so that
// fp16's subnormal and normal rounding paths get most of their share.
const std::vector<std::uint32_t>& random_patterns() {
  static const std::vector<std::uint32_t> patterns = [] {
    std::mt19937 rng(0x6D616E74);
    std::vector<std::uint32_t> v(kRandomCount);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::uint32_t r = rng();
      if (i % 5 < 3) {
        v[i] = r;
      } else {
        const std::uint32_t biased_exp = 101 + rng() % 43;
        v[i] = (r & 0x807FFFFFu) | (biased_exp << 23);
      }
    }
    return v;
  }();
  return patterns;
}

std::string hex(std::uint32_t u) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", u);
  return buf;
}

// Counts disagreements with the reference and reports the first few.
void expect_matches_reference(const std::vector<std::uint32_t>& inputs) {
  int f16_bad = 0, bf16_bad = 0;
  for (const std::uint32_t u : inputs) {
    const float x = from_bits(u);
    const std::uint16_t want16 = f16_format().round(x);
    const std::uint16_t wantb = bf16_format().round(x);
    if (f32_to_f16(x) != want16 && ++f16_bad <= 5) {
      ADD_FAILURE() << "f32_to_f16(" << hex(u) << ") = " << hex(f32_to_f16(x)) << ", reference "
                    << hex(want16);
    }
    if (f32_to_bf16(x) != wantb && ++bf16_bad <= 5) {
      ADD_FAILURE() << "f32_to_bf16(" << hex(u) << ") = " << hex(f32_to_bf16(x)) << ", reference "
                    << hex(wantb);
    }
  }
  EXPECT_EQ(f16_bad, 0);
  EXPECT_EQ(bf16_bad, 0);
}

TEST(DType, ReferenceFormatsHaveThePrecisionTableLimits) {
  // Guards the reference itself against a wrong field layout.
  EXPECT_EQ(f16_format().values.back(), 65504.0);
  EXPECT_EQ(f16_format().overflow_at, 65520.0);
  EXPECT_EQ(f16_format().values[1], std::ldexp(1.0, -24));
  EXPECT_EQ(f16_format().values[0x400], std::ldexp(1.0, -14));
  EXPECT_EQ(bf16_format().values[1], std::ldexp(1.0, -133));
  EXPECT_EQ(bf16_format().values[0x80], std::ldexp(1.0, -126));
  EXPECT_EQ(bf16_format().values.back(), 255.0 * std::ldexp(1.0, 120));
}

TEST(DType, F16RoundTripsEveryBitPattern) {
  int bad = 0;
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = f16_to_f32(std::uint16_t(h));
    const std::uint16_t back = f32_to_f16(f);
    const bool ok = is_f16_nan(std::uint16_t(h))
                        ? std::isnan(f) && back == kF16Nan
                        : back == h && double(f) == f16_format().decode(std::uint16_t(h)) &&
                              std::signbit(f) == bool(h & 0x8000);
    if (!ok && ++bad <= 5) ADD_FAILURE() << "fp16 " << hex(h) << " -> " << hex(back);
  }
  EXPECT_EQ(bad, 0);
}

TEST(DType, BF16RoundTripsEveryBitPattern) {
  int bad = 0;
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_f32(std::uint16_t(h));
    const std::uint16_t back = f32_to_bf16(f);
    const bool ok = is_bf16_nan(std::uint16_t(h))
                        ? std::isnan(f) && back == kBF16Nan
                        : back == h && double(f) == bf16_format().decode(std::uint16_t(h)) &&
                              std::signbit(f) == bool(h & 0x8000);
    if (!ok && ++bad <= 5) ADD_FAILURE() << "bf16 " << hex(h) << " -> " << hex(back);
  }
  EXPECT_EQ(bad, 0);
}

TEST(DType, RoundingMatchesReferenceAtBoundaryValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float min_sub16 = std::ldexp(1.0f, -24);
  const std::vector<float> magnitudes = {0.0f,
                                         inf,
                                         1.0f,
                                         1.0f + std::ldexp(1.0f, -11),
                                         1.0f + 3 * std::ldexp(1.0f, -11),
                                         65504.0f,
                                         65505.0f,
                                         65519.99f,
                                         std::nextafter(65520.0f, 0.0f),
                                         65520.0f,
                                         65536.0f,
                                         std::ldexp(1.0f, -14),
                                         std::nextafter(std::ldexp(1.0f, -14), 0.0f),
                                         1023 * min_sub16,
                                         1023.5f * min_sub16,
                                         min_sub16,
                                         1.5f * min_sub16,
                                         2.5f * min_sub16,
                                         std::ldexp(1.0f, -25),
                                         std::nextafter(std::ldexp(1.0f, -25), 1.0f),
                                         std::nextafter(std::ldexp(1.0f, -25), 0.0f),
                                         std::numeric_limits<float>::max(),
                                         std::numeric_limits<float>::min(),
                                         std::numeric_limits<float>::denorm_min(),
                                         std::ldexp(1.0f, -133),
                                         std::ldexp(1.0f, -134),
                                         std::nextafter(std::ldexp(1.0f, -134), 1.0f),
                                         1.5f * std::ldexp(1.0f, -133),
                                         from_bits(0x7F7F0000),
                                         from_bits(0x7F7F7FFF),
                                         from_bits(0x7F7F8000),
                                         from_bits(0x7F7FFFFF),
                                         from_bits(0x007FFFFF),
                                         from_bits(0x00008000),
                                         from_bits(0x00018000),
                                         from_bits(0x3F808000),
                                         from_bits(0x3F818000)};
  std::vector<std::uint32_t> inputs;
  for (const float m : magnitudes) {
    inputs.push_back(to_bits(m));
    inputs.push_back(to_bits(-m));
  }
  for (const std::uint32_t nan : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7FA12345u})
    inputs.push_back(nan);
  expect_matches_reference(inputs);

  // The values PRECISION.md names, spelled out.
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-65520.0f), 0xFC00);
  EXPECT_EQ(f32_to_f16(min_sub16), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even: zero
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(from_bits(0xFFC00001)), kF16Nan);
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7F8000)), 0x7F80);
  EXPECT_EQ(f32_to_bf16(std::ldexp(1.0f, -133)), 0x0001);
  EXPECT_EQ(f32_to_bf16(from_bits(0xFF812345)), kBF16Nan);
  EXPECT_EQ(f32_to_bf16(-inf), 0xFF80);
}

TEST(DType, RoundingMatchesReferenceOnRandomPatterns) {
  expect_matches_reference(random_patterns());
}

// Every rounding decision of both formats: each midpoint between neighbouring
// 16-bit values and the fp32 values right around it, plus every fp32 near the
// ends of fp16's subnormal, normal and finite ranges.
TEST(DType, RoundingMatchesReferenceInDenseSweeps) {
  std::vector<std::uint32_t> inputs;
  for (const Format* f : {&f16_format(), &bf16_format()}) {
    const auto& v = f->values;
    for (std::size_t h = 0; h < v.size(); ++h) {
      const double next = h + 1 < v.size() ? v[h + 1] : f->overflow_at * 2 - v[h];
      const std::uint32_t mid = to_bits(float((v[h] + next) / 2));
      for (std::uint32_t d = 0; d <= 4; ++d) inputs.push_back(mid + d - 2);
    }
  }
  for (const float edge :
       {std::ldexp(1.0f, -25), std::ldexp(1.0f, -24), std::ldexp(1.0f, -14), 65504.0f, 65520.0f}) {
    const std::uint32_t c = to_bits(edge);
    for (std::uint32_t d = c - 20000; d <= c + 20000; ++d) inputs.push_back(d);
  }
  const std::size_t n = inputs.size();
  for (std::size_t i = 0; i < n; ++i) inputs.push_back(inputs[i] | 0x80000000u);
  expect_matches_reference(inputs);
}

// ---- bulk convert ----

constexpr DType kAllTypes[] = {DType::F32, DType::F16, DType::BF16};

// One element through the scalar functions: the definition convert() must meet.
std::uint32_t scalar_convert(DType from, DType to, std::uint32_t bits) {
  float f = from == DType::F32   ? from_bits(bits)
            : from == DType::F16 ? f16_to_f32(std::uint16_t(bits))
                                 : bf16_to_f32(std::uint16_t(bits));
  if (from == to) return bits;
  switch (to) {
    case DType::F32:
      return to_bits(f);
    case DType::F16:
      return f32_to_f16(f);
    case DType::BF16:
      return f32_to_bf16(f);
  }
  return 0;
}

std::uint32_t element(const std::vector<std::uint8_t>& buf, DType t, std::size_t i) {
  if (t == DType::F32) {
    std::uint32_t u;
    std::memcpy(&u, buf.data() + 4 * i, 4);
    return u;
  }
  std::uint16_t h;
  std::memcpy(&h, buf.data() + 2 * i, 2);
  return h;
}

// Source bytes of n elements: the random fp32 patterns, or for 16-bit sources
// every pattern (signalling NaNs and subnormals included) in scrambled order.
std::vector<std::uint8_t> source_buffer(DType t, std::size_t n) {
  std::vector<std::uint8_t> buf(n * dtype_size(t));
  if (t == DType::F32) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t u = random_patterns()[i % kRandomCount];
      std::memcpy(buf.data() + 4 * i, &u, 4);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const auto h = std::uint16_t((i * 40503u) & 0xFFFFu);
      std::memcpy(buf.data() + 2 * i, &h, 2);
    }
  }
  return buf;
}

struct Span {
  std::size_t offset;  // elements, so that loads and stores are unaligned too
  std::size_t count;
};

TEST(DType, BulkConvertEqualsScalarInAllDirections) {
  // 1'000'000 and 65'549 take the threaded path (with a ragged last chunk);
  // the small ones are all tail.
  const Span spans[] = {{0, kRandomCount}, {5, 65'549}, {1, 33}, {3, 17}, {0, 7}, {2, 1}};
  const auto best = detail::best_convert_isa();
  for (const DType from : kAllTypes) {
    const std::vector<std::uint8_t> src = source_buffer(from, kRandomCount + 8);
    for (const DType to : kAllTypes) {
      std::vector<std::uint32_t> want(kRandomCount + 8);
      for (std::size_t i = 0; i < want.size(); ++i)
        want[i] = scalar_convert(from, to, element(src, from, i));
      for (int isa = 0; isa <= int(best); ++isa) {
        const auto path = detail::ConvertIsa(isa);
        for (const Span s : spans) {
          SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)) +
                       " on " + std::string(detail::convert_isa_name(path)) +
                       ", n = " + std::to_string(s.count));
          // Guard elements around the span must stay untouched.
          std::vector<std::uint8_t> dst((s.offset + s.count + 1) * dtype_size(to), 0xA5);
          detail::convert_with(path, src.data() + s.offset * dtype_size(from), from,
                               dst.data() + s.offset * dtype_size(to), to, s.count);
          std::size_t bad = 0;
          for (std::size_t i = 0; i < s.count; ++i) {
            const std::size_t j = s.offset + i;
            if (element(dst, to, j) != want[j] && ++bad <= 3) {
              ADD_FAILURE() << "element " << i << ": input " << hex(element(src, from, j))
                            << " gave " << hex(element(dst, to, j)) << ", scalar " << hex(want[j]);
            }
          }
          EXPECT_EQ(bad, 0u);
          for (std::size_t g = 0; g < s.offset * dtype_size(to); ++g) ASSERT_EQ(dst[g], 0xA5);
          for (std::size_t g = (s.offset + s.count) * dtype_size(to); g < dst.size(); ++g)
            ASSERT_EQ(dst[g], 0xA5);
        }
      }
    }
  }
}

TEST(DType, PublicConvertUsesAnExactPath) {
  const std::vector<std::uint8_t> src = source_buffer(DType::F32, 100'000);
  std::vector<std::uint16_t> out(100'000);
  convert(src.data(), DType::F32, out.data(), DType::BF16, out.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    ASSERT_EQ(out[i], f32_to_bf16(from_bits(element(src, DType::F32, i)))) << "element " << i;
  convert(nullptr, DType::F16, nullptr, DType::F32, 0);  // n == 0 touches nothing
  // Overlapping buffers are a caller bug, not a silently wrong result.
  std::vector<std::uint16_t> buf(64);
  EXPECT_THROW(convert(buf.data(), DType::F16, buf.data() + 8, DType::BF16, 16), InternalError);
  convert(buf.data(), DType::F16, buf.data(), DType::F16, 64);  // same buffer, same dtype: no-op
}

#if defined(__x86_64__) || defined(__i386__)
// Other libraries (oneDNN among them) may leave flush-to-zero and
// denormals-are-zero set on a thread; conversions must not change with them.
TEST(DType, BulkConvertIgnoresFlushToZeroMode) {
  constexpr std::size_t n = 30'000;  // below the threaded size: runs on this thread
  const std::vector<std::uint8_t> f32_src = source_buffer(DType::F32, n);
  std::vector<std::uint8_t> f16_src(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    // Mostly fp16 subnormals, whose conversion to fp32 involves fp32 arithmetic.
    const auto h = std::uint16_t(i % 3 ? (i & 0x83FF) : i * 7);
    std::memcpy(f16_src.data() + 2 * i, &h, 2);
  }
  std::vector<float> subnormals(n);
  for (std::size_t i = 0; i < n; ++i)
    subnormals[i] = from_bits(std::uint32_t(i * 271) | (i & 1) << 31);

  const unsigned saved = _mm_getcsr();
  for (int isa = 0; isa <= int(detail::best_convert_isa()); ++isa) {
    const auto path = detail::ConvertIsa(isa);
    SCOPED_TRACE(std::string(detail::convert_isa_name(path)));
    std::vector<float> up(n);
    std::vector<std::uint16_t> h16(n), hb(n), hsub(n);
    _mm_setcsr(saved | 0x8040u);  // FTZ | DAZ
    detail::convert_with(path, f16_src.data(), DType::F16, up.data(), DType::F32, n);
    detail::convert_with(path, f32_src.data(), DType::F32, h16.data(), DType::F16, n);
    detail::convert_with(path, f32_src.data(), DType::F32, hb.data(), DType::BF16, n);
    detail::convert_with(path, subnormals.data(), DType::F32, hsub.data(), DType::BF16, n);
    _mm_setcsr(saved);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, f16_src.data() + 2 * i, 2);
      const float x = from_bits(element(f32_src, DType::F32, i));
      ASSERT_EQ(to_bits(up[i]), to_bits(f16_to_f32(h))) << "fp16 " << hex(h);
      ASSERT_EQ(h16[i], f32_to_f16(x)) << "fp32 " << hex(to_bits(x));
      ASSERT_EQ(hb[i], f32_to_bf16(x)) << "fp32 " << hex(to_bits(x));
      ASSERT_EQ(hsub[i], f32_to_bf16(subnormals[i])) << "fp32 " << hex(to_bits(subnormals[i]));
    }
  }
}
#endif

// ---- names ----

TEST(DType, NamesAndSizes) {
  for (const DType t : kAllTypes) EXPECT_EQ(parse_dtype(dtype_name(t)), t);
  EXPECT_EQ(dtype_name(DType::BF16), "bf16");
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  for (const char* s : {"f32", "fp32", "float32"}) EXPECT_EQ(parse_dtype(s), DType::F32) << s;
  for (const char* s : {"f16", "fp16", "float16"}) EXPECT_EQ(parse_dtype(s), DType::F16) << s;
  for (const char* s : {"bf16", "bfloat16"}) EXPECT_EQ(parse_dtype(s), DType::BF16) << s;
}

TEST(DType, ParseErrorNamesTheValueAndTheValidOnes) {
  for (const char* bad : {"f64", "", "FP16 ", "bfloat"}) {
    try {
      parse_dtype(bad);
      ADD_FAILURE() << "parse_dtype accepted '" << bad << "'";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("bfloat16"), std::string::npos) << msg;
      EXPECT_NE(msg.find("fp32"), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace mantissa
