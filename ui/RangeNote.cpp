#include "RangeNote.hpp"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSpinBox>
#include <memory>

namespace mantissa::ui {

namespace {

QString number(double v) {
  return QString::number(v, 'g', 8);
}

// The valid range of a spin box, or nothing for another kind.
bool rangeOf(const QAbstractSpinBox* box, double& lo, double& hi) {
  if (auto* d = qobject_cast<const QDoubleSpinBox*>(box)) {
    lo = d->minimum();
    hi = d->maximum();
    return true;
  }
  if (auto* i = qobject_cast<const QSpinBox*>(box)) {
    lo = i->minimum();
    hi = i->maximum();
    return true;
  }
  return false;
}

// The form layout that holds `w`, however deep in its parent's layouts.
QFormLayout* formOf(QLayout* layout, QWidget* w) {
  if (layout == nullptr) return nullptr;
  if (auto* form = qobject_cast<QFormLayout*>(layout); form && form->indexOf(w) >= 0) return form;
  for (int i = 0; i < layout->count(); ++i)
    if (QFormLayout* found = formOf(layout->itemAt(i)->layout(), w)) return found;
  return nullptr;
}

}  // namespace

void watchTypedValue(QAbstractSpinBox* box, QObject* context,
                     std::function<void(const QString& typed, bool isNumber)> refused,
                     std::function<void()> taken) {
  auto* edit = box->findChild<QLineEdit*>();
  if (edit == nullptr) return;
  // What was typed last; the box has put its old value back by the time
  // editing finishes, so the text is kept as it is edited.
  auto typed = std::make_shared<QString>();
  QObject::connect(edit, &QLineEdit::textEdited, context, [typed](const QString& t) { *typed = t; });
  QObject::connect(box, &QAbstractSpinBox::editingFinished, context, [=] {
    const QString text = typed->trimmed();
    typed->clear();
    if (text.isEmpty()) return;
    // The box's own parse (suffixes, special text) decides what it took.
    int pos = 0;
    QString probe = text;
    if (box->validate(probe, pos) == QValidator::Acceptable) {
      taken();
      return;
    }
    bool isNumber = false;
    box->locale().toDouble(text, &isNumber);
    if (!isNumber) QLocale::c().toDouble(text, &isNumber);
    refused(text, isNumber);
  });
}

void attachRangeNote(QAbstractSpinBox* box, const QString& field) {
  QFormLayout* form = box->parentWidget() ? formOf(box->parentWidget()->layout(), box) : nullptr;
  double lo = 0, hi = 0;
  if (form == nullptr || !rangeOf(box, lo, hi)) return;  // a spin box in a form only
  int row = -1;
  QFormLayout::ItemRole role;
  form->getWidgetPosition(box, &row, &role);
  if (row < 0) return;
  auto* note = new QLabel(box->parentWidget());
  note->setObjectName(QStringLiteral("rangeNote"));
  note->setWordWrap(true);
  note->setStyleSheet(QStringLiteral("color: #D55E00;"));
  form->insertRow(row + 1, note);
  form->setRowVisible(note, false);
  watchTypedValue(
      box, note,
      [=](const QString& text, bool isNumber) {
        double now_lo = 0, now_hi = 0;  // read now: the range may have changed since
        rangeOf(box, now_lo, now_hi);
        note->setText(isNumber ? QObject::tr("%1 must be between %2 and %3; %4 was not applied")
                                     .arg(field, number(now_lo), number(now_hi), text)
                               : QObject::tr("%1: '%2' is not a number; the value was kept")
                                     .arg(field, text));
        form->setRowVisible(note, true);
      },
      [=] { form->setRowVisible(note, false); });
}

}  // namespace mantissa::ui
