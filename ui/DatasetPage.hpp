#pragma once
// The Data page: picks the current project's dataset, has the dataset
// service (services/DatasetService.hpp) load it on a worker and shows what
// came out (shapes, split sizes, class balance and a preview of the first
// samples). Apply writes the spec into the document.
#include <QWidget>

#include "mantissa/data.hpp"
#include "mantissa/model.hpp"
#include "services/DatasetService.hpp"

class QComboBox;
class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTableWidget;
class QCustomPlot;

namespace mantissa::ui {

class ProjectDocument;

class DatasetPage : public QWidget {
  Q_OBJECT

 public:
  explicit DatasetPage(ProjectDocument* document, QWidget* parent = nullptr);
  ~DatasetPage() override;

  mantissa::DatasetSpec spec() const;
  void setSpec(const mantissa::DatasetSpec& spec);

  // Loads spec() on the service's worker; loaded() or loadFailed() follows
  // (for the newest load only).
  void load();
  // Writes spec() into the document.
  void apply();

  bool isLoading() const { return loading_; }
  const DatasetSplitPtr& split() const { return split_; }  // null until loaded
  QString errorText() const;
  QString summaryText() const;
  QTableWidget* previewTable() const { return table_; }
  QListWidget* previewImages() const { return images_; }
  QComboBox* labelColumnCombo() const { return labelColumn_; }
  // Reads the header of a CSV file (on the service's worker) into the label
  // column combo; labelColumnsFilled follows.
  void fillLabelColumns(const QString& csvFile);

 signals:
  void loaded();
  void loadFailed(const QString& message);
  void labelColumnsFilled();

 private:
  void buildUi();
  void syncFromDocument();
  void updateKind();
  void showLoaded(const DatasetSplitPtr& split);
  void showLoadFailure(const QString& message);
  void showLabelColumns(const QStringList& columns);
  void showSplit();
  void pickFile(QLineEdit* edit, const QString& filter);

  ProjectDocument* document_;
  QComboBox* kind_ = nullptr;
  QStackedWidget* params_ = nullptr;
  QSpinBox* samples_ = nullptr;
  QSpinBox* classes_ = nullptr;
  QDoubleSpinBox* noise_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QLineEdit* images_path_ = nullptr;
  QLineEdit* labels_path_ = nullptr;
  QLineEdit* csv_path_ = nullptr;
  QComboBox* labelColumn_ = nullptr;
  QCheckBox* normalize_ = nullptr;
  QDoubleSpinBox* validation_ = nullptr;
  QPushButton* loadButton_ = nullptr;
  QPushButton* applyButton_ = nullptr;
  QLabel* error_ = nullptr;
  QLabel* summary_ = nullptr;
  QCustomPlot* balance_ = nullptr;
  QStackedWidget* preview_ = nullptr;
  QListWidget* images_ = nullptr;
  QTableWidget* table_ = nullptr;

  DatasetService* service_;
  DatasetSplitPtr split_;
  bool loading_ = false;
};

}  // namespace mantissa::ui
