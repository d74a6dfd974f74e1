#pragma once
// One editor of the inspector's parameter form, built from the parameter's
// schema (mantissa/layer_descriptor.hpp): its kind of widget, its range, and
// its help, default and range as the tooltip.
#include <QVariant>
#include <QWidget>
#include <functional>

#include "mantissa/layer_descriptor.hpp"

namespace mantissa::ui {

// `value` is model_edits::paramValue(); `edited` receives what the user
// entered, in the form model_edits::withParam() takes. Connections live as
// long as `context` and the editor. The editor's object name is the key.
QWidget* makeParamEditor(const ParamSchema& param, const QVariant& value, QWidget* parent,
                         QObject* context, std::function<void(const QVariant&)> edited);

// "number of outputs\nDefault: 0.5\nAllowed: in [0, 1)".
QString paramToolTip(const ParamSchema& param);

}  // namespace mantissa::ui
