#include "CanvasLayout.hpp"

#include <graphviz/gvc.h>

#include <QRectF>
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ModelEdits.hpp"

namespace mantissa::ui::canvas_layout {

namespace {

// dot works in points (1/72 inch); one point is one scene unit here.
constexpr double kPerInch = 72.0;

std::string inches(qreal units) {
  return std::to_string(units / kPerInch);
}

// One Graphviz context for the process: creating it reads the plugin
// configuration, which is not free.
GVC_t* context() {
  static GVC_t* gvc = gvContext();
  return gvc;
}

// Each layer's depth (the longest path from a layer without inputs), bounded
// so that a cycle cannot hang: the fallback when dot is not available.
std::vector<int> depths(const ModelSpec& model) {
  const std::size_t n = model.layers.size();
  std::vector<int> depth(n, 0);
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

// Rows by depth, side by side within a row: readable, if not as tidy as dot.
Layout byDepth(const ModelSpec& model, const QHash<QString, QSizeF>& sizes, QSizeF nodeSize) {
  Layout out;
  const std::vector<int> depth = depths(model);
  std::map<int, qreal> nextX;
  std::map<int, qreal> rowHeight;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QSizeF s = sizes.value(QString::fromStdString(model.layers[i].id), nodeSize);
    rowHeight[depth[i]] = std::max(rowHeight[depth[i]], s.height());
  }
  std::map<int, qreal> top;
  qreal y = 0;
  for (const auto& [d, h] : rowHeight) {
    top[d] = y;
    y += h + kRankGap;
  }
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QString id = QString::fromStdString(model.layers[i].id);
    qreal& x = nextX[depth[i]];
    out.positions.insert(id, QPointF(x, top[depth[i]]));
    x += sizes.value(id, nodeSize).width() + kNodeGap;
  }
  return out;
}

struct GraphCloser {
  void operator()(Agraph_t* g) const {
    gvFreeLayout(context(), g);
    agclose(g);
  }
};

}  // namespace

QString edgeKey(const QString& from, const QString& to, int inputIndex) {
  return from + QLatin1Char('>') + to + QLatin1Char('#') + QString::number(inputIndex);
}

Layout layered(const ModelSpec& model, const QHash<QString, QSizeF>& sizes, QSizeF nodeSize) {
  if (model.layers.empty()) return {};
  GVC_t* gvc = context();
  if (gvc == nullptr) return byDepth(model, sizes, nodeSize);

  std::unique_ptr<Agraph_t, GraphCloser> graph(
      agopen(const_cast<char*>("model"), Agdirected, nullptr));
  Agraph_t* g = graph.get();
  const auto set = [](void* obj, const char* key, const std::string& value) {
    agsafeset(obj, const_cast<char*>(key), const_cast<char*>(value.c_str()),
              const_cast<char*>(""));
  };
  set(g, "rankdir", "TB");
  set(g, "ranksep", inches(kRankGap));
  set(g, "nodesep", inches(kNodeGap));
  set(g, "splines", "spline");
  // Layers in file order keep their order within a rank where crossings allow.
  set(g, "ordering", "out");

  std::map<std::string, Agnode_t*> nodes;
  for (const LayerSpec& l : model.layers) {
    Agnode_t* n = agnode(g, const_cast<char*>(l.id.c_str()), 1);
    const QSizeF s = sizes.value(QString::fromStdString(l.id), nodeSize);
    set(n, "shape", "box");
    set(n, "fixedsize", "true");
    set(n, "label", "");
    set(n, "width", inches(s.width()));
    set(n, "height", inches(s.height()));
    nodes[l.id] = n;
  }
  std::map<Agedge_t*, QString> keys;
  for (const LayerSpec& l : model.layers)
    for (std::size_t k = 0; k < l.inputs.size(); ++k) {
      const auto from = nodes.find(l.inputs[k]);
      if (from == nodes.end() || l.inputs[k] == l.id) continue;
      // A named edge per input: Add(x, x) is two connections.
      const std::string name = "e" + std::to_string(k);
      Agedge_t* e = agedge(g, from->second, nodes[l.id], const_cast<char*>(name.c_str()), 1);
      keys[e] = edgeKey(QString::fromStdString(l.inputs[k]), QString::fromStdString(l.id), int(k));
    }
  if (gvLayout(gvc, g, "dot") != 0) return byDepth(model, sizes, nodeSize);

  // dot's y axis points up; the scene's points down.
  const boxf bb = GD_bb(g);
  const auto scene = [&](pointf p) { return QPointF(p.x - bb.LL.x, bb.UR.y - p.y); };
  Layout out;
  for (const LayerSpec& l : model.layers) {
    const QString id = QString::fromStdString(l.id);
    const QSizeF s = sizes.value(id, nodeSize);
    const QPointF centre = scene(ND_coord(nodes[l.id]));
    out.positions.insert(id, QPointF(std::round(centre.x() - s.width() / 2),
                                     std::round(centre.y() - s.height() / 2)));
  }
  for (const auto& [e, key] : keys) {
    const splines* spl = ED_spl(e);
    if (spl == nullptr || spl->size < 1 || spl->list[0].size < 4) continue;
    QPolygonF route;
    for (int i = 0; i < spl->list[0].size; ++i) route << scene(spl->list[0].list[i]);
    out.routes.insert(key, route);
  }
  return out;
}

void placeMissing(const ModelSpec& model, QHash<QString, QPointF>& positions, QSizeF nodeSize) {
  qreal bottom = -kRankGap;
  for (const QPointF& p : std::as_const(positions)) bottom = std::max(bottom, p.y() + nodeSize.height());
  qreal nextFree = 0;
  for (const LayerSpec& l : model.layers) {
    const QString id = QString::fromStdString(l.id);
    if (positions.contains(id)) continue;
    std::optional<QPointF> below;
    for (const std::string& in : l.inputs) {
      const auto it = positions.constFind(QString::fromStdString(in));
      if (it == positions.cend()) continue;
      const QPointF p = *it + QPointF(0, nodeSize.height() + kRankGap);
      if (!below || p.y() > below->y()) below = p;
    }
    QPointF at = below ? *below : QPointF(nextFree, bottom + kRankGap);
    if (!below) nextFree += nodeSize.width() + kNodeGap;
    // Not on top of a layer already there.
    const auto taken = [&](QPointF p) {
      for (const QPointF& q : std::as_const(positions))
        if (QRectF(q, nodeSize).intersects(QRectF(p, nodeSize))) return true;
      return false;
    };
    while (taken(at)) at.rx() += nodeSize.width() + kNodeGap;
    positions.insert(id, at);
  }
}

}  // namespace mantissa::ui::canvas_layout
