#pragma once
// Edit ▸ Connect Selected To…: connecting layers from the keyboard. A search
// field over the layers the selected one can feed; Up and Down move in the
// list while the field keeps the focus, Enter connects to the current one.
#include <QDialog>
#include <QStringList>

#include "mantissa/model.hpp"

class QLineEdit;
class QListWidget;

namespace mantissa::ui {

class ConnectDialog : public QDialog {
  Q_OBJECT

 public:
  ConnectDialog(const ModelSpec& model, const QString& from, QWidget* parent = nullptr);

  // The layers `from` can feed: not itself, not one it already feeds, not an
  // Input, and not one it depends on (that edge would close a cycle). In the
  // model's order.
  static QStringList targets(const ModelSpec& model, const QString& from);

  QLineEdit* searchBox() const { return search_; }
  QListWidget* list() const { return list_; }
  QString from() const { return from_; }
  // The layer picked when accepted; empty otherwise.
  QString chosen() const { return chosen_; }

 signals:
  void connectRequested(const QString& from, const QString& to);

 private:
  bool eventFilter(QObject* watched, QEvent* event) override;
  void applyFilter(const QString& text);
  void choose();

  QString from_;
  QString chosen_;
  QLineEdit* search_;
  QListWidget* list_;
};

}  // namespace mantissa::ui
