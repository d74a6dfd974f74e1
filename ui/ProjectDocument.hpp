#pragma once
// The project being edited: the Project struct, where it lives on disk, its
// analysed model, and the undo history of every edit made in the studio.
#include <QObject>
#include <QString>
#include <optional>

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
  // every part that can be inferred, and every problem on its layer.
  const mantissa::ModelDiagnosis& diagnosis() const { return diagnosis_; }

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
  // An undoable change of the dataset the project trains on.
  void editDataset(const mantissa::DatasetSpec& spec);
  // Replaces the model and re-analyses it; ModelEditCommand calls it so that
  // every model edit is undoable. Emits modelChanged().
  void applyModel(const mantissa::ModelSpec& model);

 signals:
  void projectReplaced();  // new, open: everything changed
  void trainingChanged();  // an edit, undo or redo of the training settings
  void modelChanged();     // an edit, undo or redo of the model graph
  void datasetChanged();   // an edit, undo or redo of the dataset
  void modifiedChanged(bool modified);
  void filePathChanged(const QString& path);
  // load() opened exported weights: runs should start from them.
  void weightsOpened(const QString& file);

 private:
  friend class TrainingEditCommand;
  friend class DatasetEditCommand;
  void applyTraining(const mantissa::TrainingSpec& spec);
  void applyDataset(const mantissa::DatasetSpec& spec);
  void analyze();

  mantissa::Project project_;
  QString filePath_;
  std::optional<mantissa::ModelSummary> summary_;
  QString modelError_;
  mantissa::ModelDiagnosis diagnosis_;
  QUndoStack* undo_;
};

}  // namespace mantissa::ui
