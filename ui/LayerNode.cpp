#include "LayerNode.hpp"

#include <QFontMetricsF>
#include <QGraphicsLineItem>
#include <QGraphicsScene>
#include <QGraphicsSceneContextMenuEvent>
#include <QGraphicsSceneMouseEvent>
#include <QGraphicsSimpleTextItem>
#include <QMenu>
#include <QPainter>
#include <QPalette>
#include <QStyleOptionGraphicsItem>
#include <QtMath>
#include <algorithm>

#include "ModelCanvas.hpp"
#include "ModelEdits.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {
constexpr qreal kPortRadius = 5;

QFont noteFont(QFont f) {
  f.setPointSizeF(qMax(6.0, f.pointSizeF() - 1));
  return f;
}
constexpr int kNoteFlags = Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap;

QColor kindColor(LayerKind k) {
  const QString g = model_edits::groupOf(k);
  if (g == QLatin1String("Input")) return okabe_ito::kGrey;
  if (g == QLatin1String("Dense") || g == QLatin1String("Convolution")) return okabe_ito::kSkyBlue;
  if (g == QLatin1String("Activation")) return okabe_ito::kYellow;
  if (g == QLatin1String("Normalise")) return okabe_ito::kPurple;
  if (g == QLatin1String("Loss")) return okabe_ito::kVermillion;
  return okabe_ito::kGreen;
}
}  // namespace

LayerNode::LayerNode(ModelCanvas* canvas, const LayerSpec& layer, QString errorMessage,
                     QString warningMessage)
    : canvas_(canvas),
      id_(QString::fromStdString(layer.id)),
      subtitle_(model_edits::describe(layer)),
      error_(std::move(errorMessage)),
      warning_(std::move(warningMessage)),
      pinned_(layer.pin_fp32),
      hasInput_(!model_edits::takesNoInput(layer.kind)),
      hasOutput_(!is_loss(layer.kind)) {
  setFlags(ItemIsMovable | ItemIsSelectable | ItemSendsGeometryChanges | ItemIsFocusable);
  setZValue(1);
  updateNote();
  setCursor(Qt::ArrowCursor);
  setData(1, QVariant::fromValue(int(layer.kind)));
}

void LayerNode::updateNote() {
  prepareGeometryChange();
  note_ = error_;
  for (const QString* extra : {&warning_, &overflowNote_})
    if (!extra->isEmpty()) note_ += (note_.isEmpty() ? QString() : QStringLiteral("\n")) + *extra;
  noteHeight_ = 0;
  if (!note_.isEmpty()) {
    // As tall as the wrapped text, so messages neither overlap nor clip.
    const QFontMetricsF fm(noteFont(QFont()));
    noteHeight_ = fm.boundingRect(QRectF(0, 0, kNoteWidth, 1e6), kNoteFlags, note_).height() + 4;
  }
  setToolTip(note_.isEmpty() ? subtitle_ : note_);
}

void LayerNode::setOverflow(Overflow kind, const QString& note) {
  if (kind == overflow_ && note == overflowNote_) return;
  overflow_ = kind;
  overflowNote_ = kind == Overflow::None ? QString() : note;
  updateNote();
  update();
}

namespace {
constexpr QPointF kInPort(LayerNode::kWidth / 2, 0);
constexpr QPointF kOutPort(LayerNode::kWidth / 2, LayerNode::kHeight);
}  // namespace

QRectF LayerNode::boundingRect() const {
  const QSizeF s = layoutSize();
  return QRectF(-2, -kPortRadius - 2, s.width() + 4, std::max(s.height(), kHeight) + 2 * kPortRadius + 4);
}

QSizeF LayerNode::layoutSize() const {
  if (note_.isEmpty()) return {kWidth, kHeight};
  return {kWidth + kNoteGap + kNoteWidth, std::max(kHeight, noteHeight_)};
}

QPointF LayerNode::inputPortScenePos() const {
  return mapToScene(kInPort);
}
QPointF LayerNode::outputPortScenePos() const {
  return mapToScene(kOutPort);
}

