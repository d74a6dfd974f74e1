#include "ParamEditor.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSpinBox>
#include <algorithm>
#include <cmath>

#include "Format.hpp"

namespace mantissa::ui {

namespace {

// Spin boxes stop here: far beyond any sensible layer, and inside int.
constexpr double kLargestShown = 1 << 24;
constexpr int kDecimals = 6;

QWidget* spinBox(const ParamSchema& p, const QVariant& value, QWidget* parent, QObject* context,
                 const std::function<void(const QVariant&)>& edited) {
  auto* e = new QSpinBox(parent);
  e->setRange(int(std::max(p.range.lo, -kLargestShown)), int(std::min(p.range.hi, kLargestShown)));
  e->setValue(int(value.toLongLong()));
  QObject::connect(e, &QSpinBox::editingFinished, context,
                   [e, edited] { edited(qlonglong(e->value())); });
  return e;
}

QWidget* doubleSpinBox(const ParamSchema& p, const QVariant& value, QWidget* parent,
                       QObject* context, const std::function<void(const QVariant&)>& edited) {
  auto* e = new QDoubleSpinBox(parent);
  e->setDecimals(kDecimals);
  // The box rounds its bounds to its decimals: an open or tiny positive lower
  // bound becomes the smallest step above it, so 0 cannot be entered for eps.
  const double step = std::pow(10.0, -kDecimals);
  double lo = std::max(p.range.lo, -kLargestShown), hi = std::min(p.range.hi, kLargestShown);
  if (p.range.lo_open || (p.range.lo > 0 && lo < step)) lo = std::max(lo, 0.0) + step;
  if (p.range.hi_open) hi -= step;
  e->setRange(lo, hi);
  e->setSingleStep(0.01);
  e->setValue(value.toDouble());
  QObject::connect(e, &QDoubleSpinBox::editingFinished, context,
                   [e, edited] { edited(e->value()); });
  return e;
}

QWidget* lineEdit(const QVariant& value, QWidget* parent, QObject* context,
                  const std::function<void(const QVariant&)>& edited) {
  auto* e = new QLineEdit(value.toString(), parent);
  QObject::connect(e, &QLineEdit::editingFinished, context, [e, edited] { edited(e->text()); });
  return e;
}

QWidget* comboBox(const ParamSchema& p, const QVariant& value, QWidget* parent, QObject* context,
                  const std::function<void(const QVariant&)>& edited) {
  auto* e = new QComboBox(parent);
  e->addItem(QObject::tr("default"), QString());
  for (std::string_view c : p.choices) e->addItem(fromView(c), fromView(c));
  e->setCurrentIndex(std::max(0, e->findData(value.toString())));
  // activated: only what the user picks, not the initial selection above.
  QObject::connect(e, &QComboBox::activated, context,
                   [e, edited](int i) { edited(e->itemData(i).toString()); });
  return e;
}

}  // namespace

QString paramToolTip(const ParamSchema& p) {
  QString tip = fromView(p.help);
  tip += QLatin1Char('\n') +
         QObject::tr("Default: %1").arg(QString::fromStdString(param_default_text(p)));
  if (const std::string allowed = param_allowed_text(p); !allowed.empty())
    tip += QLatin1Char('\n') + QObject::tr("Allowed: %1").arg(QString::fromStdString(allowed));
  return tip;
}

QWidget* makeParamEditor(const ParamSchema& p, const QVariant& value, QWidget* parent,
                         QObject* context, std::function<void(const QVariant&)> edited) {
  QWidget* editor = nullptr;
  switch (p.type()) {
    case ParamType::Bool: {
      auto* e = new QCheckBox(parent);
      e->setChecked(value.toBool());
      QObject::connect(e, &QCheckBox::toggled, context, [edited](bool on) { edited(on); });
      editor = e;
      break;
    }
    case ParamType::Float:
      editor = doubleSpinBox(p, value, parent, context, edited);
      break;
    case ParamType::Int:
      editor = spinBox(p, value, parent, context, edited);
      break;
    case ParamType::IntPair:
      // Square windows take a spin box; [height, width] ones are edited as "3, 5".
      editor = value.typeId() == QMetaType::QString ? lineEdit(value, parent, context, edited)
                                                    : spinBox(p, value, parent, context, edited);
      break;
    case ParamType::Shape:
      editor = lineEdit(value, parent, context, edited);
      break;
    case ParamType::Choice:
      editor = comboBox(p, value, parent, context, edited);
      break;
  }
  editor->setObjectName(fromView(p.key));
  editor->setToolTip(paramToolTip(p));
  return editor;
}

}  // namespace mantissa::ui
