#pragma once
// Run ▸ Command Line for Several Machines: the project as a data-parallel
// run on a cluster, as a ready `srun` or `torchrun` command line that
// reports into this studio's run database (docs/data-parallel.md).
#include <QDialog>

class QLineEdit;
class QSpinBox;

namespace mantissa::ui {

class ClusterCommandDialog : public QDialog {
  Q_OBJECT
 public:
  ClusterCommandDialog(const QString& projectFile, const QString& database, const QString& policy,
                       QWidget* parent = nullptr);
  QString srunCommand() const;
  QString torchrunCommand() const;

 private:
  void refresh();
  QString project_, database_, policy_;
  QSpinBox* nodes_ = nullptr;
  QSpinBox* perNode_ = nullptr;
  QLineEdit* srun_ = nullptr;
  QLineEdit* torchrun_ = nullptr;
};

}  // namespace mantissa::ui