void LayerNode::paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget*) {
  p->setRenderHint(QPainter::Antialiasing);
  const QPalette pal = option->palette;
  const QRectF box(0, 0, kWidth, kHeight);
  QPen border(isSelected() ? pal.highlight().color() : pal.mid().color(), isSelected() ? 2.2 : 1.2);
  if (hasError())
    border = QPen(okabe_ito::kVermillion, 2.4);
  else if (overflow_ == Overflow::Origin)
    border = QPen(okabe_ito::kVermillion, 3.2);
  else if (overflow_ == Overflow::Path)
    border = QPen(okabe_ito::kOrange, 2.6);
  else if (hasWarning())
    border = QPen(okabe_ito::kOrange, 2.0, Qt::DashLine);
  p->setPen(border);
  QColor fill = pal.base().color();
  if (overflow_ == Overflow::Origin) fill = QColor(255, 228, 220);
  if (overflow_ == Overflow::Path) fill = QColor(255, 241, 214);
  p->setBrush(fill);
  p->drawRoundedRect(box, 6, 6);
  // Kind stripe on the left.
  p->setPen(Qt::NoPen);
  p->setBrush(kindColor(LayerKind(data(1).toInt())));
  p->drawRoundedRect(QRectF(1, 1, 5, kHeight - 2), 2, 2);

  p->setPen(pal.text().color());
  QFont f = p->font();
  QFont bold = f;
  bold.setBold(true);
  p->setFont(bold);
  p->drawText(QRectF(12, 5, kWidth - 20, 20), Qt::AlignLeft | Qt::AlignVCenter,
              p->fontMetrics().elidedText(id_, Qt::ElideRight, int(kWidth - (pinned_ ? 60 : 20))));
  p->setFont(f);
  p->setPen(pal.placeholderText().color());
  p->drawText(QRectF(12, 26, kWidth - 20, 20), Qt::AlignLeft | Qt::AlignVCenter,
              p->fontMetrics().elidedText(subtitle_, Qt::ElideRight, int(kWidth - 20)));

  if (pinned_) {
    const QRectF badge(kWidth - 44, 6, 38, 16);
    p->setPen(Qt::NoPen);
    p->setBrush(policyColor(Policy::Float32));
    p->drawRoundedRect(badge, 4, 4);
    p->setPen(Qt::white);
    QFont small = f;
    small.setPointSizeF(qMax(6.0, f.pointSizeF() - 2));
    small.setBold(true);
    p->setFont(small);
    p->drawText(badge, Qt::AlignCenter, QStringLiteral("FP32"));
    p->setFont(f);
  }

  p->setPen(pal.dark().color());
  p->setBrush(pal.button());
  if (hasInput_) p->drawEllipse(kInPort, kPortRadius, kPortRadius);
  if (hasOutput_) p->drawEllipse(kOutPort, kPortRadius, kPortRadius);

  if (!note_.isEmpty()) {
    // Beside the box, clear of the edges above and below it. Errors in red; a
    // warning alone (an unused output) in amber.
    p->setPen(hasError() || overflow_ == Overflow::Origin ? okabe_ito::kVermillion
                                                          : okabe_ito::kOrange.darker(130));
    p->setFont(noteFont(f));
    p->drawText(QRectF(kWidth + kNoteGap, 0, kNoteWidth, noteHeight_), kNoteFlags, note_);
    p->setFont(f);
  }
}

QVariant LayerNode::itemChange(GraphicsItemChange change, const QVariant& value) {
  if (change == ItemPositionHasChanged && canvas_) canvas_->nodeMoved(this);
  return QGraphicsItem::itemChange(change, value);
}

void LayerNode::mousePressEvent(QGraphicsSceneMouseEvent* event) {
  if (hasOutput_ && event->button() == Qt::LeftButton &&
      QLineF(event->pos(), kOutPort).length() <= kPortRadius + 4) {
    wire_ = new QGraphicsLineItem(QLineF(outputPortScenePos(), event->scenePos()));
    wire_->setPen(QPen(Qt::darkGray, 1.5, Qt::DashLine));
    wire_->setZValue(3);
    scene()->addItem(wire_);
    event->accept();
    return;
  }
  QGraphicsItem::mousePressEvent(event);
}

void LayerNode::mouseMoveEvent(QGraphicsSceneMouseEvent* event) {
  if (wire_) {
    wire_->setLine(QLineF(outputPortScenePos(), event->scenePos()));
    return;
  }
  QGraphicsItem::mouseMoveEvent(event);
}

void LayerNode::mouseReleaseEvent(QGraphicsSceneMouseEvent* event) {
  if (!wire_) {
    QGraphicsItem::mouseReleaseEvent(event);
    if (event->button() == Qt::LeftButton && canvas_) canvas_->nodesReleased();
    return;
  }
  delete wire_;
  wire_ = nullptr;
  QString target;
  for (QGraphicsItem* item : scene()->items(event->scenePos())) {
    if (item->type() == LayerNode::Type && item != this) {
      target = static_cast<LayerNode*>(item)->id();
      break;
    }
  }
  // The edit rebuilds the scene, this item included: run it after the event.
  if (!target.isEmpty()) canvas_->connectLayersLater(id_, target);
}

void LayerNode::contextMenuEvent(QGraphicsSceneContextMenuEvent* event) {
  QMenu menu;
  QAction* pin = menu.addAction(QObject::tr("Pin to fp32"));
  pin->setCheckable(true);
  pin->setChecked(pinned_);
  QAction* copy = menu.addAction(QObject::tr("Copy"));
  QAction* remove = menu.addAction(QObject::tr("Delete"));
  const QString id = id_;
  ModelCanvas* canvas = canvas_;
  QAction* chosen = menu.exec(event->screenPos());
  // Edits rebuild the scene: never touch this item after one is queued.
  if (chosen == pin)
    canvas->runLater([canvas, id] { canvas->togglePin(id); });
  else if (chosen == copy)
    canvas->runLater([canvas, id] {
      canvas->selectLayer(id);
      canvas->copySelection();
    });
  else if (chosen == remove)
    canvas->runLater([canvas, id] { canvas->removeLayer(id); });
}

