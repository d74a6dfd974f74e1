#pragma once
// The Events dock: one line per run event (skipped steps with tensor and scale
// change, warnings, errors) and per run milestone, newest at the bottom.
#include <QListWidget>
#include <QVector>

#include "MetricTypes.hpp"

namespace mantissa::ui {

class EventLog : public QListWidget {
  Q_OBJECT

 public:
  explicit EventLog(QWidget* parent = nullptr);

  static constexpr int kMaxLines = 20000;  // oldest lines go first past this

  void addEvents(const QVector<mantissa::RunEvent>& events);
  void addMessage(mantissa::EventKind kind, const QString& text);
  QStringList lines() const;

 private:
  void addLine(mantissa::EventKind kind, const QString& text, const QString& tooltip);
  void trim();
};

}  // namespace mantissa::ui
