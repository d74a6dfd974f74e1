#include "ParamEditor.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "Format.hpp"
#include "RangeNote.hpp"

namespace mantissa::ui {

namespace {

// Spin boxes stop here: far beyond any sensible layer, and inside int.
constexpr double kLargestShown = 1 << 24;
constexpr int kDecimals = 6;

// Lets a number outside the range be typed: a plain spin box swallows the
// key, so nothing happens and nothing says why. Out of range it is held as
// Intermediate, put back when editing ends, and the range note explains.
template <typename Base>
class OpenSpinBox : public Base {
 public:
  using Base::Base;

  QValidator::State validate(QString& text, int& pos) const override {
    const QValidator::State state = Base::validate(text, pos);
    if (state != QValidator::Invalid) return state;
    const QString t = text.trimmed();
    if (t == QLatin1String("-") || t == QLatin1String("+")) return QValidator::Intermediate;
    bool ok = false;
    double v = 0;
    if constexpr (std::is_same_v<Base, QSpinBox>) {
      v = double(this->locale().toLongLong(t, &ok));
      if (!ok) v = double(QLocale::c().toLongLong(t, &ok));
    } else {
      v = this->locale().toDouble(t, &ok);
      if (!ok) v = QLocale::c().toDouble(t, &ok);
    }
    // In range but refused (too many decimals): still refused.
    const bool outside = v < double(this->minimum()) || v > double(this->maximum());
    return ok && outside ? QValidator::Intermediate : QValidator::Invalid;
  }
};

QString number(double v) {
  return QString::number(v, 'g', 8);
}

// The range as it is meant, without the limits that only keep values inside
// the engine's fields (fp32, int).
ValueRange meantRange(const ParamSchema& p) {
  ValueRange r = p.range;
  constexpr double kFloatMax = double(std::numeric_limits<float>::max());
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (p.type() == ParamType::Float && r.hi == kFloatMax && !r.hi_open) {
    r.hi = kInf;
    if (r.lo == -kFloatMax) r.lo = -kInf;
    if (r.lo == double(std::numeric_limits<float>::min())) r = ValueRange::positive();
  }
  if (p.type() != ParamType::Float && r.hi >= double(std::numeric_limits<int>::max())) r.hi = kInf;
  return r;
}

// A note under an editor, hidden until something typed is refused.
QLabel* addNote(QWidget* field) {
  auto* note = new QLabel(field);
  note->setObjectName(QStringLiteral("rangeNote"));
  note->setWordWrap(true);
  note->setStyleSheet(QStringLiteral("color: #D55E00;"));
  note->hide();
  field->layout()->addWidget(note);
  return note;
}

// "p must be at least 0 and less than 1; 1.5 was not applied".
void noteSpinBox(QAbstractSpinBox* box, const ParamSchema& p, QLabel* note) {
  const QString key = fromView(p.key);
  QString allowed = rangeInWords(p);
  if (allowed.isEmpty()) {
    double lo = 0, hi = 0;
    if (auto* d = qobject_cast<QDoubleSpinBox*>(box)) lo = d->minimum(), hi = d->maximum();
    if (auto* i = qobject_cast<QSpinBox*>(box)) lo = i->minimum(), hi = i->maximum();
    allowed = QObject::tr("between %1 and %2").arg(number(lo), number(hi));
  }
  watchTypedValue(
      box, note,
      [note, key, allowed](const QString& typed, bool isNumber) {
        note->setText(isNumber ? QObject::tr("%1 must be %2; %3 was not applied")
                                     .arg(key, allowed, typed)
                               : QObject::tr("%1: '%2' is not a number; the value was kept")
                                     .arg(key, typed));
        note->show();
      },
      [note] { note->hide(); });
}

// Sizes typed as text ("1, 28, 28", "3 × 5"): each number against the range.
void noteLineEdit(QLineEdit* edit, const ParamSchema& p, QLabel* note) {
  const QString key = fromView(p.key);
  const ValueRange range = p.range;
  const QString allowed = rangeInWords(p);
  QObject::connect(edit, &QLineEdit::editingFinished, note, [=] {
    QString t = edit->text();
    t.replace(QChar(0x00D7), QLatin1Char(',')).replace(QLatin1Char('x'), QLatin1Char(','));
    t.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
    const QStringList parts = t.split(QLatin1Char(','), Qt::SkipEmptyParts);
    bool whole = !parts.isEmpty();
    bool inside = true;
    for (const QString& part : parts) {
      bool ok = false;
      const qlonglong v = part.trimmed().toLongLong(&ok);
      whole = whole && ok;
      inside = inside && (!ok || range.contains(double(v)));
    }
    if (!whole)
      note->setText(QObject::tr("%1: '%2' is not a list of whole numbers; it was not applied")
                        .arg(key, edit->text()));
    else if (!inside)
      note->setText(QObject::tr("%1: each number must be %2; %3 was not applied")
                        .arg(key, allowed, edit->text()));
    note->setVisible(!whole || !inside);
  });
}

QWidget* spinBox(const ParamSchema& p, const QVariant& value, QWidget* parent, QObject* context,
                 const std::function<void(const QVariant&)>& edited) {
  auto* e = new OpenSpinBox<QSpinBox>(parent);
  e->setRange(int(std::max(p.range.lo, -kLargestShown)), int(std::min(p.range.hi, kLargestShown)));
  e->setValue(int(value.toLongLong()));
  QObject::connect(e, &QSpinBox::editingFinished, context,
                   [e, edited] { edited(qlonglong(e->value())); });
  return e;
}

QWidget* doubleSpinBox(const ParamSchema& p, const QVariant& value, QWidget* parent,
                       QObject* context, const std::function<void(const QVariant&)>& edited) {
  auto* e = new OpenSpinBox<QDoubleSpinBox>(parent);
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

QString rangeInWords(const ParamSchema& p) {
  const ValueRange r = meantRange(p);
  const bool hasLo = std::isfinite(r.lo), hasHi = std::isfinite(r.hi);
  const QString lo = r.lo_open ? QObject::tr("greater than %1").arg(number(r.lo))
                               : QObject::tr("at least %1").arg(number(r.lo));
  const QString hi = r.hi_open ? QObject::tr("less than %1").arg(number(r.hi))
                               : QObject::tr("at most %1").arg(number(r.hi));
  if (hasLo && hasHi) {
    if (!r.lo_open && !r.hi_open)
      return QObject::tr("between %1 and %2").arg(number(r.lo), number(r.hi));
    return QObject::tr("%1 and %2").arg(lo, hi);
  }
  if (hasLo) return lo;
  if (hasHi) return hi;
  return {};
}

QWidget* makeParamEditor(const ParamSchema& p, const QVariant& value, QWidget* parent,
                         QObject* context, std::function<void(const QVariant&)> edited) {
  const bool ranged = p.type() == ParamType::Int || p.type() == ParamType::Float ||
                      p.type() == ParamType::IntPair || p.type() == ParamType::Shape;
  QWidget* field = nullptr;
  if (ranged) {
    field = new QWidget(parent);
    auto* layout = new QVBoxLayout(field);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    parent = field;
  }
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
  if (field == nullptr) return editor;
  field->layout()->addWidget(editor);
  QLabel* note = addNote(field);
  if (auto* box = qobject_cast<QAbstractSpinBox*>(editor))
    noteSpinBox(box, p, note);
  else if (auto* edit = qobject_cast<QLineEdit*>(editor))
    noteLineEdit(edit, p, note);
  field->setObjectName(fromView(p.key) + QStringLiteral("Field"));
  field->setToolTip(editor->toolTip());
  field->setFocusProxy(editor);
  return field;
}

}  // namespace mantissa::ui
