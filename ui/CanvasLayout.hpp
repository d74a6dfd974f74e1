#pragma once
// Where the Model tab's canvas puts layers: a layered (Sugiyama) layout from
// Graphviz's dot, top to bottom as Netron and TensorBoard draw graphs, with
// skip connections routed beside the main path and few crossings. Plain
// geometry over the model: no scene, no widgets. Positions are the top-left
// corners of the nodes, in scene coordinates.
#include <QHash>
#include <QPointF>
#include <QPolygonF>
#include <QSizeF>
#include <QString>

#include "mantissa/model.hpp"

namespace mantissa::ui::canvas_layout {

inline constexpr qreal kRankGap = 58;  // between a layer and the next: edge labels live here
inline constexpr qreal kNodeGap = 44;  // between layers side by side

struct Layout {
  QHash<QString, QPointF> positions;  // every layer
  // The route of each connection ("from>to#input"), as cubic Bézier control
  // points (1 + 3n points), where the layout found one.
  QHash<QString, QPolygonF> routes;
};

QString edgeKey(const QString& from, const QString& to, int inputIndex);

// Lays the whole model out anew. `sizes` holds each layer's node size
// (including what is drawn beside it); missing ones are `nodeSize`.
Layout layered(const ModelSpec& model, const QHash<QString, QSizeF>& sizes, QSizeF nodeSize);

// Gives every layer missing from `positions` a place: under the lowest of its
// placed inputs, or under everything when it has none.
void placeMissing(const ModelSpec& model, QHash<QString, QPointF>& positions, QSizeF nodeSize);

}  // namespace mantissa::ui::canvas_layout
