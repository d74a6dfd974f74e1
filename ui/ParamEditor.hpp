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
// A number or size comes in a small box with a note under the editor
// ("rangeNote") that says the valid range in words when what was typed lies
// outside it; the box hands the focus to its editor.
QWidget* makeParamEditor(const ParamSchema& param, const QVariant& value, QWidget* parent,
                         QObject* context, std::function<void(const QVariant&)> edited);

// "number of outputs\nDefault: 0.5\nAllowed: in [0, 1)".
QString paramToolTip(const ParamSchema& param);

// What the parameter's range allows, in words: "at least 1", "at least 0 and
// less than 1", "greater than 0"; empty when any number goes.
QString rangeInWords(const ParamSchema& param);

}  // namespace mantissa::ui
