#include "ScientificSpinBox.hpp"

#include <algorithm>
#include <cmath>

namespace mantissa::ui {

ScientificSpinBox::ScientificSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
  setDecimals(323);  // no rounding: the text form decides what is shown
  setKeyboardTracking(false);
}

QString ScientificSpinBox::textFromValue(double value) const {
  return QString::number(value, 'g', 8);
}

double ScientificSpinBox::valueFromText(const QString& text) const {
  return text.trimmed().toDouble();
}

QValidator::State ScientificSpinBox::validate(QString& text, int&) const {
  const QString t = text.trimmed();
  if (t.isEmpty() || t == QLatin1String("-") || t.endsWith(QLatin1Char('e')) ||
      t.endsWith(QLatin1String("e-")) || t.endsWith(QLatin1String("e+")))
    return QValidator::Intermediate;
  bool ok = false;
  const double v = t.toDouble(&ok);
  if (!ok) return QValidator::Invalid;
  return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
}

void ScientificSpinBox::stepBy(int steps) {
  const double v = value() * std::pow(factor_, steps);
  setValue(std::clamp(v, minimum(), maximum()));
}

}  // namespace mantissa::ui
