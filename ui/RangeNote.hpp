#pragma once
// Says why a value was not taken. A spin box quietly puts back its last good
// value when what was typed is out of its range ("-0.05" or "50" as a
// learning rate); attachRangeNote() adds a line under the field, in its form,
// that names the field, the value typed and the valid range, and hides it at
// the next accepted value.
#include <QString>

class QAbstractSpinBox;

namespace mantissa::ui {

void attachRangeNote(QAbstractSpinBox* box, const QString& field);

}  // namespace mantissa::ui
