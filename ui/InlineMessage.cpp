#include "InlineMessage.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

#include "PolicyColors.hpp"

namespace mantissa::ui {

InlineMessage::InlineMessage(QWidget* parent)
    : QFrame(parent),
      icon_(new QLabel(this)),
      text_(new QLabel(this)),
      close_(new QToolButton(this)) {
  setFrameShape(QFrame::StyledPanel);
  setAutoFillBackground(true);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(8, 4, 4, 4);
  layout->addWidget(icon_, 0, Qt::AlignTop);
  text_->setWordWrap(true);
  text_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  text_->setTextFormat(Qt::PlainText);
  layout->addWidget(text_, 1);
  close_->setAutoRaise(true);
  close_->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
  close_->setToolTip(tr("Dismiss"));
  layout->addWidget(close_, 0, Qt::AlignTop);
  connect(close_, &QToolButton::clicked, this, &QWidget::hide);
  hide();
}

void InlineMessage::showMessage(const QString& text, Level level) {
  level_ = level;
  const QStyle::StandardPixmap sp = level == Level::Error     ? QStyle::SP_MessageBoxCritical
                                    : level == Level::Warning ? QStyle::SP_MessageBoxWarning
                                                              : QStyle::SP_MessageBoxInformation;
  const int size = style()->pixelMetric(QStyle::PM_SmallIconSize, nullptr, this);
  icon_->setPixmap(style()->standardIcon(sp).pixmap(size, size));
  text_->setText(text);
  // A tint of the window colour towards the level's colour keeps the text
  // readable in light and dark palettes.
  QPalette pal = parentWidget() ? parentWidget()->palette() : palette();
  const QColor base = pal.color(QPalette::Window);
  const QColor accent = level == Level::Error     ? okabe_ito::kVermillion
                        : level == Level::Warning ? okabe_ito::kOrange
                                                  : okabe_ito::kSkyBlue;
  QColor tint;
  tint.setRgbF(base.redF() * 0.82 + accent.redF() * 0.18,
               base.greenF() * 0.82 + accent.greenF() * 0.18,
               base.blueF() * 0.82 + accent.blueF() * 0.18);
  pal.setColor(QPalette::Window, tint);
  setPalette(pal);
  show();
}

QString InlineMessage::text() const {
  return text_->text();
}

}  // namespace mantissa::ui
