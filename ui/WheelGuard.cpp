#include "WheelGuard.hpp"

#include <QAbstractScrollArea>
#include <QAbstractSpinBox>
#include <QApplication>
#include <QComboBox>
#include <QWheelEvent>

namespace mantissa::ui {

void WheelGuard::install() {
  static WheelGuard* guard = nullptr;
  if (guard != nullptr || qApp == nullptr) return;
  guard = new WheelGuard(qApp);
  qApp->installEventFilter(guard);
}

bool WheelGuard::eventFilter(QObject* watched, QEvent* event) {
  const QEvent::Type type = event->type();
  if (type != QEvent::Wheel && type != QEvent::Polish) return false;
  auto* field = qobject_cast<QWidget*>(watched);
  if (field == nullptr || (qobject_cast<QAbstractSpinBox*>(field) == nullptr &&
                           qobject_cast<QComboBox*>(field) == nullptr))
    return false;
  if (type == QEvent::Polish) {
    // A real wheel event would otherwise give such a field the focus first
    // (Qt::WheelFocus), and then change it.
    if (field->focusPolicy() == Qt::WheelFocus) field->setFocusPolicy(Qt::StrongFocus);
    return false;
  }
  if (field->hasFocus()) return false;
  // Hand the wheel to the nearest scroll area, so the panel scrolls.
  for (QWidget* w = field->parentWidget(); w != nullptr; w = w->parentWidget()) {
    if (auto* area = qobject_cast<QAbstractScrollArea*>(w)) {
      QCoreApplication::sendEvent(area->viewport(), event);
      break;
    }
  }
  return true;  // the field itself never sees it
}

}  // namespace mantissa::ui
