#pragma once
// The Data page: picks the current project's dataset, has the dataset
// service (services/DatasetService.hpp) load it on a worker and shows what
// came out (shapes, split sizes, class balance and a preview of the first
// samples). While the fields change it has the service read the files'
// headers, to name a CSV file's columns and to say, next to Apply, whether
// the dataset fits the project's model. Apply writes the spec into the
// document; OK applies and asks to close, Cancel asks to close without.
#include <QWidget>
#include <optional>

#include "mantissa/data.hpp"
#include "mantissa/model.hpp"
#include "services/DatasetService.hpp"

class QComboBox;
class QCheckBox;
class QDialogButtonBox;
class QTimer;
class QDoubleSpinBox;
class QFormLayout;
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
  // Shows the project's dataset: edits not applied, and the preview of any
  // other dataset, are dropped. Done on opening and whenever the project's
  // dataset changes (a new project, an undo).
  void showProjectDataset();

  // Loads spec() on the service's worker; loaded() or loadFailed() follows
  // (for the newest load only).
  void load();
  // Writes spec() into the document, with its shape when it was loaded or
  // its headers read here, so that the document need not read them again.
  void apply();

  bool isLoading() const { return loading_; }
  const DatasetSplitPtr& split() const { return split_; }  // null until loaded
  QString errorText() const;
  QString summaryText() const;
  QTableWidget* previewTable() const { return table_; }
  QListWidget* previewImages() const { return images_; }
  QComboBox* labelColumnCombo() const { return labelColumn_; }
  QComboBox* kindCombo() const { return kind_; }
  QLineEdit* imageFolderEdit() const { return image_folder_; }
  QSpinBox* cropPaddingBox() const { return cropPadding_; }
  QCheckBox* flipBox() const { return flip_; }
  QLineEdit* csvPathEdit() const { return csv_path_; }
  QDialogButtonBox* buttonBox() const { return buttons_; }
  // Next to Apply: whether spec() fits the project's model, or why it does
  // not; empty while that is not known yet.
  QString fitText() const;
  bool fitIsProblem() const { return fitProblem_; }
  // Reads the header of a CSV file (on the service's worker) into the label
  // column combo; labelColumnsFilled follows.
  void fillLabelColumns(const QString& csvFile);

 signals:
  void loaded();
  void loadFailed(const QString& message);
  void labelColumnsFilled();
  void fitUpdated();
  void accepted();  // OK: applied; the window may close
  void rejected();  // Cancel: nothing applied

 private:
  void buildUi();
  void syncFromDocument();
  void updateKind();
  void showLoaded(const DatasetSplitPtr& split);
  void showLoadFailure(const QString& message);
  void showLabelColumns(const QString& csvFile, const QStringList& columns);
  void showSplit();
  void clearPreview();
  void labelTableColumns();
  void pickFile(QLineEdit* edit, const QString& filter);
  void pickFolder(QLineEdit* edit);
  // Sets the pictures' channels and size to the model's C×H×W Input.
  void matchModelInput();
  std::uint64_t trainingSeed() const;
  QString resolvedPath(const QString& file) const;
  std::filesystem::path baseDir() const;
  // Reads the headers of spec()'s files (shortly after the last change).
  void scheduleRefresh();
  void refresh();
  std::optional<mantissa::DatasetShape> knownShape(const mantissa::DatasetSpec& s) const;
  void updateFit();

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
  QLineEdit* csv_validation_path_ = nullptr;
  QLineEdit* text_path_ = nullptr;
  QLineEdit* text_validation_path_ = nullptr;
  QSpinBox* context_ = nullptr;
  QLineEdit* image_folder_ = nullptr;
  QLineEdit* image_validation_folder_ = nullptr;
  QComboBox* channels_ = nullptr;
  QSpinBox* height_ = nullptr;
  QSpinBox* width_ = nullptr;
  QSpinBox* cropPadding_ = nullptr;
  QCheckBox* flip_ = nullptr;
  QFormLayout* common_ = nullptr;
  QComboBox* labelColumn_ = nullptr;
  QCheckBox* normalize_ = nullptr;
  QDoubleSpinBox* validation_ = nullptr;
  QPushButton* loadButton_ = nullptr;
  QDialogButtonBox* buttons_ = nullptr;
  QLabel* fit_ = nullptr;
  bool fitProblem_ = false;
  QTimer* refreshTimer_ = nullptr;
  QLabel* error_ = nullptr;
  QLabel* summary_ = nullptr;
  QCustomPlot* balance_ = nullptr;
  QStackedWidget* preview_ = nullptr;
  QListWidget* images_ = nullptr;
  QTableWidget* table_ = nullptr;

  DatasetService* service_;
  DatasetSplitPtr split_;
  std::optional<mantissa::DatasetSpec> loadedSpec_;  // what split_ was loaded from
  mantissa::DatasetSpec loadingSpec_;
  quint64 loadRequest_ = 0;  // answers to other loads are dropped
  bool loading_ = false;
  // The newest header read: the spec it was for and its answer.
  struct Peek {
    mantissa::DatasetSpec spec;
    std::optional<mantissa::DatasetShape> shape;
    QString error;
  };
  std::optional<Peek> peek_;
  mantissa::DatasetSpec peeking_;
  QString csvColumnsFile_;  // the file csvColumns_ name, resolved
  QStringList csvColumns_;
};

}  // namespace mantissa::ui
