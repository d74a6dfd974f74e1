#pragma once
// Where the Model tab's canvas puts layers that have no place yet. Column =
// depth (the longest path from a layer without inputs); a deep model is
// wrapped into bands of columns, read like text, so that it fits the view
// instead of running off to the right. Plain geometry over the model: no
// scene, no widgets.
#include <QHash>
#include <QPointF>
#include <QSize>
#include <QString>
#include <vector>

#include "mantissa/model.hpp"

namespace mantissa::ui::canvas_layout {

inline constexpr qreal kColumnGap = 250;
inline constexpr qreal kRowGap = 110;

// Each layer's depth, in model order.
std::vector<int> depths(const ModelSpec& model);

// Gives every layer of `model` missing from `positions` a place (its node's
// top-left corner, in scene coordinates). With no layer placed, lays the whole
// model out anew, wrapped to suit a view of `viewport` pixels; otherwise each
// new layer goes under the layers already in its depth's column.
void placeMissing(const ModelSpec& model, QHash<QString, QPointF>& positions, QSize viewport);

}  // namespace mantissa::ui::canvas_layout
