#include "GlyphIcon.hpp"

#include <QApplication>
#include <QIconEngine>
#include <QPainter>
#include <QPainterPath>
#include <QPalette>
#include <QPixmap>

#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

class GlyphIconEngine : public QIconEngine {
 public:
  GlyphIconEngine(Glyph glyph, QColor color) : glyph_(glyph), color_(color) {}

  void paint(QPainter* p, const QRect& rect, QIcon::Mode mode, QIcon::State) override {
    const QPalette pal = QApplication::palette();
    QColor c = color_.isValid() ? color_ : pal.color(QPalette::Active, QPalette::WindowText);
    if (mode == QIcon::Disabled) {
      c = color_.isValid() ? color_ : pal.color(QPalette::Disabled, QPalette::WindowText);
      c.setAlphaF(0.45);
    }
    p->save();
    p->setRenderHint(QPainter::Antialiasing);
    const QRectF r = QRectF(rect).adjusted(rect.width() * 0.18, rect.height() * 0.18,
                                           -rect.width() * 0.18, -rect.height() * 0.18);
    switch (glyph_) {
      case Glyph::Play: {
        QPainterPath path;
        path.moveTo(r.left() + r.width() * 0.1, r.top());
        path.lineTo(r.right(), r.center().y());
        path.lineTo(r.left() + r.width() * 0.1, r.bottom());
        path.closeSubpath();
        p->fillPath(path, mode == QIcon::Disabled || color_.isValid() ? c : okabe_ito::kGreen);
        break;
      }
      case Glyph::Pause: {
        const qreal w = r.width() * 0.32;
        p->fillRect(QRectF(r.left() + r.width() * 0.08, r.top(), w, r.height()), c);
        p->fillRect(QRectF(r.right() - r.width() * 0.08 - w, r.top(), w, r.height()), c);
        break;
      }
      case Glyph::Stop: {
        const QColor stop =
            mode == QIcon::Disabled || color_.isValid() ? c : okabe_ito::kVermillion;
        p->fillRect(
            r.adjusted(r.width() * 0.06, r.height() * 0.06, -r.width() * 0.06, -r.height() * 0.06),
            stop);
        break;
      }
      case Glyph::Compare: {
        // Three falling curves, one per policy colour.
        const QColor colors[] = {okabe_ito::kBlue, okabe_ito::kOrange, okabe_ito::kGreen};
        for (int i = 0; i < 3; ++i) {
          QColor lc = colors[i];
          if (mode == QIcon::Disabled) lc.setAlphaF(0.4);
          QPen pen(lc, qMax<qreal>(1.2, rect.height() / 12.0));
          pen.setCapStyle(Qt::RoundCap);
          p->setPen(pen);
          const qreal off = r.height() * 0.16 * (i - 1);
          QPainterPath path;
          path.moveTo(r.left(), r.top() + r.height() * 0.25 + off);
          path.cubicTo(r.left() + r.width() * 0.3, r.bottom() - r.height() * 0.2 + off,
                       r.left() + r.width() * 0.6, r.bottom() - r.height() * 0.35 + off, r.right(),
                       r.bottom() - r.height() * 0.3 + off);
          p->drawPath(path);
        }
        break;
      }
      case Glyph::Dot:
        p->setPen(Qt::NoPen);
        p->setBrush(c);
        p->drawEllipse(r.center(), r.width() * 0.42, r.height() * 0.42);
        break;
      case Glyph::Triangle: {
        QPainterPath path;
        path.moveTo(r.center().x(), r.top());
        path.lineTo(r.right(), r.bottom());
        path.lineTo(r.left(), r.bottom());
        path.closeSubpath();
        p->fillPath(path, c);
        break;
      }
    }
    p->restore();
  }

  QPixmap pixmap(const QSize& size, QIcon::Mode mode, QIcon::State state) override {
    return scaledPixmap(size, mode, state, 1.0);
  }

  QPixmap scaledPixmap(const QSize& size, QIcon::Mode mode, QIcon::State state,
                       qreal scale) override {
    QPixmap pm(size * scale);
    pm.setDevicePixelRatio(scale);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    paint(&p, QRect(QPoint(0, 0), size), mode, state);
    return pm;
  }

  QIconEngine* clone() const override { return new GlyphIconEngine(glyph_, color_); }

 private:
  Glyph glyph_;
  QColor color_;
};

}  // namespace

QIcon glyphIcon(Glyph glyph, const QColor& color) {
  return QIcon(new GlyphIconEngine(glyph, color));
}

}  // namespace mantissa::ui
