#include "ModelCanvas.hpp"

#include <QDragEnterEvent>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QGraphicsView>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMimeData>
#include <QTimer>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>
#include <map>
#include <utility>

#include "CanvasLayout.hpp"
#include "Format.hpp"
#include "LayerNode.hpp"
#include "LayerPalette.hpp"
#include "ModelEdits.hpp"
#include "ProjectDocument.hpp"

namespace mantissa::ui {

namespace {

std::string modelText(const ModelSpec& m) {
  Project p;
  p.model = m;
  return project_to_json(p);
}

// Accepts layer kinds dragged from the palette; Delete removes the selection.
class CanvasView : public QGraphicsView {
 public:
  CanvasView(QGraphicsScene* scene, ModelCanvas* canvas) : QGraphicsView(scene), canvas_(canvas) {
    setAcceptDrops(true);
    setRenderHint(QPainter::Antialiasing);
    setDragMode(QGraphicsView::RubberBandDrag);
    setAlignment(Qt::AlignHCenter | Qt::AlignTop);
  }

 protected:
  void dragEnterEvent(QDragEnterEvent* e) override {
    if (e->mimeData()->hasFormat(LayerPalette::mimeType()))
      e->acceptProposedAction();
    else
      QGraphicsView::dragEnterEvent(e);
  }
  void dragMoveEvent(QDragMoveEvent* e) override {
    if (e->mimeData()->hasFormat(LayerPalette::mimeType()))
      e->acceptProposedAction();
    else
      QGraphicsView::dragMoveEvent(e);
  }
  void dropEvent(QDropEvent* e) override {
    if (!e->mimeData()->hasFormat(LayerPalette::mimeType())) {
      QGraphicsView::dropEvent(e);
      return;
    }
    const auto kind = parse_layer_kind(
        QString::fromUtf8(e->mimeData()->data(LayerPalette::mimeType())).toStdString());
    if (!kind) return;
    e->acceptProposedAction();
    const QPointF at = mapToScene(e->position().toPoint());
    canvas_->runLater([c = canvas_, k = *kind, at] { c->addLayer(k, at); });
  }
  void keyPressEvent(QKeyEvent* e) override {
    if (e->matches(QKeySequence::Delete) || e->key() == Qt::Key_Backspace) {
      canvas_->runLater([c = canvas_] { c->deleteSelection(); });
      return;
    }
    if (e->matches(QKeySequence::Copy)) {
      canvas_->copySelection();
      return;
    }
    if (e->matches(QKeySequence::Paste)) {
      canvas_->runLater([c = canvas_] { c->paste(); });
      return;
    }
    QGraphicsView::keyPressEvent(e);
  }

