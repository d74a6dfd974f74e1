#pragma once
// TensorBoard's scalar smoothing, so a curve smoothed here reads as it would
// there: an exponential moving average whose start is debiased (divided by
// 1 − wⁿ after n values), so the first points are not pulled towards zero.
// A non-finite value passes through unsmoothed and does not count.
#include <QVector>

namespace mantissa::ui {

class LossSmoother {
 public:
  static constexpr double kMaxWeight = 0.99;

  explicit LossSmoother(double weight = 0) { setWeight(weight); }

  double weight() const { return weight_; }
  void setWeight(double weight);  // clamped to [0, kMaxWeight]; resets
  void reset();
  // The smoothed value after `value`, the next point of the series.
  double add(double value);

 private:
  double weight_ = 0;
  double last_ = 0;
  double decay_ = 1;  // wⁿ: the weight of the zero the average started from
};

// `values` smoothed with `weight` from the first point.
QVector<double> smoothed(const QVector<double>& values, double weight);

}  // namespace mantissa::ui
