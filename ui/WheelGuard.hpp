#pragma once
// The mouse wheel scrolls panels, it does not change values: over a spin box
// or a drop-down that does not have the keyboard focus, the wheel goes to the
// scroll area around it instead (as in most desktop tools). Click or tab into
// the field first to change it with the wheel. install() is idempotent and
// covers every widget of the application, including ones created later.
#include <QObject>

namespace mantissa::ui {

class WheelGuard : public QObject {
  Q_OBJECT

 public:
  static void install();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  using QObject::QObject;
};

}  // namespace mantissa::ui
