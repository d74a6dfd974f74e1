#pragma once
// The Model tab's graph editor: layers as nodes, connections as edges carrying
// the inferred per-sample shape and dtype under the project's policy, and a
// small inspector for the selected layer. Every edit is a ModelEditCommand on
// the document's undo stack; after each one the model is analysed again and
// the layer named by the error, if any, is outlined red with the message.
#include <QHash>
#include <QPointF>
#include <QWidget>
#include <functional>
#include <optional>

#include "CanvasLayout.hpp"
#include "mantissa/model.hpp"

class QFormLayout;
class QGraphicsScene;
class QGraphicsView;
class QLabel;
class QVBoxLayout;

namespace mantissa::ui {

class LayerEdge;
class LayerNode;
class ProjectDocument;

class ModelCanvas : public QWidget {
  Q_OBJECT

 public:
  explicit ModelCanvas(ProjectDocument* document, QWidget* parent = nullptr);
  ~ModelCanvas() override;

  QGraphicsScene* scene() const { return scene_; }
  QGraphicsView* view() const { return view_; }
  QWidget* inspector() const { return inspector_; }

  int nodeCount() const { return int(nodes_.size()); }
  int edgeCount() const { return int(edges_.size()); }
  LayerNode* node(const QString& id) const { return nodes_.value(id); }
  const QList<LayerEdge*>& edges() const { return edges_; }
  QStringList edgeLabels() const;
  bool isEmptyStateShown() const;
  // The model-level error that names no layer ("the model has no loss layer").
  QString bannerText() const;

  // Edits; each pushes one undo command and returns false when nothing changed.
  // addLayer returns the new layer's id; `pos` is in scene coordinates.
  QString addLayer(LayerKind kind, std::optional<QPointF> pos = std::nullopt,
                   const QString& feedFrom = QString());
  bool connectLayers(const QString& from, const QString& to);
  bool disconnectInput(const QString& to, int inputIndex);
  bool removeLayer(const QString& id);
  bool setParam(const QString& id, const QString& key, const QVariant& value);
  bool setPinned(const QString& id, bool pinned);
  bool togglePin(const QString& id);
  bool renameLayer(const QString& id, const QString& newId);
  void deleteSelection();  // the selected nodes and edges, as one undo step
  void copySelection();
  QString paste();  // returns the pasted layer's id, empty when nothing to paste

  void selectLayer(const QString& id);
  void selectAll();                 // every layer and connection
  int selectedNodeCount() const;
  QString selectedLayer() const { return selected_; }
  void autoLayout();
  // Marks where a traced skipped step first went non-finite: that layer red
  // with the sentence beside it, the layers the bad values then reached
  // orange. An empty layer clears the marks. Kept across edits. `pathNote`
  // is what the orange layers say (the divergence probe marks its other
  // culprits so).
  void showOverflow(const QString& layer, const QStringList& path, const QString& sentence,
                    const QString& pathNote = {});
  const QString& overflowLayer() const { return overflowLayer_; }
  // A canvas that shows and never edits (a stored run's model): no
  // selection, drags, drops, menus or inspector; every edit is refused.
  void setReadOnly(bool on);
  bool isReadOnly() const { return readOnly_; }
  // Zooms so the whole graph is in view (not below 25 %).
  void fitToView();
  // The zoom a project opens at, at least: labels stay readable.
  static constexpr qreal kReadableZoom = 0.7;
  // Where the layer's node is drawn (its top-left corner, scene coordinates).
  QPointF nodePosition(const QString& id) const;

  // A palette double-click: the new layer follows the selected one.
  void addFromPalette(LayerKind kind);

  // Item callbacks. nodeMoved follows a drag; nodesReleased ends one and
  // records where the nodes went as one undoable edit.
  void nodeMoved(LayerNode* node);
  void nodesReleased();
  void connectLayersLater(const QString& from, const QString& to);
  void runLater(std::function<void()> fn);

 private:
  bool eventFilter(QObject* watched, QEvent* e) override;
  void addLayerCosts(QFormLayout* form, const QString& id);
  bool commit(const ModelSpec& after, const QString& text);
  void rebuild();
  void rebuildInspector();
  void applyOverflow();
  QString overflowPathNote_;
  void zoomToGraph(qreal smallest);  // whole graph in view, not below `smallest`
  bool fitPending_ = true;  // fit once the view has its size
  // `model` with a position for every layer: where its node is drawn now, or
  // a new place for a layer that has none.
  ModelSpec placed(ModelSpec model) const;
  QHash<QString, QSizeF> nodeSizes() const;

  ProjectDocument* doc_;
  QGraphicsScene* scene_;
  QGraphicsView* view_;
  QLabel* banner_;
  QWidget* inspector_;
  QVBoxLayout* inspectorLayout_;
  QWidget* inspectorBody_ = nullptr;
  QHash<QString, LayerNode*> nodes_;
  QList<LayerEdge*> edges_;
  // Where layers without a stored position are drawn: the layout made when
  // the project was opened (so Undo back to it puts every node back).
  QHash<QString, QPointF> autoPositions_;
  canvas_layout::Layout lastLayout_;  // the newest layered layout, for its edge routes
  std::optional<LayerSpec> clipboard_;
  QString selected_;
  bool rebuilding_ = false;
  QString overflowLayer_, overflowSentence_;
  bool readOnly_ = false;
  QWidget* layoutButton_ = nullptr;
  QStringList overflowPath_;
};

}  // namespace mantissa::ui
