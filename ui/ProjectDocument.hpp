#pragma once
// The project being edited: the Project struct, where it lives on disk, its
// analysed model, and the undo history of every edit made in the studio.
#include <QObject>
#include <QString>
#include <optional>

#include "mantissa/data.hpp"
#include "mantissa/model.hpp"

class QUndoStack;

namespace mantissa::ui {

class ProjectDocument : public QObject {
  Q_OBJECT

 public:
  explicit ProjectDocument(QObject* parent = nullptr);

  const mantissa::Project& project() const { return project_; }
  const mantissa::TrainingSpec& training() const { return project_.training; }
  // Empty for a project that was never saved.
  const QString& filePath() const { return filePath_; }
  QString displayName() const;
  bool isModified() const;
  QUndoStack* undoStack() const { return undo_; }

  // The model as analyze_model() sees it; unset when the model has an error.
  const std::optional<mantissa::ModelSummary>& summary() const { return summary_; }
  const QString& modelError() const { return modelError_; }
  // The model as the builder shows it while it is unfinished: the shapes of
  // every part that can be inferred, and every problem on its layer, the
  // dataset's misfits (dataset_fit_problems) among them.
  const mantissa::ModelDiagnosis& diagnosis() const { return diagnosis_; }
  // The model's own problems, without the dataset's.
  const mantissa::ModelDiagnosis& modelDiagnosis() const { return modelDiagnosis_; }

  // What the project's dataset gives per sample, kept so that every model
  // edit is checked against it without reading the dataset again: the split
  // the Data page loaded when it applied it, else the headers of its files.
  // Unset when those cannot be read; datasetShapeError() then says why.
  const std::optional<mantissa::DatasetShape>& datasetShape() const {
    return dataset_.shape;
  }
  const QString& datasetShapeError() const { return dataset_.error; }
  // The folder relative dataset paths are taken from, as Train takes them.
  std::filesystem::path datasetBaseDir() const;

  // Replace the whole document. load() takes a project file or exported
  // weights that carry their project (weightsOpened() follows). It leaves the document untouched and
  // returns the one-line reason when the file cannot be used.
  std::optional<QString> load(const QString& path);
  void reset(const mantissa::Project& project, const QString& path = {});
  // Writes project_to_json(); returns the reason on failure.
  std::optional<QString> saveAs(const QString& path);

  // An undoable edit of the training settings. A `continuous` edit (a spin
  // box stepping) merges with the edit before it when that was a continuous
  // edit of the same field, so one drag of a value is one undo step.
  void editTraining(const mantissa::TrainingSpec& spec, const QString& field,
                    bool continuous = false);
  // An undoable change of the dataset the project trains on. `loaded` is the
  // shape of `spec` when the caller has loaded it; otherwise the headers of
  // its files are read now (once: undo and redo restore what was known).
  void editDataset(const mantissa::DatasetSpec& spec,
                   std::optional<mantissa::DatasetShape> loaded = std::nullopt);
  // Replaces the model and re-analyses it; ModelEditCommand calls it so that
  // every model edit is undoable. Emits modelChanged().
  void applyModel(const mantissa::ModelSpec& model);

 signals:
  void projectReplaced();  // new, open: everything changed
  void trainingChanged();  // an edit, undo or redo of the training settings
  // An edit, undo or redo of the model graph, or of the dataset when that
  // changes what diagnosis() says.
  void modelChanged();
  void datasetChanged();  // an edit, undo or redo of the dataset
  void modifiedChanged(bool modified);
  void filePathChanged(const QString& path);
  // load() opened exported weights: runs should start from them.
  void weightsOpened(const QString& file);

 public:
  // The dataset and what is known of it, as one undo step restores them.
  struct DatasetState {
    mantissa::DatasetSpec spec;
    std::optional<mantissa::DatasetShape> shape;
    QString error;  // why shape is unset
  };

 private:
  friend class TrainingEditCommand;
  friend class DatasetEditCommand;
  void applyTraining(const mantissa::TrainingSpec& spec);
  void applyDataset(const DatasetState& state);
  DatasetState peekDataset(const mantissa::DatasetSpec& spec) const;
  void analyze();
  // diagnosis_ from modelDiagnosis_ and the dataset's shape; true if it changed.
  bool diagnoseDataset();

  mantissa::Project project_;
  QString filePath_;
  std::optional<mantissa::ModelSummary> summary_;
  QString modelError_;
  mantissa::ModelDiagnosis modelDiagnosis_;  // the model's own problems
  mantissa::ModelDiagnosis diagnosis_;       // and the dataset's
  DatasetState dataset_;                     // spec mirrors project_.dataset
  QUndoStack* undo_;
};

}  // namespace mantissa::ui
