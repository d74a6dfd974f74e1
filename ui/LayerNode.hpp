#pragma once
// Graphics items of the model canvas: one LayerNode per layer (title = id,
// subtitle = type and key parameters, an input port on top, an output port at
// the bottom, an FP32 badge when pinned, a red outline and the message beside
// it when analysis fails at this layer, a red box and the sentence when a
// traced overflow started here, an orange one on the path the bad values
// took) and one LayerEdge per input
// connection, labelled with the shape and dtype that flow along it.
#include <QGraphicsItem>
#include <QGraphicsPathItem>
#include <QPolygonF>
#include <QString>

#include "mantissa/model.hpp"

class QGraphicsLineItem;
class QGraphicsSimpleTextItem;

namespace mantissa::ui {

class ModelCanvas;

class LayerNode : public QGraphicsItem {
 public:
  enum { Type = UserType + 41 };
  static constexpr qreal kWidth = 170;
  static constexpr qreal kHeight = 52;
  static constexpr qreal kNoteGap = 10;     // between the box and its note
  static constexpr qreal kNoteWidth = 200;  // the note's wrap width

  // errorMessage: why the layer cannot be used (drawn in red beside it);
  // warningMessage: what is wrong but stops nothing (an unused output).
  LayerNode(ModelCanvas* canvas, const LayerSpec& layer, QString errorMessage,
            QString warningMessage = {});

  int type() const override { return Type; }
  QRectF boundingRect() const override;
  void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

  const QString& id() const { return id_; }
  const QString& subtitle() const { return subtitle_; }
  const QString& errorMessage() const { return error_; }
  bool hasError() const { return !error_.isEmpty(); }
  const QString& warningMessage() const { return warning_; }
  bool hasWarning() const { return !warning_.isEmpty(); }
  bool isPinned() const { return pinned_; }
  // Where a traced overflow went (ModelCanvas::showOverflow).
  enum class Overflow { None, Origin, Path };
  void setOverflow(Overflow kind, const QString& note);
  Overflow overflow() const { return overflow_; }
  bool hasInputPort() const { return hasInput_; }
  bool hasOutputPort() const { return hasOutput_; }
  QPointF inputPortScenePos() const;
  QPointF outputPortScenePos() const;
  // The box and the note beside it: what the layout must keep apart.
  QSizeF layoutSize() const;

 protected:
  QVariant itemChange(GraphicsItemChange change, const QVariant& value) override;
  void mousePressEvent(QGraphicsSceneMouseEvent* event) override;
  void mouseMoveEvent(QGraphicsSceneMouseEvent* event) override;
  void mouseReleaseEvent(QGraphicsSceneMouseEvent* event) override;
  void contextMenuEvent(QGraphicsSceneContextMenuEvent* event) override;

 private:
  ModelCanvas* canvas_;
  QString id_, subtitle_, error_, warning_;
  void updateNote();
  QString note_;         // what is drawn beside the node: errors, warnings, the overflow
  Overflow overflow_ = Overflow::None;
  QString overflowNote_;
  qreal noteHeight_ = 0;  // its wrapped height
  bool pinned_ = false;
  bool hasInput_ = true, hasOutput_ = true;
  QGraphicsLineItem* wire_ = nullptr;  // while dragging a new connection
};

class LayerEdge : public QGraphicsPathItem {
 public:
  enum { Type = UserType + 42 };

  // `route`: the layout's Bézier control points (1 + 3n), drawn until either
  // end moves; without one the edge is a plain curve from port to port.
  LayerEdge(LayerNode* from, LayerNode* to, int inputIndex, const QString& label,
            QPolygonF route = {});

  int type() const override { return Type; }
  void updatePath();
  LayerNode* from() const { return from_; }
  LayerNode* to() const { return to_; }
  int inputIndex() const { return inputIndex_; }
  QString label() const;
  bool followsRoute() const { return !route_.isEmpty(); }
  QPointF labelScenePos() const;

 protected:
  void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

 private:
  LayerNode* from_;
  LayerNode* to_;
  int inputIndex_;
  QGraphicsSimpleTextItem* label_;
  QPolygonF route_;
  QPointF routeFrom_, routeTo_;  // where the ports were when the route was made
};

}  // namespace mantissa::ui
