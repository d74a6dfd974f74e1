#pragma once
// The toolbar's segmented choice of compute precision: FP32 | FP16 | BF16
// (mixed), each with its policy colour. Whether the 16-bit choice keeps fp32
// master weights (mixed) or not (pure) is an advanced setting of the form.
#include <QWidget>

#include "mantissa/precision.hpp"

class QButtonGroup;
class QToolButton;

namespace mantissa::ui {

class PolicySelector : public QWidget {
  Q_OBJECT

 public:
  enum class Family { FP32, FP16, BF16 };

  explicit PolicySelector(QWidget* parent = nullptr);

  Family family() const { return family_; }
  void setFamily(Family f);  // no signal
  QToolButton* button(Family f) const;

  static Family familyOf(mantissa::Policy p);
  // The policy of a family, pure or mixed (FP32 ignores `pure`).
  static mantissa::Policy policyOf(Family f, bool pure);

 signals:
  void familyChosen(mantissa::ui::PolicySelector::Family family);

 private:
  QButtonGroup* group_;
  QToolButton* buttons_[3];
  Family family_ = Family::FP32;
};

}  // namespace mantissa::ui
