#pragma once
// The Layers dock: every layer kind, grouped as UI.md lists them, with a
// search box. Drag a kind onto the model canvas, or double-click it to add it;
// from the keyboard, Down in the search box goes to the first kind shown and
// Enter adds the current one.
#include <QWidget>

#include "mantissa/model.hpp"

class QLineEdit;
class QTreeWidget;
class QTreeWidgetItem;

namespace mantissa::ui {

class LayerPalette : public QWidget {
  Q_OBJECT

 public:
  explicit LayerPalette(QWidget* parent = nullptr);

  // The MIME type of a dragged kind; the data is the kind's project-file name.
  static QString mimeType();

  QLineEdit* searchBox() const { return search_; }
  QTreeWidget* tree() const { return tree_; }
  // Kinds shown under the current filter.
  QStringList visibleKinds() const;

 signals:
  void layerRequested(mantissa::LayerKind kind);  // double-click or Enter

 private:
  bool eventFilter(QObject* watched, QEvent* event) override;
  void applyFilter(const QString& text);

  QLineEdit* search_;
  QTreeWidget* tree_;
};

}  // namespace mantissa::ui
