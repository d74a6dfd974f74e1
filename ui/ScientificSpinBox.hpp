#pragma once
// A spin box for values that span decades (learning rates, loss scales):
// shows and accepts "3e-4" as well as "0.0003", steps by a factor instead of a
// fixed increment, and keeps full double precision.
#include <QDoubleSpinBox>

namespace mantissa::ui {

class ScientificSpinBox : public QDoubleSpinBox {
  Q_OBJECT

 public:
  explicit ScientificSpinBox(QWidget* parent = nullptr);

  void setStepFactor(double factor) { factor_ = factor; }

  QString textFromValue(double value) const override;
  double valueFromText(const QString& text) const override;
  QValidator::State validate(QString& text, int& pos) const override;
  void stepBy(int steps) override;

 private:
  double factor_ = 2.0;
};

}  // namespace mantissa::ui
