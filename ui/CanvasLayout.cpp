#include "CanvasLayout.hpp"

#include <QSizeF>
#include <algorithm>
#include <cmath>
#include <map>

#include "ModelEdits.hpp"

namespace mantissa::ui::canvas_layout {

namespace {

constexpr qreal kBandGap = 60;
constexpr qreal kNodeHeight = 60;

}  // namespace

std::vector<int> depths(const ModelSpec& model) {
  const std::size_t n = model.layers.size();
  std::vector<int> depth(n, 0);
  // Longest path from a source; bounded relaxation so a cycle cannot hang.
  for (std::size_t round = 0; round < n; ++round) {
    bool changed = false;
    for (std::size_t i = 0; i < n; ++i)
      for (const std::string& in : model.layers[i].inputs) {
        const int j = model_edits::indexOf(model, in);
        if (j >= 0 && depth[std::size_t(j)] + 1 > depth[i] && depth[std::size_t(j)] + 1 <= int(n)) {
          depth[i] = depth[std::size_t(j)] + 1;
          changed = true;
        }
      }
    if (!changed) break;
  }
  return depth;
}

void placeMissing(const ModelSpec& model, QHash<QString, QPointF>& positions, QSize viewport) {
  const std::vector<int> depth = depths(model);
  if (positions.isEmpty()) {
    // Everything anew: column = depth, wrapped into bands of as many columns
    // as make the whole model largest in the view; each band is as tall as
    // its busiest column.
    std::map<int, int> perDepth;
    for (int d : depth) ++perDepth[d];
    const int deepest = perDepth.empty() ? 0 : perDepth.rbegin()->first;
    const QSizeF view =
        viewport.width() >= 200 && viewport.height() >= 200 ? QSizeF(viewport) : QSizeF(800, 600);
    const auto bandTops = [&](int columns) {
      std::vector<qreal> tops;
      qreal top = 0;
      for (int band = 0; band <= deepest / columns; ++band) {
        tops.push_back(top);
        int rows = 1;
        for (int d = band * columns; d < (band + 1) * columns; ++d)
          if (auto it = perDepth.find(d); it != perDepth.end()) rows = std::max(rows, it->second);
        top += (rows - 1) * kRowGap + kNodeHeight + kBandGap;
      }
      tops.push_back(top);  // the total height
      return tops;
    };
    // From one band down: wrap further only while that makes the model
    // clearly larger on screen (never past full size).
    int columns = deepest + 1;
    qreal best = 0;
    for (int c = deepest + 1; c >= std::min(deepest + 1, 2); --c) {
      const qreal width = (c - 1) * kColumnGap + 200;
      const qreal scale = std::min({view.width() / width, view.height() / bandTops(c).back(), 1.0});
      if (scale > best * 1.05) {
        best = scale;
        columns = c;
      }
    }
    const std::vector<qreal> tops = bandTops(columns);
    std::map<int, int> next;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      const int d = depth[i];
      positions.insert(QString::fromStdString(model.layers[i].id),
                       QPointF((d % columns) * kColumnGap,
                               tops[std::size_t(d / columns)] + next[d]++ * kRowGap));
    }
    return;
  }
  std::map<int, int> rows;  // column → next free row
  // Rows already taken by placed nodes in each column.
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QString id = QString::fromStdString(model.layers[i].id);
    if (positions.contains(id)) {
      const int col = int(std::lround(positions.value(id).x() / kColumnGap));
      const int row = int(std::lround(positions.value(id).y() / kRowGap)) + 1;
      rows[col] = std::max(rows[col], row);
    }
  }
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QString id = QString::fromStdString(model.layers[i].id);
    if (positions.contains(id)) continue;
    const int col = depth[i];
    const int row = rows[col]++;
    positions.insert(id, QPointF(col * kColumnGap, row * kRowGap));
  }
}

}  // namespace mantissa::ui::canvas_layout
