#include "LayerListView.hpp"

#include <QLineEdit>
#include <QListWidget>
#include <QVBoxLayout>

#include "Format.hpp"
#include "mantissa/layer_descriptor.hpp"

namespace mantissa::ui {

LayerListView::LayerListView(QWidget* parent)
    : QWidget(parent), search_(new QLineEdit(this)), list_(new QListWidget(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  search_->setPlaceholderText(tr("Search layers"));
  search_->setClearButtonEnabled(true);
  layout->addWidget(search_);
  list_->setToolTip(tr("Layers of the current project (read-only)"));
  layout->addWidget(list_, 1);
  connect(search_, &QLineEdit::textChanged, this, &LayerListView::applyFilter);
}

void LayerListView::setModel(const ModelSpec& spec) {
  list_->clear();
  for (const LayerSpec& l : spec.layers) {
    const QString detail = QString::fromStdString(layer_summary(l));
    QString text = QStringLiteral("%1 — %2").arg(QString::fromStdString(l.id),
                                                 fromView(layer_kind_name(l.kind)));
    if (!detail.isEmpty()) text += QStringLiteral(" (%1)").arg(detail);
    if (l.pin_fp32) text += tr("  [FP32]");
    list_->addItem(text);
  }
  applyFilter(search_->text());
}

void LayerListView::applyFilter(const QString& text) {
  for (int i = 0; i < list_->count(); ++i)
    list_->item(i)->setHidden(!text.isEmpty() &&
                              !list_->item(i)->text().contains(text, Qt::CaseInsensitive));
}

}  // namespace mantissa::ui