LayerEdge::LayerEdge(LayerNode* from, LayerNode* to, int inputIndex, const QString& label,
                     QPolygonF route)
    : from_(from),
      to_(to),
      inputIndex_(inputIndex),
      label_(new QGraphicsSimpleTextItem(this)),
      route_(std::move(route)),
      routeFrom_(from->outputPortScenePos()),
      routeTo_(to->inputPortScenePos()) {
  setFlag(ItemIsSelectable);
  setZValue(0);
  label_->setText(label);
  QFont f = label_->font();
  f.setPointSizeF(qMax(6.0, f.pointSizeF() - 1));
  label_->setFont(f);
  setToolTip(label);
  updatePath();
}

QString LayerEdge::label() const {
  return label_->text();
}

QPointF LayerEdge::labelScenePos() const {
  return label_->scenePos();
}

void LayerEdge::updatePath() {
  const QPointF a = from_->outputPortScenePos();
  const QPointF b = to_->inputPortScenePos();
  // The layout's route holds while both ends stay where it put them.
  if (!route_.isEmpty() && (a != routeFrom_ || b != routeTo_)) route_.clear();
  QPainterPath path(a);
  if (route_.size() >= 4) {
    // dot ends its routes on the box's border; start and end on the ports.
    for (qsizetype i = 1; i + 2 < route_.size(); i += 3)
      path.cubicTo(route_[i], route_[i + 1], i + 3 >= route_.size() ? b : route_[i + 2]);
  } else {
    const qreal dy = qMax<qreal>(30, qAbs(b.y() - a.y()) / 2);
    path.cubicTo(a + QPointF(0, dy), b - QPointF(0, dy), b);
    // A plain curve that would cross other layers goes round them instead:
    // down from its port, along the right of what is in the way, into the
    // consumer from above.
    qreal right = 0;
    bool blocked = false;
    if (scene() != nullptr && b.y() - a.y() > 2 * LayerNode::kHeight) {
      for (QGraphicsItem* item : scene()->items(QRectF(a, b).normalized().adjusted(-2, 0, 2, 0))) {
        if (item->type() != LayerNode::Type || item == from_ || item == to_) continue;
        const QRectF box(item->pos(), QSizeF(LayerNode::kWidth, LayerNode::kHeight));
        for (int k = 1; k < 24 && !blocked; ++k) blocked = box.contains(path.pointAtPercent(k / 24.0));
        if (blocked) right = std::max(right, box.right());
      }
      if (blocked)
        for (QGraphicsItem* item : scene()->items(QRectF(a, b).normalized().adjusted(-1e4, 0, 1e4, 0)))
          if (item->type() == LayerNode::Type && item != from_ && item != to_ &&
              item->pos().x() <= right && item->pos().x() + LayerNode::kWidth >= a.x() - 1 &&
              item->pos().y() > a.y() && item->pos().y() < b.y() - LayerNode::kHeight)
            right = std::max(right, item->pos().x() + LayerNode::kWidth);
    }
    if (blocked) {
      const qreal x = std::max(right, b.x()) + 24;
      const qreal bend = 24;
      path = QPainterPath(a);
      path.cubicTo(a + QPointF(0, bend), QPointF(x, a.y() + bend), QPointF(x, a.y() + 2 * bend));
      path.lineTo(x, b.y() - 2 * bend);
      path.cubicTo(QPointF(x, b.y() - bend), b - QPointF(0, bend), b);
    }
  }
  setPath(path);
  // Beside the edge, halfway down, clear of the nodes at either end.
  const QPointF mid = path.pointAtPercent(0.5);
  const QRectF r = label_->boundingRect();
  label_->setPos(mid + QPointF(6, -r.height() / 2));
}

void LayerEdge::paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget*) {
  p->setRenderHint(QPainter::Antialiasing);
  const QColor c = isSelected() ? option->palette.highlight().color() : QColor(0x70, 0x70, 0x70);
  p->setPen(QPen(c, isSelected() ? 2.4 : 1.4));
  p->setBrush(Qt::NoBrush);
  p->drawPath(path());
  // Arrow head at the consumer.
  const QPointF tip = path().pointAtPercent(1.0);
  const qreal angle = qDegreesToRadians(path().angleAtPercent(0.98));
  const QPointF back(-qCos(angle) * 8, qSin(angle) * 8);
  const QPointF side(qSin(angle) * 4, qCos(angle) * 4);
  p->setBrush(c);
  p->drawPolygon(QPolygonF({tip, tip + back + side, tip + back - side}));
}

}  // namespace mantissa::ui
