#include "ClusterCommandDialog.hpp"

#include <unistd.h>

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "mantissa/launch.hpp"

namespace mantissa::ui {

namespace {
QString hostName() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return QString::fromLocal8Bit(name);
}
}  // namespace

ClusterCommandDialog::ClusterCommandDialog(const QString& projectFile, const QString& database,
                                           const QString& policy, QWidget* parent)
    : QDialog(parent), project_(projectFile), database_(database), policy_(policy) {
  setWindowTitle(tr("Command Line for Several Machines"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      tr("Train this project data-parallel on a cluster. Every machine needs Mantissa and the "
         "dataset at the same path; rank 0 writes the run into <b>%1</b>, so that file must be "
         "on a file system its machine reaches. The run appears in History.")
          .arg(database.toHtmlEscaped()),
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);
  auto* form = new QFormLayout;
  nodes_ = new QSpinBox(this);
  nodes_->setRange(1, 4096);
  nodes_->setValue(2);
  perNode_ = new QSpinBox(this);
  perNode_->setRange(1, 64);
  perNode_->setValue(4);
  form->addRow(tr("Machines:"), nodes_);
  form->addRow(tr("Processes per machine:"), perNode_);
  const auto commandRow = [&](const QString& label, QLineEdit*& edit) {
    auto* row = new QHBoxLayout;
    edit = new QLineEdit(this);
    edit->setReadOnly(true);
    edit->setMinimumWidth(640);
    auto* copy = new QPushButton(tr("Copy"), this);
    connect(copy, &QPushButton::clicked, this,
            [edit] { QApplication::clipboard()->setText(edit->text()); });
    row->addWidget(edit, 1);
    row->addWidget(copy);
    form->addRow(label, row);
  };
  commandRow(tr("Slurm (in an allocation):"), srun_);
  commandRow(tr("torchrun (on every machine):"), torchrun_);
  layout->addLayout(form);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(buttons);
  connect(nodes_, &QSpinBox::valueChanged, this, &ClusterCommandDialog::refresh);
  connect(perNode_, &QSpinBox::valueChanged, this, &ClusterCommandDialog::refresh);
  refresh();
}

void ClusterCommandDialog::refresh() {
  const auto command = [&](ClusterLauncher l) {
    return QString::fromStdString(cluster_command(l, project_.toStdString(), database_.toStdString(),
                                                  policy_.toStdString(), nodes_->value(),
                                                  perNode_->value(), hostName().toStdString()));
  };
  srun_->setText(command(ClusterLauncher::Srun));
  torchrun_->setText(command(ClusterLauncher::Torchrun));
  srun_->setCursorPosition(0);  // the launcher's name in sight
  torchrun_->setCursorPosition(0);
}

QString ClusterCommandDialog::srunCommand() const { return srun_->text(); }
QString ClusterCommandDialog::torchrunCommand() const { return torchrun_->text(); }

}  // namespace mantissa::ui
