#include "ProjectDocument.hpp"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QUndoCommand>
#include <QUndoStack>
#include <algorithm>
#include <exception>

#include "mantissa/weights_io.hpp"

namespace mantissa::ui {

namespace {
int fieldId(const QString& field) {
  return int(qHash(field) & 0x3fffffff) + 1;
}
}  // namespace

// Undo step for one change of the training settings.
class TrainingEditCommand : public QUndoCommand {
 public:
  TrainingEditCommand(ProjectDocument* doc, TrainingSpec before, TrainingSpec after,
                      const QString& field, bool continuous)
      : doc_(doc),
        before_(std::move(before)),
        after_(std::move(after)),
        id_(continuous ? fieldId(field) : -1) {
    setText(QObject::tr("Change %1").arg(field));
  }
  void undo() override { doc_->applyTraining(before_); }
  void redo() override { doc_->applyTraining(after_); }
  int id() const override { return id_; }
  bool mergeWith(const QUndoCommand* other) override {
    if (other->id() != id_) return false;
    after_ = static_cast<const TrainingEditCommand*>(other)->after_;
    return true;
  }

 private:
  ProjectDocument* doc_;
  TrainingSpec before_, after_;
  int id_;
};

// Undo step for a change of dataset; it carries what was known of each
// dataset, so that undo and redo check the model without reading files.
class DatasetEditCommand : public QUndoCommand {
 public:
  using State = ProjectDocument::DatasetState;
  DatasetEditCommand(ProjectDocument* doc, State before, State after)
      : doc_(doc), before_(std::move(before)), after_(std::move(after)) {
    setText(QObject::tr("Change dataset"));
  }
  void undo() override { doc_->applyDataset(before_); }
  void redo() override { doc_->applyDataset(after_); }

 private:
  ProjectDocument* doc_;
  State before_, after_;
};

ProjectDocument::ProjectDocument(QObject* parent) : QObject(parent), undo_(new QUndoStack(this)) {
  connect(undo_, &QUndoStack::cleanChanged, this,
          [this](bool clean) { emit modifiedChanged(!clean); });
}

QString ProjectDocument::displayName() const {
  if (!project_.name.empty()) return QString::fromStdString(project_.name);
  if (!filePath_.isEmpty()) return QFileInfo(filePath_).completeBaseName();
  return tr("untitled");
}

bool ProjectDocument::isModified() const {
  return !undo_->isClean();
}

std::optional<QString> ProjectDocument::load(const QString& path) {
  try {
    std::optional<std::filesystem::path> weights;
    Project p = open_project(path.toStdString(), &weights);
    // Weights open as an untitled project, so that saving writes a project
    // file and never overwrites the weights.
    reset(p, weights ? QString() : path);
    if (weights) emit weightsOpened(path);
    return std::nullopt;
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
}

void ProjectDocument::reset(const Project& project, const QString& path) {
  project_ = project;
  filePath_ = path;
  dataset_ = peekDataset(project_.dataset);
  analyze();
  undo_->clear();
  undo_->setClean();
  emit filePathChanged(filePath_);
  emit projectReplaced();
  emit modifiedChanged(false);
}

std::optional<QString> ProjectDocument::saveAs(const QString& path) {
  std::string json;
  try {
    // Relative dataset paths are written relative to where the file goes.
    Project copy = project_;
    copy.file = path.toStdString();
    json = project_to_json(copy);
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
    return tr("%1: cannot write: %2").arg(path, file.errorString());
  file.write(json.data(), qint64(json.size()));
  if (!file.commit()) return tr("%1: cannot write: %2").arg(path, file.errorString());
  if (path != filePath_) {
    filePath_ = path;
    project_.file = path.toStdString();
    emit filePathChanged(filePath_);
  }
  undo_->setClean();
  return std::nullopt;
}

void ProjectDocument::editTraining(const TrainingSpec& spec, const QString& field,
                                   bool continuous) {
  undo_->push(new TrainingEditCommand(this, project_.training, spec, field, continuous));
}

void ProjectDocument::applyTraining(const TrainingSpec& spec) {
  project_.training = spec;
  emit trainingChanged();
}

void ProjectDocument::editDataset(const DatasetSpec& spec, std::optional<DatasetShape> loaded) {
  DatasetState after = loaded ? DatasetState{spec, std::move(loaded), {}} : peekDataset(spec);
  undo_->push(new DatasetEditCommand(this, dataset_, std::move(after)));
}

void ProjectDocument::applyDataset(const DatasetState& state) {
  project_.dataset = state.spec;
  dataset_ = state;
  const bool diagnosisChanged = diagnoseDataset();
  emit datasetChanged();
  if (diagnosisChanged) emit modelChanged();
}

std::filesystem::path ProjectDocument::datasetBaseDir() const {
  if (!filePath_.isEmpty()) return QFileInfo(filePath_).absolutePath().toStdString();
  return project_.file.empty() ? std::filesystem::path{} : project_.file.parent_path();
}

ProjectDocument::DatasetState ProjectDocument::peekDataset(const DatasetSpec& spec) const {
  DatasetState state{spec, std::nullopt, {}};
  try {
    state.shape = peek_dataset(spec, datasetBaseDir());
  } catch (const std::exception& e) {
    state.error = QString::fromUtf8(e.what());
  }
  return state;
}

bool ProjectDocument::diagnoseDataset() {
  ModelDiagnosis next = modelDiagnosis_;
  if (dataset_.shape)
    for (ModelProblem& p : dataset_fit_problems(*dataset_.shape, project_.model, modelDiagnosis_))
      next.problems.push_back(std::move(p));
  const auto sameProblems = [](const ModelDiagnosis& a, const ModelDiagnosis& b) {
    return a.problems.size() == b.problems.size() &&
           std::equal(a.problems.begin(), a.problems.end(), b.problems.begin(),
                      [](const ModelProblem& x, const ModelProblem& y) {
                        return x.layer_id == y.layer_id && x.message == y.message &&
                               x.warning == y.warning;
                      });
  };
  const bool changed = !sameProblems(next, diagnosis_);
  diagnosis_ = std::move(next);
  return changed;
}

void ProjectDocument::applyModel(const ModelSpec& model) {
  project_.model = model;
  analyze();
  emit modelChanged();
}

void ProjectDocument::analyze() {
  summary_.reset();
  modelError_.clear();
  modelDiagnosis_ = diagnose_model(project_.model);
  diagnoseDataset();
  try {
    summary_ = analyze_model(project_.model, project_.file);
  } catch (const std::exception& e) {
    modelError_ = QString::fromStdString(e.what());
  }
}

}  // namespace mantissa::ui
