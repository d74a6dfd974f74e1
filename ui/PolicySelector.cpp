#include "PolicySelector.hpp"

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QToolButton>

#include "GlyphIcon.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

PolicySelector::PolicySelector(QWidget* parent) : QWidget(parent), group_(new QButtonGroup(this)) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  struct Choice {
    Family family;
    Policy policy;
    const char* text;
    const char* tip;
  };
  const Choice choices[] = {
      {Family::FP32, Policy::Float32, QT_TR_NOOP("FP32"), QT_TR_NOOP("Everything in fp32")},
      {Family::FP16, Policy::MixedFloat16, QT_TR_NOOP("FP16"),
       QT_TR_NOOP("fp16 compute over fp32 master weights, dynamic loss scaling")},
      {Family::BF16, Policy::MixedBFloat16, QT_TR_NOOP("BF16"),
       QT_TR_NOOP("bf16 compute over fp32 master weights, no loss scaling by default")},
  };
  for (const Choice& c : choices) {
    auto* b = new QToolButton(this);
    b->setText(tr(c.text));
    b->setToolTip(tr(c.tip));
    b->setIcon(glyphIcon(Glyph::Dot, policyColor(c.policy)));
    b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    b->setCheckable(true);
    b->setAutoRaise(false);
    group_->addButton(b, int(c.family));
    layout->addWidget(b);
    buttons_[int(c.family)] = b;
  }
  buttons_[0]->setChecked(true);
  connect(group_, &QButtonGroup::idClicked, this, [this](int id) {
    family_ = Family(id);
    emit familyChosen(family_);
  });
}

void PolicySelector::setFamily(Family f) {
  family_ = f;
  buttons_[int(f)]->setChecked(true);
}

QToolButton* PolicySelector::button(Family f) const {
  return buttons_[int(f)];
}

PolicySelector::Family PolicySelector::familyOf(Policy p) {
  switch (p) {
    case Policy::Float32:
      return Family::FP32;
    case Policy::MixedFloat16:
    case Policy::Float16:
      return Family::FP16;
    case Policy::MixedBFloat16:
    case Policy::BFloat16:
      return Family::BF16;
  }
  return Family::FP32;
}

Policy PolicySelector::policyOf(Family f, bool pure) {
  switch (f) {
    case Family::FP32:
      return Policy::Float32;
    case Family::FP16:
      return pure ? Policy::Float16 : Policy::MixedFloat16;
    case Family::BF16:
      return pure ? Policy::BFloat16 : Policy::MixedBFloat16;
  }
  return Policy::Float32;
}

}  // namespace mantissa::ui
