// The model canvas's selection: delete, copy and paste, select all, and
// selecting one layer by id (which the inspector follows).
#include "ModelCanvas.hpp"

#include <QGraphicsScene>
#include <QGraphicsView>
#include <algorithm>
#include <utility>
#include <vector>

#include "LayerNode.hpp"
#include "ModelEdits.hpp"
#include "ProjectDocument.hpp"

namespace mantissa::ui {

void ModelCanvas::deleteSelection() {
  ModelSpec after = doc_->project().model;
  QStringList removed;
  // Edges first (by consumer and index, highest index first), then nodes.
  std::vector<std::pair<std::string, int>> cut;
  for (QGraphicsItem* item : scene_->selectedItems())
    if (item->type() == LayerEdge::Type) {
      auto* e = static_cast<LayerEdge*>(item);
      cut.emplace_back(e->to()->id().toStdString(), e->inputIndex());
    }
  std::sort(cut.begin(), cut.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [to, index] : cut) after = model_edits::withoutConnection(after, to, index);
  for (QGraphicsItem* item : scene_->selectedItems())
    if (item->type() == LayerNode::Type) {
      const QString id = static_cast<LayerNode*>(item)->id();
      after = model_edits::withoutLayer(after, id.toStdString());
      removed << id;
    }
  const QString text = removed.isEmpty() ? tr("Delete connection")
                                         : tr("Delete %1").arg(removed.join(QStringLiteral(", ")));
  commit(after, text);
}

void ModelCanvas::copySelection() {
  const ModelSpec& m = doc_->project().model;
  const int i = model_edits::indexOf(m, selected_.toStdString());
  if (i >= 0) clipboard_ = m.layers[std::size_t(i)];
}

QString ModelCanvas::paste() {
  if (!clipboard_) return {};
  const ModelSpec& model = doc_->project().model;
  LayerSpec layer = *clipboard_;
  layer.id = model_edits::uniqueId(model, layer.kind);
  layer.inputs.clear();
  const QString id = QString::fromStdString(layer.id);
  // Down and to the right of the copied layer, wherever that is now.
  const QString source = QString::fromStdString(clipboard_->id);
  if (nodes_.contains(source)) {
    const QPointF at = nodePosition(source) + QPointF(30, 30);
    layer.position = CanvasPosition{at.x(), at.y()};
  } else if (layer.position) {
    layer.position->x += 30;
    layer.position->y += 30;
  }
  if (!commit(model_edits::withLayer(model, layer), tr("Paste %1").arg(id))) return {};
  selectLayer(id);
  return id;
}

void ModelCanvas::selectAll() {
  for (QGraphicsItem* item : scene_->items())
    if (item->type() == LayerNode::Type || item->type() == LayerEdge::Type) item->setSelected(true);
}

int ModelCanvas::selectedNodeCount() const {
  int n = 0;
  for (QGraphicsItem* item : scene_->selectedItems()) n += item->type() == LayerNode::Type;
  return n;
}

void ModelCanvas::selectLayer(const QString& id) {
  selected_ = id;
  rebuilding_ = true;
  scene_->clearSelection();
  if (LayerNode* n = nodes_.value(id)) {
    n->setSelected(true);
    view_->ensureVisible(n, 30, 30);  // a layer added below the view is brought into it
  }
  rebuilding_ = false;
  rebuildInspector();
}

}  // namespace mantissa::ui
