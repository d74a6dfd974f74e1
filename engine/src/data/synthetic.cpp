// Synthetic 2-D classification sets for quick experiments. Each is a pure
// function of (samples, classes, noise, seed) built on data::Rng; the only
// platform dependence left is libm's last-bit accuracy in sin/cos/log, which
// the rounding of every value to fp32 absorbs in practice.
#include <cmath>
#include <numbers>
#include <string>

#include "data/random.hpp"
#include "mantissa/data.hpp"
#include "mantissa/error.hpp"

namespace mantissa {
namespace {

constexpr double kPi = std::numbers::pi;

// Class c gets samples / classes points, the first samples % classes classes one more.
std::int64_t class_count(std::int64_t samples, int classes, int c) {
  return samples / classes + (c < samples % classes ? 1 : 0);
}

void push(Dataset& d, double x, double y, int c) {
  d.features.push_back(float(x));
  d.features.push_back(float(y));
  d.targets.push_back(float(c));
}

// Arms leave the centre at evenly spaced angles and wind 1.5 turns outwards.
void spirals(Dataset& d, std::int64_t samples, int classes, double noise, data::Rng& rng) {
  for (int c = 0; c < classes; ++c) {
    const std::int64_t n = class_count(samples, classes, c);
    for (std::int64_t i = 0; i < n; ++i) {
      const double t = n > 1 ? double(i) / double(n - 1) : 0.0;
      const double r = 0.05 + 0.95 * t;
      const double angle = 2.0 * kPi * c / classes + 3.0 * kPi * t;
      const double gx = rng.normal(), gy = rng.normal();
      push(d, r * std::cos(angle) + noise * gx, r * std::sin(angle) + noise * gy, c);
    }
  }
}

// Two interleaving half circles of radius 1.
void moons(Dataset& d, std::int64_t samples, double noise, data::Rng& rng) {
  for (int c = 0; c < 2; ++c) {
    const std::int64_t n = class_count(samples, 2, c);
    for (std::int64_t i = 0; i < n; ++i) {
      const double a = n > 1 ? kPi * double(i) / double(n - 1) : 0.0;
      const double x = c == 0 ? std::cos(a) : 1.0 - std::cos(a);
      const double y = c == 0 ? std::sin(a) : 0.5 - std::sin(a);
      const double gx = rng.normal(), gy = rng.normal();
      push(d, x + noise * gx, y + noise * gy, c);
    }
  }
}

// Isotropic Gaussians of standard deviation `noise` centred on the unit circle,
// so that noise means the same difficulty scale as in the other two sets.
void blobs(Dataset& d, std::int64_t samples, int classes, double noise, data::Rng& rng) {
  for (int c = 0; c < classes; ++c) {
    const double angle = 2.0 * kPi * c / classes;
    const double cx = std::cos(angle), cy = std::sin(angle);
    const std::int64_t n = class_count(samples, classes, c);
    for (std::int64_t i = 0; i < n; ++i) {
      const double gx = rng.normal(), gy = rng.normal();
      push(d, cx + noise * gx, cy + noise * gy, c);
    }
  }
}

}  // namespace

Dataset make_synthetic(const DatasetSpec& spec) {
  const std::string& kind = spec.kind;
  if (kind != "spirals" && kind != "moons" && kind != "blobs")
    throw InputError("dataset.kind: '" + kind + "' is not a synthetic set (spirals, moons, blobs)");
  if (spec.samples < 2 || spec.samples > kMaxSyntheticSamples)
    throw InputError("dataset.samples: must be between 2 and " + std::to_string(kMaxSyntheticSamples) +
                     ", got " + std::to_string(spec.samples));
  if (kind == "moons" && spec.classes != 2)
    throw InputError("dataset.classes: moons has exactly 2 classes, got " +
                     std::to_string(spec.classes));
  if (spec.classes < 2 || spec.classes > kMaxSyntheticClasses)
    throw InputError("dataset.classes: must be between 2 and " + std::to_string(kMaxSyntheticClasses) +
                     ", got " + std::to_string(spec.classes));
  if (spec.samples < spec.classes)
    throw InputError("dataset.samples: " + std::to_string(spec.samples) + " samples cannot cover " +
                     std::to_string(spec.classes) + " classes");
  if (!std::isfinite(spec.noise) || spec.noise < 0)
    throw InputError("dataset.noise: must be a finite number >= 0, got " +
                     std::to_string(spec.noise));

  Dataset d;
  d.name = kind;
  d.sample_shape = {2};
  d.target_dim = 1;
  d.num_classes = spec.classes;
  for (int c = 0; c < spec.classes; ++c) d.class_names.push_back(std::to_string(c));
  d.features.reserve(std::size_t(spec.samples) * 2);
  d.targets.reserve(std::size_t(spec.samples));

  data::Rng rng(data::stream_key(spec.seed, data::kPurposeSynthetic, 0));
  if (kind == "spirals")
    spirals(d, spec.samples, spec.classes, spec.noise, rng);
  else if (kind == "moons")
    moons(d, spec.samples, spec.noise, rng);
  else
    blobs(d, spec.samples, spec.classes, spec.noise, rng);
  return d;
}

}  // namespace mantissa
