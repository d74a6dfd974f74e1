#include "EventLog.hpp"

#include <QApplication>
#include <QScrollBar>
#include <QStyle>

#include "GlyphIcon.hpp"
#include "PolicyColors.hpp"

namespace mantissa::ui {

namespace {

QIcon iconFor(EventKind kind) {
  switch (kind) {
    case EventKind::Overflow:
      return glyphIcon(Glyph::Triangle, skippedStepColor());
    case EventKind::Warning:
      return QApplication::style()->standardIcon(QStyle::SP_MessageBoxWarning);
    case EventKind::Error:
      return QApplication::style()->standardIcon(QStyle::SP_MessageBoxCritical);
    case EventKind::Info:
      return QApplication::style()->standardIcon(QStyle::SP_MessageBoxInformation);
  }
  return {};
}

}  // namespace

EventLog::EventLog(QWidget* parent) : QListWidget(parent) {
  setSelectionMode(QAbstractItemView::ExtendedSelection);
  setUniformItemSizes(true);
  setAlternatingRowColors(true);
  setWordWrap(false);
  setToolTip(tr("Skipped steps, warnings and run milestones of the current run"));
}

void EventLog::addEvents(const QVector<RunEvent>& events) {
  const bool atBottom = verticalScrollBar()->value() == verticalScrollBar()->maximum();
  setUpdatesEnabled(false);
  for (const RunEvent& e : events) {
    QString tip = tr("step %1 · %2 s").arg(e.step).arg(e.wall_time_s, 0, 'f', 2);
    if (!e.tensor.empty()) tip += tr("\ntensor: %1").arg(QString::fromStdString(e.tensor));
    addLine(e.kind, QString::fromStdString(e.message), tip);
  }
  trim();
  setUpdatesEnabled(true);
  if (atBottom) scrollToBottom();
}

void EventLog::addMessage(EventKind kind, const QString& text) {
  const bool atBottom = verticalScrollBar()->value() == verticalScrollBar()->maximum();
  addLine(kind, text, QString());
  trim();
  if (atBottom) scrollToBottom();
}

void EventLog::addLine(EventKind kind, const QString& text, const QString& tooltip) {
  auto* item = new QListWidgetItem(iconFor(kind), text);
  if (!tooltip.isEmpty()) item->setToolTip(tooltip);
  item->setData(Qt::UserRole, int(kind));
  addItem(item);
}

void EventLog::trim() {
  while (count() > kMaxLines) delete takeItem(0);
}

QStringList EventLog::lines() const {
  QStringList out;
  for (int i = 0; i < count(); ++i) out << item(i)->text();
  return out;
}

}  // namespace mantissa::ui
