#pragma once
// The Layers dock until the palette of the model editor replaces it: the
// current project's layers, read-only, with a search field.
#include <QWidget>

#include "mantissa/model.hpp"

class QLineEdit;
class QListWidget;

namespace mantissa::ui {

class LayerListView : public QWidget {
  Q_OBJECT

 public:
  explicit LayerListView(QWidget* parent = nullptr);

  void setModel(const mantissa::ModelSpec& spec);
  QListWidget* list() const { return list_; }

 private:
  void applyFilter(const QString& text);

  QLineEdit* search_;
  QListWidget* list_;
};

}  // namespace mantissa::ui
