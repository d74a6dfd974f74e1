#include "LayerPalette.hpp"

#include <QDrag>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLineEdit>
#include <QMimeData>
#include <QScrollBar>
#include <QStyle>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <QVBoxLayout>

#include "Format.hpp"
#include "ModelEdits.hpp"
#include "mantissa/layer_descriptor.hpp"

namespace mantissa::ui {

namespace {

constexpr int kKindRole = Qt::UserRole + 1;

// Starts a drag carrying the kind's name instead of Qt's item-model payload.
class PaletteTree : public QTreeWidget {
 public:
  using QTreeWidget::QTreeWidget;

 protected:
  void startDrag(Qt::DropActions) override {
    QTreeWidgetItem* item = currentItem();
    if (!item || !item->data(0, kKindRole).isValid()) return;
    auto* mime = new QMimeData;
    mime->setData(LayerPalette::mimeType(), item->data(0, kKindRole).toString().toUtf8());
    mime->setText(item->data(0, kKindRole).toString());
    auto* drag = new QDrag(this);
    drag->setMimeData(mime);
    drag->exec(Qt::CopyAction);
  }
};

}  // namespace

QString LayerPalette::mimeType() {
  return QStringLiteral("application/x-mantissa-layer-kind");
}

LayerPalette::LayerPalette(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  search_ = new QLineEdit(this);
  search_->setPlaceholderText(tr("Search layers"));
  search_->setClearButtonEnabled(true);
  search_->installEventFilter(this);
  layout->addWidget(search_);
  tree_ = new PaletteTree(this);
  tree_->setHeaderHidden(true);
  tree_->setDragEnabled(true);
  tree_->setDragDropMode(QAbstractItemView::DragOnly);
  tree_->setRootIsDecorated(true);
  layout->addWidget(tree_, 1);

  for (const QString& group : model_edits::groupNames()) {
    auto* g = new QTreeWidgetItem(tree_, {group});
    g->setFlags(Qt::ItemIsEnabled);
    QFont f = g->font(0);
    f.setBold(true);
    g->setFont(0, f);
    for (const LayerDescriptor* d : all_descriptors()) {
      if (fromView(d->category) != group) continue;
      auto* item = new QTreeWidgetItem(g, {fromView(d->name)});
      item->setData(0, kKindRole, fromView(d->name));
      item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsDragEnabled);
      item->setToolTip(0, fromView(d->help) + QLatin1Char('\n') +
                              tr("Drag onto the canvas, or double-click to add"));
    }
  }
  tree_->expandAll();
  // The dock may be narrowed, but not past the longest kind's name: a
  // palette of "Inpu" and "Batc" is no palette.
  tree_->setMinimumWidth(static_cast<QAbstractItemView*>(tree_)->sizeHintForColumn(0) +
                         2 * tree_->frameWidth() +
                         tree_->style()->pixelMetric(QStyle::PM_ScrollBarExtent));

  connect(search_, &QLineEdit::textChanged, this, &LayerPalette::applyFilter);
  connect(tree_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* item) {
    if (!item) return;
    const QVariant v = item->data(0, kKindRole);
    if (!v.isValid()) return;
    if (auto k = parse_layer_kind(v.toString().toStdString())) emit layerRequested(*k);
  });
}

bool LayerPalette::eventFilter(QObject* watched, QEvent* event) {
  if (watched == search_ && event->type() == QEvent::KeyPress &&
      static_cast<QKeyEvent*>(event)->key() == Qt::Key_Down) {
    // Into the list, on the first kind shown (group headings are not kinds).
    for (QTreeWidgetItemIterator it(tree_, QTreeWidgetItemIterator::NotHidden); *it; ++it) {
      if (!(*it)->data(0, kKindRole).isValid()) continue;
      tree_->setCurrentItem(*it);
      tree_->scrollToItem(*it);
      tree_->setFocus(Qt::TabFocusReason);
      return true;
    }
    return true;
  }
  return QWidget::eventFilter(watched, event);
}

void LayerPalette::applyFilter(const QString& text) {
  const QString needle = text.trimmed();
  for (int i = 0; i < tree_->topLevelItemCount(); ++i) {
    QTreeWidgetItem* g = tree_->topLevelItem(i);
    const bool groupHit = !needle.isEmpty() && g->text(0).contains(needle, Qt::CaseInsensitive);
    int shown = 0;
    for (int j = 0; j < g->childCount(); ++j) {
      QTreeWidgetItem* c = g->child(j);
      const bool hit =
          needle.isEmpty() || groupHit || c->text(0).contains(needle, Qt::CaseInsensitive);
      c->setHidden(!hit);
      shown += hit ? 1 : 0;
    }
    g->setHidden(shown == 0);
  }
}

QStringList LayerPalette::visibleKinds() const {
  QStringList out;
  for (int i = 0; i < tree_->topLevelItemCount(); ++i) {
    QTreeWidgetItem* g = tree_->topLevelItem(i);
    if (g->isHidden()) continue;
    for (int j = 0; j < g->childCount(); ++j)
      if (!g->child(j)->isHidden()) out << g->child(j)->text(0);
  }
  return out;
}

}  // namespace mantissa::ui
