#pragma once
// Edits of the model graph as pure functions on ModelSpec, and the undo
// command that records one edit on the document's undo stack. Every change the
// model builder makes goes through ModelEditCommand, so Undo / Redo restore the
// exact ModelSpec that was there before.
#include <QString>
#include <QUndoCommand>
#include <QVariant>
#include <optional>

#include "mantissa/model.hpp"

namespace mantissa::ui {

class ProjectDocument;

namespace model_edits {

// The palette's groups, in the order UI.md lists them, and a kind's group
// (its descriptor's category).
QStringList groupNames();
QString groupOf(LayerKind kind);

// "linear1", "linear2", ...: the first id of the form <kind><n> not in `model`.
std::string uniqueId(const ModelSpec& model, LayerKind kind);
// A layer of `kind` with parameters that make sense out of the box (its
// descriptor's starter).
LayerSpec defaultLayer(const ModelSpec& model, LayerKind kind);

// Whether the kind takes several inputs (Add, Concat) or none (Input).
bool takesManyInputs(LayerKind kind);
bool takesNoInput(LayerKind kind);

int indexOf(const ModelSpec& model, const std::string& id);  // -1 when absent

ModelSpec withLayer(ModelSpec model, LayerSpec layer);
// Removes the layer; its consumers take its first input instead (so deleting
// a layer in a chain keeps the chain), or lose the input when it had none.
ModelSpec withoutLayer(ModelSpec model, const std::string& id);
// Feeds `from` into `to`: appended for Add / Concat, otherwise it replaces
// the single input. Unchanged when the edge exists or would be a self loop.
ModelSpec withConnection(ModelSpec model, const std::string& from, const std::string& to);
// Removes input number `inputIndex` of `to`.
ModelSpec withoutConnection(ModelSpec model, const std::string& to, int inputIndex);
ModelSpec withPin(ModelSpec model, const std::string& id, bool pinned);
// Renames a layer and every reference to it.
ModelSpec withRename(ModelSpec model, const std::string& id, const std::string& newId);
// Sets one parameter by its project-file name ("out_features", "shape",
// "kernel", "stride", "padding", "bias", "p", ...). Returns nullopt when the
// value does not parse, the key does not belong to the layer's kind, or the
// project reader would refuse the result (mantissa::set_param_value).
std::optional<ModelSpec> withParam(ModelSpec model, const std::string& id, const QString& key,
                                   const QVariant& value);

// The value of a parameter as the inspector shows it: a number, a bool, a
// name, or text ("1, 28, 28"; a [height, width] pair "3, 5").
QVariant paramValue(const LayerSpec& layer, const QString& key);
// "Linear · 512", "Conv2d · 16, 3×3": the node's subtitle.
QString describe(const LayerSpec& layer);

}  // namespace model_edits

// One undoable change of the model: the whole ModelSpec before and after.
class ModelEditCommand : public QUndoCommand {
 public:
  ModelEditCommand(ProjectDocument* doc, ModelSpec before, ModelSpec after, const QString& text,
                   int mergeId = -1);
  void undo() override;
  void redo() override;
  int id() const override { return mergeId_; }
  bool mergeWith(const QUndoCommand* other) override;

 private:
  ProjectDocument* doc_;
  ModelSpec before_, after_;
  int mergeId_;
};

}  // namespace mantissa::ui
