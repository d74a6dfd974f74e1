#include "LossSmoothing.hpp"

#include <algorithm>
#include <cmath>

namespace mantissa::ui {

void LossSmoother::setWeight(double weight) {
  weight_ = std::isfinite(weight) ? std::clamp(weight, 0.0, kMaxWeight) : 0.0;
  reset();
}

void LossSmoother::reset() {
  last_ = 0;
  decay_ = 1;
}

double LossSmoother::add(double value) {
  if (!std::isfinite(value)) return value;
  last_ = last_ * weight_ + (1 - weight_) * value;
  decay_ *= weight_;
  return last_ / (1 - decay_);
}

QVector<double> smoothed(const QVector<double>& values, double weight) {
  LossSmoother s(weight);
  QVector<double> out(values.size());
  for (qsizetype i = 0; i < values.size(); ++i) out[i] = s.add(values[i]);
  return out;
}

}  // namespace mantissa::ui
