#pragma once
// The Data page: picks the current project's dataset, loads it on a worker
// thread and shows what came out (shapes, split sizes, class balance and a
// preview of the first samples). Apply writes the spec into the document.
#include <QWidget>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "WorkerThreads.hpp"
#include "mantissa/data.hpp"
#include "mantissa/model.hpp"

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

// A grayscale thumbnail of sample `row` when the dataset holds images
// (sample shape {C, H, W} or {H, W}); a null image otherwise.
QImage sampleThumbnail(const mantissa::Dataset& data, std::int64_t row, int size = 56);
bool isImageData(const mantissa::Dataset& data);

class DatasetPage : public QWidget {
  Q_OBJECT

 public:
  explicit DatasetPage(ProjectDocument* document, QWidget* parent = nullptr);
  ~DatasetPage() override;

  mantissa::DatasetSpec spec() const;
  void setSpec(const mantissa::DatasetSpec& spec);

  // Loads spec() on a worker thread; loaded() or loadFailed() follows.
  void load();
  // Writes spec() into the document.
  void apply();

  bool isLoading() const { return loading_; }
  const std::optional<mantissa::DatasetSplit>& split() const { return split_; }
  QString errorText() const;
  QString summaryText() const;
  QTableWidget* previewTable() const { return table_; }
  QListWidget* previewImages() const { return images_; }
  QComboBox* labelColumnCombo() const { return labelColumn_; }
  // Reads the header of a CSV file into the label column combo.
  void fillLabelColumns(const QString& csvFile);

 signals:
  void loaded();
  void loadFailed(const QString& message);

 private:
  struct Result {
    std::optional<mantissa::DatasetSplit> split;
    QString error;
  };
  void buildUi();
  void syncFromDocument();
  void updateKind();
  void finish(std::uint64_t generation, const std::shared_ptr<Result>& result);
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

  std::optional<mantissa::DatasetSplit> split_;
  std::uint64_t generation_ = 0;
  bool loading_ = false;
  WorkerThreads workers_;
};

}  // namespace mantissa::ui
