// Host side of per-tensor numerics: role names, decoding a tensor's words,
// and the one-value-at-a-time reference the backends are tested against.
#include "mantissa/numerics.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace mantissa {

namespace nb = numerics_bits;

namespace {

struct RoleName {
  TensorRole role;
  std::string_view name, key;
};
constexpr RoleName kRoles[] = {
    {TensorRole::Weight16, "16-bit weight", "weight16"},
    {TensorRole::Activation, "activation", "activation"},
    {TensorRole::ActivationGrad, "activation gradient", "activation_grad"},
    {TensorRole::WeightGrad, "weight gradient", "weight_grad"},
};

}  // namespace

std::string_view role_name(TensorRole role) {
  for (const auto& r : kRoles)
    if (r.role == role) return r.name;
  return "tensor";
}

std::string_view role_key(TensorRole role) {
  for (const auto& r : kRoles)
    if (r.role == role) return r.key;
  return "tensor";
}

std::optional<TensorRole> parse_role_key(std::string_view key) {
  for (const auto& r : kRoles)
    if (r.key == key) return r.role;
  return std::nullopt;
}

TensorStats decode_stats(std::span<const std::uint32_t> w) {
  TensorStats s;
  if (w.size() < std::size_t(nb::kWords)) return s;
  s.amax = std::bit_cast<float>(w[nb::kAmaxBits]);
  s.pos_inf = w[nb::kPosInf];
  s.neg_inf = w[nb::kNegInf];
  s.nan = w[nb::kNaN];
  s.zeros = w[nb::kZero];
  s.flush_f16 = w[nb::kFlushF16];
  s.flush_bf16 = w[nb::kFlushBF16];
  s.subnormal_f16 = w[nb::kSubnormalF16];
  s.saturate_f16 = w[nb::kSaturateF16];
  s.count = w[nb::kCount];
  return s;
}

NumericsWords encode_stats(const TensorStats& s) {
  NumericsWords w{};
  w[nb::kAmaxBits] = std::bit_cast<std::uint32_t>(s.amax);
  w[nb::kPosInf] = s.pos_inf;
  w[nb::kNegInf] = s.neg_inf;
  w[nb::kNaN] = s.nan;
  w[nb::kZero] = s.zeros;
  w[nb::kFlushF16] = s.flush_f16;
  w[nb::kFlushBF16] = s.flush_bf16;
  w[nb::kSubnormalF16] = s.subnormal_f16;
  w[nb::kSaturateF16] = s.saturate_f16;
  w[nb::kCount] = s.count;
  return w;
}

NumericsWords reference_stats(std::span<const float> values) {
  NumericsWords w{};
  for (float v : values) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(v);
    const std::uint32_t a = bits & 0x7FFFFFFFu;
    if (a > nb::kInf) {
      ++w[nb::kNaN];
    } else if (a == nb::kInf) {
      ++w[(bits >> 31) != 0 ? nb::kNegInf : nb::kPosInf];
    } else {
      if (a > w[nb::kAmaxBits]) w[nb::kAmaxBits] = a;
      if (a == 0) ++w[nb::kZero];
      if (a != 0 && a < nb::kFlushF16Below) ++w[nb::kFlushF16];
      if (a != 0 && a < nb::kFlushBF16Below) ++w[nb::kFlushBF16];
      if (a >= nb::kFlushF16Below && a < nb::kNormalF16From) ++w[nb::kSubnormalF16];
      if (a >= nb::kSaturateF16From) ++w[nb::kSaturateF16];
    }
    ++w[nb::kCount];
  }
  return w;
}

Histogram reference_histogram(std::span<const float> values) {
  Histogram h{};
  for (float v : values) ++h[std::size_t(nb::bin_of(std::bit_cast<std::uint32_t>(v) & 0x7FFFFFFFu))];
  return h;
}

std::string_view metric_key(NumericsMetric m) {
  switch (m) {
    case NumericsMetric::FlushF16: return "flush";
    case NumericsMetric::SubnormalF16: return "subnormal";
    case NumericsMetric::SaturateF16: return "saturate";
    case NumericsMetric::Headroom: return "headroom";
    case NumericsMetric::NonFinite: return "nonfinite";
  }
  return "?";
}

std::string_view metric_title(NumericsMetric m) {
  switch (m) {
    case NumericsMetric::FlushF16: return "flush to zero in fp16 (%)";
    case NumericsMetric::SubnormalF16: return "subnormal in fp16 (%)";
    case NumericsMetric::SaturateF16: return "saturate fp16 (%)";
    case NumericsMetric::Headroom: return "headroom to 65,504 (binades)";
    case NumericsMetric::NonFinite: return "non-finite (%)";
  }
  return "?";
}

std::optional<NumericsMetric> parse_metric_key(std::string_view key) {
  for (NumericsMetric m : kNumericsMetrics)
    if (metric_key(m) == key) return m;
  return std::nullopt;
}

std::optional<double> metric_value(const TensorStats& s, NumericsMetric m) {
  if (!s.produced()) return std::nullopt;
  const double n = double(s.count);
  switch (m) {
    case NumericsMetric::FlushF16: return 100.0 * s.flush_f16 / n;
    case NumericsMetric::SubnormalF16: return 100.0 * s.subnormal_f16 / n;
    case NumericsMetric::SaturateF16: return 100.0 * s.saturate_f16 / n;
    case NumericsMetric::NonFinite: return 100.0 * s.nonfinite() / n;
    case NumericsMetric::Headroom:
      if (!(s.amax > 0.0f)) return std::nullopt;
      return std::log2(65504.0 / double(s.amax));
  }
  return std::nullopt;
}

std::optional<int> bin_exponent(int bin) {
  if (bin < nb::kFirstBinade || bin >= nb::kBinNonFinite) return std::nullopt;
  return nb::kLowExponent + (bin - nb::kFirstBinade);
}

std::string NumericsSlot::label() const {
  switch (role) {
    case TensorRole::Weight16: return param + " (16-bit copy)";
    case TensorRole::Activation: return layer + " output";
    case TensorRole::ActivationGrad:
      return input < 0 ? layer + " gradient of output (summed over its readers)"
                       : layer + " gradient of input " + std::to_string(input);
    case TensorRole::WeightGrad: return param + " gradient";
  }
  return layer;
}

}  // namespace mantissa
