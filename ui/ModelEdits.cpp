#include "ModelEdits.hpp"

#include <QStringList>
#include <algorithm>

#include "Format.hpp"
#include "ProjectDocument.hpp"
#include "mantissa/layer_descriptor.hpp"

namespace mantissa::ui {

namespace model_edits {

namespace {

// "1, 28, 28" or "1×28×28" → {1, 28, 28}; empty on a bad value.
std::vector<std::int64_t> parseDims(const QString& text) {
  QString t = text;
  t.replace(QChar(0x00D7), QLatin1Char(','));
  t.replace(QLatin1Char('x'), QLatin1Char(','));
  t.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
  std::vector<std::int64_t> dims;
  for (const QString& part : t.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const qlonglong v = part.trimmed().toLongLong(&ok);
    if (!ok) return {};
    dims.push_back(v);
  }
  return dims;
}

QString dimsText(const std::vector<std::int64_t>& dims) {
  QStringList parts;
  for (auto d : dims) parts << QString::number(d);
  return parts.join(QStringLiteral(", "));
}

}  // namespace

QStringList groupNames() {
  QStringList names;
  for (std::string_view c : layer_categories()) names << fromView(c);
  return names;
}

QString groupOf(LayerKind kind) {
  return fromView(descriptor(kind).category);
}

int indexOf(const ModelSpec& model, const std::string& id) {
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    if (model.layers[i].id == id) return int(i);
  return -1;
}

std::string uniqueId(const ModelSpec& model, LayerKind kind) {
  const LayerDescriptor& d = descriptor(kind);
  std::string base = d.is_loss ? std::string("loss") : fromView(d.name).toLower().toStdString();
  for (int n = 1;; ++n) {
    std::string id = base + std::to_string(n);
    if (indexOf(model, id) < 0) return id;
  }
}

LayerSpec defaultLayer(const ModelSpec& model, LayerKind kind) {
  LayerSpec l = descriptor(kind).starter;
  l.id = uniqueId(model, kind);
  return l;
}

bool takesManyInputs(LayerKind kind) {
  return descriptor(kind).inputs == Arity::Many;
}
bool takesNoInput(LayerKind kind) {
  return descriptor(kind).inputs == Arity::None;
}

ModelSpec withLayer(ModelSpec model, LayerSpec layer) {
  model.layers.push_back(std::move(layer));
  return model;
}

ModelSpec withoutLayer(ModelSpec model, const std::string& id) {
  const int i = indexOf(model, id);
  if (i < 0) return model;
  const std::vector<std::string> feeds = model.layers[std::size_t(i)].inputs;
  model.layers.erase(model.layers.begin() + i);
  for (LayerSpec& l : model.layers) {
    std::vector<std::string> next;
    for (const std::string& in : l.inputs) {
      if (in != id) {
        next.push_back(in);
      } else if (!feeds.empty() && feeds.front() != l.id &&
                 std::find(next.begin(), next.end(), feeds.front()) == next.end()) {
        next.push_back(feeds.front());
      }
    }
    l.inputs = std::move(next);
  }
  return model;
}

ModelSpec withConnection(ModelSpec model, const std::string& from, const std::string& to) {
  const int f = indexOf(model, from), t = indexOf(model, to);
  if (f < 0 || t < 0 || f == t) return model;
  LayerSpec& target = model.layers[std::size_t(t)];
  if (takesNoInput(target.kind)) return model;
  if (std::find(target.inputs.begin(), target.inputs.end(), from) != target.inputs.end())
    return model;
  if (takesManyInputs(target.kind))
    target.inputs.push_back(from);
  else
    target.inputs = {from};
  return model;
}

ModelSpec withoutConnection(ModelSpec model, const std::string& to, int inputIndex) {
  const int t = indexOf(model, to);
  if (t < 0) return model;
  auto& inputs = model.layers[std::size_t(t)].inputs;
  if (inputIndex >= 0 && inputIndex < int(inputs.size())) inputs.erase(inputs.begin() + inputIndex);
  return model;
}

ModelSpec withPin(ModelSpec model, const std::string& id, bool pinned) {
  const int i = indexOf(model, id);
  if (i >= 0) model.layers[std::size_t(i)].pin_fp32 = pinned;
  return model;
}

ModelSpec withRename(ModelSpec model, const std::string& id, const std::string& newId) {
  if (newId.empty() || indexOf(model, newId) >= 0) return model;
  for (LayerSpec& l : model.layers) {
    if (l.id == id) l.id = newId;
    for (std::string& in : l.inputs)
      if (in == id) in = newId;
  }
  return model;
}

QVariant paramValue(const LayerSpec& l, const QString& key) {
  const ParamSchema* p = descriptor(l.kind).param(key.toStdString());
  if (!p) return {};
  const ParamValue v = param_value(l, *p);
  switch (p->type()) {
    case ParamType::Int:
      return qlonglong(std::get<std::int64_t>(v));
    case ParamType::Bool:
      return std::get<bool>(v);
    case ParamType::Float:
      return std::get<double>(v);
    case ParamType::IntPair: {
      const auto& hw = std::get<std::vector<std::int64_t>>(v);
      if (hw[0] == hw[1]) return int(hw[0]);
      return dimsText(hw);  // edited as text: "3, 5"
    }
    case ParamType::Shape:
      return dimsText(std::get<std::vector<std::int64_t>>(v));
    case ParamType::Choice:
      return QString::fromStdString(std::get<std::string>(v));
  }
  return {};
}

std::optional<ModelSpec> withParam(ModelSpec model, const std::string& id, const QString& key,
                                   const QVariant& value) {
  const int i = indexOf(model, id);
  if (i < 0) return std::nullopt;
  LayerSpec& l = model.layers[std::size_t(i)];
  const ParamSchema* p = descriptor(l.kind).param(key.toStdString());
  if (!p) return std::nullopt;
  bool ok = true;
  ParamValue v;
  switch (p->type()) {
    case ParamType::Int:
      v = std::int64_t(value.toLongLong(&ok));
      break;
    case ParamType::Bool:
      v = value.toBool();
      break;
    case ParamType::Float:
      v = value.toDouble(&ok);
      break;
    case ParamType::IntPair:
      if (value.typeId() == QMetaType::QString) {
        v = parseDims(value.toString());  // "3, 5" or "3"
        const auto& dims = std::get<std::vector<std::int64_t>>(v);
        if (dims.size() == 1) v = dims[0];
      } else {
        v = std::int64_t(value.toLongLong(&ok));
      }
      break;
    case ParamType::Shape:
      v = parseDims(value.toString());
      break;
    case ParamType::Choice:
      v = value.toString().toStdString();
      break;
  }
  if (!ok || !set_param_value(l, *p, v)) return std::nullopt;
  return model;
}

QString describe(const LayerSpec& l) {
  const QString kind = fromView(layer_kind_name(l.kind));
  const QString params = QString::fromStdString(layer_summary(l));
  return params.isEmpty() ? kind : kind + QStringLiteral(" · ") + params;
}

}  // namespace model_edits

ModelEditCommand::ModelEditCommand(ProjectDocument* doc, ModelSpec before, ModelSpec after,
                                   const QString& text, int mergeId)
    : doc_(doc), before_(std::move(before)), after_(std::move(after)), mergeId_(mergeId) {
  setText(text);
}

void ModelEditCommand::undo() {
  doc_->applyModel(before_);
}
void ModelEditCommand::redo() {
  doc_->applyModel(after_);
}

bool ModelEditCommand::mergeWith(const QUndoCommand* other) {
  if (mergeId_ < 0 || other->id() != mergeId_) return false;
  after_ = static_cast<const ModelEditCommand*>(other)->after_;
  return true;
}

}  // namespace mantissa::ui
