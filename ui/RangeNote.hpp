#pragma once
// Says why a value was not taken. A spin box quietly puts back its last good
// value when what was typed is out of its range ("-0.05" or "50" as a
// learning rate); attachRangeNote() adds a line under the field, in its form,
// that names the field, the value typed and the valid range, and hides it at
// the next accepted value.
#include <QString>
#include <functional>

class QAbstractSpinBox;
class QObject;

namespace mantissa::ui {

void attachRangeNote(QAbstractSpinBox* box, const QString& field);

// The check under attachRangeNote, for notes placed elsewhere: when editing
// ends, `refused` gets the text typed if the box did not take it (whether it
// reads as a number or not), `taken` is called if it did. Nothing is called
// when nothing was typed. Connections live as long as `context`.
void watchTypedValue(QAbstractSpinBox* box, QObject* context,
                     std::function<void(const QString& typed, bool isNumber)> refused,
                     std::function<void()> taken);

}  // namespace mantissa::ui