 private:
  ModelCanvas* canvas_;
};

}  // namespace

ModelCanvas::ModelCanvas(ProjectDocument* document, QWidget* parent)
    : QWidget(parent), doc_(document), scene_(new QGraphicsScene(this)) {
  auto* outer = new QHBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  auto* left = new QVBoxLayout;
  auto* bar = new QHBoxLayout;
  auto* layoutButton = new QToolButton(this);
  layoutButton_ = layoutButton;
  layoutButton->setText(tr("Auto layout"));
  layoutButton->setObjectName(QStringLiteral("autoLayoutButton"));
  bar->addWidget(layoutButton);
  auto* fitButton = new QToolButton(this);
  fitButton->setText(tr("Fit"));
  fitButton->setToolTip(tr("Zoom to show the whole model"));
  bar->addWidget(fitButton);
  bar->addStretch(1);
  left->addLayout(bar);
  banner_ = new QLabel(this);
  banner_->setWordWrap(true);
  banner_->setStyleSheet(QStringLiteral("color: #D55E00;"));
  banner_->hide();
  left->addWidget(banner_);
  view_ = new CanvasView(scene_, this);
  view_->viewport()->installEventFilter(this);
  left->addWidget(view_, 1);
  outer->addLayout(left, 1);

  inspector_ = new QWidget(this);
  inspector_->setObjectName(QStringLiteral("layerInspector"));
  inspector_->setMinimumWidth(220);
  inspector_->setMaximumWidth(280);
  inspectorLayout_ = new QVBoxLayout(inspector_);
  inspectorLayout_->setAlignment(Qt::AlignTop);
  outer->addWidget(inspector_);

  connect(layoutButton, &QToolButton::clicked, this, [this] {
    autoLayout();
    zoomToGraph(kReadableZoom);
  });
  connect(fitButton, &QToolButton::clicked, this, &ModelCanvas::fitToView);
  connect(scene_, &QGraphicsScene::selectionChanged, this, [this] {
    if (rebuilding_) return;
    QString id;
    for (QGraphicsItem* item : scene_->selectedItems())
      if (item->type() == LayerNode::Type) {
        id = static_cast<LayerNode*>(item)->id();
        break;
      }
    if (id != selected_) {
      selected_ = id;
      rebuildInspector();
    }
  });
  connect(doc_, &ProjectDocument::projectReplaced, this, [this] {
    autoPositions_.clear();
    lastLayout_ = {};
    selected_.clear();
    rebuild();
    fitPending_ = true;
    zoomToGraph(kReadableZoom);
  });
  connect(doc_, &ProjectDocument::modelChanged, this, [this] {
    fitPending_ = false;
    rebuild();
  });
  connect(doc_, &ProjectDocument::trainingChanged, this, &ModelCanvas::rebuild);
  rebuild();
}

ModelCanvas::~ModelCanvas() {
  // The scene dies with this widget's children; its selection signals must
  // not reach a half-destroyed canvas.
  rebuilding_ = true;
  scene_->disconnect(this);
}

void ModelCanvas::runLater(std::function<void()> fn) {
  QTimer::singleShot(0, this, std::move(fn));
}

void ModelCanvas::connectLayersLater(const QString& from, const QString& to) {
  runLater([this, from, to] { connectLayers(from, to); });
}

QStringList ModelCanvas::edgeLabels() const {
  QStringList out;
  for (const LayerEdge* e : edges_) out << e->label();
  return out;
}

bool ModelCanvas::isEmptyStateShown() const {
  return doc_->project().model.layers.empty();
}

QString ModelCanvas::bannerText() const {
  return banner_->isVisible() || !banner_->isHidden() ? banner_->text() : QString();
}

bool ModelCanvas::commit(const ModelSpec& edited, const QString& text) {
  if (readOnly_) return false;
  const ModelSpec& before = doc_->project().model;
  // Every edit stores where each node is, so the layout is saved with the
  // project and Undo puts nodes back.
  const ModelSpec after = placed(edited);
  if (modelText(before) == modelText(after)) return false;
  doc_->undoStack()->push(new ModelEditCommand(doc_, before, after, text));
  return true;
}

QPointF ModelCanvas::nodePosition(const QString& id) const {
  const LayerNode* n = nodes_.value(id);
  return n ? n->pos() : QPointF();
}

QHash<QString, QSizeF> ModelCanvas::nodeSizes() const {
  QHash<QString, QSizeF> sizes;
  for (auto it = nodes_.cbegin(); it != nodes_.cend(); ++it)
    sizes.insert(it.key(), it.value()->layoutSize());
  return sizes;
}

ModelSpec ModelCanvas::placed(ModelSpec model) const {
  QHash<QString, QPointF> at;
  for (const LayerSpec& l : model.layers) {
    const QString id = QString::fromStdString(l.id);
    if (l.position)
      at.insert(id, QPointF(l.position->x, l.position->y));
    else if (const LayerNode* n = nodes_.value(id))
      at.insert(id, n->pos());
  }
  canvas_layout::placeMissing(model, at, QSizeF(LayerNode::kWidth, LayerNode::kHeight));
  for (LayerSpec& l : model.layers)
    if (!l.position) {
      const QPointF p = at.value(QString::fromStdString(l.id));
      l.position = CanvasPosition{std::round(p.x()), std::round(p.y())};
    }
  return model;
}

QString ModelCanvas::addLayer(LayerKind kind, std::optional<QPointF> pos, const QString& feedFrom) {
  const ModelSpec& model = doc_->project().model;
  LayerSpec layer = model_edits::defaultLayer(model, kind);
  const QString id = QString::fromStdString(layer.id);
  if (pos) {
    const QPointF corner = *pos - QPointF(LayerNode::kWidth / 2, LayerNode::kHeight / 2);
    layer.position = CanvasPosition{std::round(corner.x()), std::round(corner.y())};
  }
  ModelSpec after = model_edits::withLayer(model, layer);
  if (!feedFrom.isEmpty())
    after = model_edits::withConnection(after, feedFrom.toStdString(), layer.id);
  if (!commit(after, tr("Add %1").arg(id))) return {};
  selectLayer(id);
  return id;
}

void ModelCanvas::addFromPalette(LayerKind kind) {
  QString from = selected_;
  if (!from.isEmpty()) {
    const int i = model_edits::indexOf(doc_->project().model, from.toStdString());
    if (i < 0 || is_loss(doc_->project().model.layers[std::size_t(i)].kind)) from.clear();
  }
  std::optional<QPointF> pos;  // the new node's centre: under the one it follows
  if (!from.isEmpty() && nodes_.contains(from)) {
    QPointF corner = nodePosition(from) + QPointF(0, LayerNode::kHeight + canvas_layout::kRankGap);
    // Beside whatever is there already (the layer's old consumer), not on it.
    const auto taken = [&](QPointF at) {
      const QRectF box(at, QSizeF(LayerNode::kWidth, LayerNode::kHeight));
      for (const LayerNode* n : std::as_const(nodes_))
        if (box.intersects(QRectF(n->pos(), n->layoutSize()))) return true;
      return false;
    };
    while (taken(corner)) corner.rx() += LayerNode::kWidth + canvas_layout::kNodeGap;
    pos = corner + QPointF(LayerNode::kWidth / 2, LayerNode::kHeight / 2);
  }
  addLayer(kind, pos, model_edits::takesNoInput(kind) ? QString() : from);
}

bool ModelCanvas::connectLayers(const QString& from, const QString& to) {
  return commit(
      model_edits::withConnection(doc_->project().model, from.toStdString(), to.toStdString()),
      tr("Connect %1 → %2").arg(from, to));
}

bool ModelCanvas::disconnectInput(const QString& to, int inputIndex) {
  return commit(model_edits::withoutConnection(doc_->project().model, to.toStdString(), inputIndex),
                tr("Disconnect input of %1").arg(to));
}

bool ModelCanvas::removeLayer(const QString& id) {
  return commit(model_edits::withoutLayer(doc_->project().model, id.toStdString()),
                tr("Delete %1").arg(id));
}

bool ModelCanvas::setParam(const QString& id, const QString& key, const QVariant& value) {
  auto after = model_edits::withParam(doc_->project().model, id.toStdString(), key, value);
  if (!after) return false;
  return commit(*after, tr("Change %1 of %2").arg(key, id));
}

bool ModelCanvas::setPinned(const QString& id, bool pinned) {
  return commit(model_edits::withPin(doc_->project().model, id.toStdString(), pinned),
                pinned ? tr("Pin %1 to fp32").arg(id) : tr("Unpin %1").arg(id));
}

bool ModelCanvas::togglePin(const QString& id) {
  const ModelSpec& m = doc_->project().model;
  const int i = model_edits::indexOf(m, id.toStdString());
  if (i < 0) return false;
  return setPinned(id, !m.layers[std::size_t(i)].pin_fp32);
}

bool ModelCanvas::renameLayer(const QString& id, const QString& newId) {
  const QString trimmed = newId.trimmed();
  if (trimmed.isEmpty() || trimmed == id) return false;
  // Placed first: the renamed layer keeps its node's place.
  const bool done = commit(model_edits::withRename(placed(doc_->project().model), id.toStdString(),
                                                   trimmed.toStdString()),
                           tr("Rename %1 to %2").arg(id, trimmed));
  if (done) selectLayer(trimmed);
  return done;
}

void ModelCanvas::autoLayout() {
  ModelSpec after = doc_->project().model;
  lastLayout_ = canvas_layout::layered(after, nodeSizes(),
                                       QSizeF(LayerNode::kWidth, LayerNode::kHeight));
  for (LayerSpec& l : after.layers) {
    const QPointF p = lastLayout_.positions.value(QString::fromStdString(l.id));
    l.position = CanvasPosition{p.x(), p.y()};
  }
  // One undoable edit; the scene is rebuilt from it, edges and all.
  commit(after, tr("Auto layout"));
}

void ModelCanvas::nodeMoved(LayerNode* node) {
  if (rebuilding_) return;
  fitPending_ = false;  // the user's placement wins over the automatic one
  for (LayerEdge* e : edges_)
    if (e->from() == node || e->to() == node) e->updatePath();
}

void ModelCanvas::nodesReleased() {
  if (rebuilding_) return;
  // The edit rebuilds the scene, the released item included: after the event.
  runLater([this] {
    // Where each node was before the drag: stored, or the opening layout.
    ModelSpec after = doc_->project().model;
    for (LayerSpec& l : after.layers) {
      const auto it = autoPositions_.constFind(QString::fromStdString(l.id));
      if (!l.position && it != autoPositions_.cend())
        l.position = CanvasPosition{std::round(it->x()), std::round(it->y())};
    }
    QStringList moved;
    for (LayerSpec& l : after.layers) {
      const LayerNode* n = nodes_.value(QString::fromStdString(l.id));
      if (n == nullptr) continue;
      const CanvasPosition at{std::round(n->pos().x()), std::round(n->pos().y())};
      if (l.position && *l.position == at) continue;
      l.position = at;
      moved << QString::fromStdString(l.id);
    }
    if (moved.isEmpty()) return;
    commit(after, moved.size() == 1 ? tr("Move %1").arg(moved.front())
                                     : tr("Move %n layers", nullptr, int(moved.size())));
  });
}

void ModelCanvas::rebuild() {
  rebuilding_ = true;
  scene_->clear();
  nodes_.clear();
  edges_.clear();

  const Project& project = doc_->project();
  const ModelSpec& model = project.model;

  // Every problem at once: a layer's on its node (errors, then warnings), the
  // model's own ("no loss layer") in the banner.
  const ModelDiagnosis& diagnosis = doc_->diagnosis();
  QHash<QString, QStringList> errors, warnings;
  QStringList modelProblems;
  for (const ModelProblem& p : diagnosis.problems) {
    const QString text = QString::fromStdString(p.message);
    if (p.layer_id.empty())
      modelProblems << text;
    else
      (p.warning ? warnings : errors)[QString::fromStdString(p.layer_id)] << text;
  }
  banner_->setText(modelProblems.join(QLatin1Char('\n')));
  banner_->setVisible(!modelProblems.isEmpty() && !model.layers.empty());

  if (model.layers.empty()) {
    auto* hint = scene_->addSimpleText(
        tr("Add an Input layer: drag it from the Layers palette,\nor double-click it there"));
    QFont f = hint->font();
    f.setPointSizeF(f.pointSizeF() * 1.5);
    hint->setFont(f);
    hint->setBrush(palette().placeholderText());
    hint->setData(0, QStringLiteral("empty-state"));
    scene_->setSceneRect(QRectF(-20, -20, 400, 200));
    rebuilding_ = false;
    rebuildInspector();
    return;
  }

  // Shapes and dtypes flowing out of each layer whose shape is known: every
  // part of the graph that can be inferred, finished or not.
  QHash<QString, QString> outLabel;
  {
    std::map<std::string, DType> dtypes;
    for (const LayerInfo& info : diagnosis.layers) {
      const int i = model_edits::indexOf(model, info.id);
      if (i < 0) continue;
      const LayerSpec& l = model.layers[std::size_t(i)];
      std::vector<DType> ins;
      for (const std::string& in : l.inputs) ins.push_back(dtypes.at(in));
      const DType dt = layer_output_dtype(l, project.training.policy, ins);
      dtypes[info.id] = dt;
      // Token ids travel exact whatever the policy: no dtype to speak of.
      const QString what = l.kind == LayerKind::Input && l.tokens
                               ? tr(" token ids")
                               : QStringLiteral(", ") + fromView(dtype_name(dt));
      outLabel.insert(QString::fromStdString(info.id),
                      QString::fromStdString(info.output_shape.str()) + what);
    }
  }

  for (const LayerSpec& l : model.layers) {
    const QString id = QString::fromStdString(l.id);
    auto* node = new LayerNode(this, l, errors.value(id).join(QLatin1Char('\n')),
                               warnings.value(id).join(QLatin1Char('\n')));
    scene_->addItem(node);
    nodes_.insert(id, node);
  }
  // Stored positions first; a project without them is laid out once, and
  // that layout stays put until an edit stores positions.
  const QSizeF nodeSize(LayerNode::kWidth, LayerNode::kHeight);
  const bool anyStored =
      std::any_of(model.layers.begin(), model.layers.end(), [](const LayerSpec& l) {
        return l.position.has_value();
      });
  if (lastLayout_.positions.isEmpty()) lastLayout_ = canvas_layout::layered(model, nodeSizes(), nodeSize);
  if (!anyStored && autoPositions_.isEmpty()) autoPositions_ = lastLayout_.positions;
  QHash<QString, QPointF> at;
  for (const LayerSpec& l : model.layers) {
    const QString id = QString::fromStdString(l.id);
    if (l.position)
      at.insert(id, QPointF(l.position->x, l.position->y));
    else if (autoPositions_.contains(id))
      at.insert(id, autoPositions_.value(id));
  }
  canvas_layout::placeMissing(model, at, nodeSize);
  for (auto it = nodes_.cbegin(); it != nodes_.cend(); ++it) {
    it.value()->setPos(at.value(it.key()));
    if (!autoPositions_.contains(it.key())) autoPositions_.insert(it.key(), at.value(it.key()));
  }
  for (const LayerSpec& l : model.layers) {
    LayerNode* to = nodes_.value(QString::fromStdString(l.id));
    for (std::size_t k = 0; k < l.inputs.size(); ++k) {
      const QString from = QString::fromStdString(l.inputs[k]);
      LayerNode* src = nodes_.value(from);
      if (!src) continue;
      // The layout's route where both ends are where the layout put them.
      QPolygonF route;
      if (lastLayout_.positions.value(from, QPointF(-1e9, 0)) == src->pos() &&
          lastLayout_.positions.value(to->id(), QPointF(-1e9, 0)) == to->pos())
        route = lastLayout_.routes.value(canvas_layout::edgeKey(from, to->id(), int(k)));
      auto* edge = new LayerEdge(src, to, int(k), outLabel.value(from), route);
      scene_->addItem(edge);
      edge->updatePath();  // now that it can see the layers it must go round
      edges_.append(edge);
    }
  }
  if (!nodes_.contains(selected_)) selected_.clear();
  if (LayerNode* n = nodes_.value(selected_)) n->setSelected(true);
  applyOverflow();
  scene_->setSceneRect(scene_->itemsBoundingRect().adjusted(-40, -40, 40, 40));
  rebuilding_ = false;
  rebuildInspector();
}

void ModelCanvas::showOverflow(const QString& layer, const QStringList& path,
                               const QString& sentence, const QString& pathNote) {
  overflowPathNote_ = pathNote;
  overflowLayer_ = layer;
  overflowPath_ = path;
  overflowSentence_ = sentence;
  applyOverflow();
  scene_->setSceneRect(scene_->itemsBoundingRect().adjusted(-40, -40, 40, 40));
}

void ModelCanvas::setReadOnly(bool on) {
  readOnly_ = on;
  view_->setInteractive(!on);
  view_->setAcceptDrops(!on);
  view_->setDragMode(on ? QGraphicsView::ScrollHandDrag : QGraphicsView::RubberBandDrag);
  layoutButton_->setVisible(!on);
  inspector_->setVisible(!on);
  if (on) scene_->clearSelection();
}

void ModelCanvas::applyOverflow() {
  for (auto it = nodes_.cbegin(); it != nodes_.cend(); ++it) {
    if (it.key() == overflowLayer_)
      it.value()->setOverflow(LayerNode::Overflow::Origin, overflowSentence_);
    else if (overflowPath_.contains(it.key()))
      it.value()->setOverflow(LayerNode::Overflow::Path,
                              overflowPathNote_.isEmpty() ? tr("non-finite values reached here")
                                                          : overflowPathNote_);
    else
      it.value()->setOverflow(LayerNode::Overflow::None, {});
  }
}

void ModelCanvas::fitToView() {
  zoomToGraph(0.25);
}

void ModelCanvas::zoomToGraph(qreal smallest) {
  // The nodes, not the edges: a curved edge's bounds include its control
  // points, far outside what is drawn.
  QRectF r;
  for (const LayerNode* n : nodes_) r = r.united(n->sceneBoundingRect());
  r.adjust(-40, -30, 40, 30);
  const QSize v = view_->viewport()->size();
  if (r.isEmpty() || v.width() < 50 || v.height() < 50) return;
  const qreal s =
      std::clamp(std::min(v.width() / r.width(), v.height() / r.height()), smallest, 1.0);
  view_->resetTransform();
  view_->scale(s, s);
  // What does not fit is below: start from the top, as a page is read.
  const QSizeF shown(v.width() / s, v.height() / s);
  view_->centerOn(QPointF(r.center().x(), std::min(r.center().y(), r.top() + shown.height() / 2)));
}

bool ModelCanvas::eventFilter(QObject* watched, QEvent* e) {
  if (watched == view_->viewport() && e->type() == QEvent::Resize && fitPending_) {
    // Until the first edit, the zoom follows the view's size; a deep model
    // opens readable at its top rather than whole and tiny (Fit shows it all).
    zoomToGraph(kReadableZoom);
  }
  return QWidget::eventFilter(watched, e);
}

}  // namespace mantissa::ui
