#include "ConnectDialog.hpp"

#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSet>
#include <QVBoxLayout>
#include <algorithm>

#include "ModelEdits.hpp"

namespace mantissa::ui {

namespace {

constexpr int kIdRole = Qt::UserRole + 1;

const LayerSpec* layerOf(const ModelSpec& model, const QString& id) {
  const int i = model_edits::indexOf(model, id.toStdString());
  return i < 0 ? nullptr : &model.layers[std::size_t(i)];
}

// Every layer `id` reads from, directly or through others.
QSet<QString> ancestorsOf(const ModelSpec& model, const QString& id) {
  QSet<QString> seen;
  QStringList toVisit{id};
  while (!toVisit.isEmpty()) {
    const LayerSpec* l = layerOf(model, toVisit.takeLast());
    if (l == nullptr) continue;
    for (const std::string& in : l->inputs) {
      const QString q = QString::fromStdString(in);
      if (!seen.contains(q)) {
        seen.insert(q);
        toVisit << q;
      }
    }
  }
  return seen;
}

}  // namespace

QStringList ConnectDialog::targets(const ModelSpec& model, const QString& from) {
  if (layerOf(model, from) == nullptr) return {};
  const QSet<QString> upstream = ancestorsOf(model, from);
  const std::string f = from.toStdString();
  QStringList out;
  for (const LayerSpec& l : model.layers) {
    const QString id = QString::fromStdString(l.id);
    if (id == from || upstream.contains(id) || model_edits::takesNoInput(l.kind)) continue;
    if (std::find(l.inputs.begin(), l.inputs.end(), f) != l.inputs.end()) continue;
    out << id;
  }
  return out;
}

ConnectDialog::ConnectDialog(const ModelSpec& model, const QString& from, QWidget* parent)
    : QDialog(parent), from_(from) {
  setWindowTitle(tr("Connect %1 To").arg(from));
  auto* layout = new QVBoxLayout(this);
  auto* heading = new QLabel(tr("Feed the output of <b>%1</b> into:").arg(from.toHtmlEscaped()),
                             this);
  layout->addWidget(heading);
  search_ = new QLineEdit(this);
  search_->setObjectName(QStringLiteral("connectSearch"));
  search_->setPlaceholderText(tr("Search layers"));
  search_->setClearButtonEnabled(true);
  search_->installEventFilter(this);
  heading->setBuddy(search_);
  layout->addWidget(search_);
  list_ = new QListWidget(this);
  list_->setObjectName(QStringLiteral("connectTargets"));
  list_->setFocusPolicy(Qt::NoFocus);  // the search field keeps the keys
  layout->addWidget(list_, 1);
  auto* none = new QLabel(this);
  none->setObjectName(QStringLiteral("connectNone"));
  none->setWordWrap(true);
  none->setEnabled(false);
  layout->addWidget(none);

  for (const QString& id : targets(model, from)) {
    const LayerSpec& l = *layerOf(model, id);
    QString text = id + QStringLiteral("  —  ") + model_edits::describe(l);
    // A single-input layer gives up the input it has.
    if (!model_edits::takesManyInputs(l.kind) && !l.inputs.empty())
      text += tr("  (instead of %1)").arg(QString::fromStdString(l.inputs.front()));
    auto* item = new QListWidgetItem(text, list_);
    item->setData(kIdRole, id);
  }

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  QPushButton* ok = buttons->button(QDialogButtonBox::Ok);
  ok->setText(tr("Connect"));
  ok->setDefault(true);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &ConnectDialog::choose);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(list_, &QListWidget::itemActivated, this, &ConnectDialog::choose);
  connect(list_, &QListWidget::currentItemChanged, this,
          [ok](QListWidgetItem* current) { ok->setEnabled(current && !current->isHidden()); });
  connect(search_, &QLineEdit::textChanged, this, [this, none, from](const QString& text) {
    applyFilter(text);
    bool any = false;
    for (int i = 0; i < list_->count() && !any; ++i) any = !list_->item(i)->isHidden();
    none->setText(list_->count() == 0 ? tr("No layer can take the output of %1.").arg(from)
                                      : tr("No layer matches."));
    none->setVisible(!any);
  });
  emit search_->textChanged(QString());
  search_->setFocus();
  resize(360, 320);
}

bool ConnectDialog::eventFilter(QObject* watched, QEvent* event) {
  if (watched == search_ && event->type() == QEvent::KeyPress) {
    switch (static_cast<QKeyEvent*>(event)->key()) {
      case Qt::Key_Up:
      case Qt::Key_Down:
      case Qt::Key_PageUp:
      case Qt::Key_PageDown:
        QCoreApplication::sendEvent(list_, event);
        return true;
      default:
        break;
    }
  }
  return QDialog::eventFilter(watched, event);
}

void ConnectDialog::applyFilter(const QString& text) {
  const QString needle = text.trimmed();
  QListWidgetItem* first = nullptr;
  for (int i = 0; i < list_->count(); ++i) {
    QListWidgetItem* item = list_->item(i);
    const bool hit = needle.isEmpty() || item->text().contains(needle, Qt::CaseInsensitive);
    item->setHidden(!hit);
    if (hit && first == nullptr) first = item;
  }
  QListWidgetItem* current = list_->currentItem();
  if (current == nullptr || current->isHidden()) list_->setCurrentItem(first);
  if (first == nullptr) list_->setCurrentItem(nullptr);
}

void ConnectDialog::choose() {
  QListWidgetItem* item = list_->currentItem();
  if (item == nullptr || item->isHidden()) return;
  chosen_ = item->data(kIdRole).toString();
  emit connectRequested(from_, chosen_);
  accept();
}

}  // namespace mantissa::ui
