// The window's page keys: Ctrl+Tab / Ctrl+PgDn to the next page, Ctrl+Shift+Tab
// / Ctrl+PgUp to the previous one, Alt+1…4 straight to a page. They live in
// the View menu, so they are found as well as pressed.
#include <QAction>
#include <QMenu>
#include <QTabWidget>

#include "MainWindow.hpp"

namespace mantissa::ui {

void MainWindow::addPageKeys(QMenu* view) {
  view->addSeparator();
  auto step = [this](int delta) {
    const int n = tabs_->count();
    if (n > 0) tabs_->setCurrentIndex((tabs_->currentIndex() + delta + n) % n);
  };
  auto* next = view->addAction(tr("&Next Page"), this, [step] { step(+1); });
  next->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Tab),
                      QKeySequence(Qt::CTRL | Qt::Key_PageDown)});
  next->setObjectName(QStringLiteral("nextPage"));
  auto* previous = view->addAction(tr("&Previous Page"), this, [step] { step(-1); });
  previous->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Backtab),
                          QKeySequence(Qt::CTRL | Qt::Key_PageUp)});
  previous->setObjectName(QStringLiteral("previousPage"));
  for (int i = 0; i < tabs_->count() && i < 9; ++i) {
    auto* go = view->addAction(tabs_->tabText(i), this, [this, i] { tabs_->setCurrentIndex(i); });
    go->setShortcut(QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + i)));
    go->setObjectName(QStringLiteral("page%1").arg(i + 1));
  }
  // Ctrl+Tab would otherwise go to whatever widget has the focus first.
  for (QAction* a : view->actions()) a->setShortcutContext(Qt::WindowShortcut);
}

}  // namespace mantissa::ui
