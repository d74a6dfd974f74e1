#pragma once
// A message bar shown inline where something went wrong (a project that does
// not open, a run that cannot start): icon, one selectable line, close button.
// Never modal; the window stays usable around it.
#include <QFrame>

class QLabel;
class QToolButton;

namespace mantissa::ui {

class InlineMessage : public QFrame {
  Q_OBJECT

 public:
  enum class Level { Information, Warning, Error };

  explicit InlineMessage(QWidget* parent = nullptr);

  void showMessage(const QString& text, Level level = Level::Error);
  QString text() const;
  Level level() const { return level_; }

 private:
  QLabel* icon_;
  QLabel* text_;
  QToolButton* close_;
  Level level_ = Level::Information;
};

}  // namespace mantissa::ui
