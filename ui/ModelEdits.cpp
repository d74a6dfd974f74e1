#include "ModelEdits.hpp"

#include <QStringList>
#include <algorithm>

#include "ProjectDocument.hpp"

namespace mantissa::ui {

namespace model_edits {

namespace {

QString lower(LayerKind k) {
  return QString::fromUtf8(layer_kind_name(k).data(), qsizetype(layer_kind_name(k).size()))
      .toLower();
}

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
  return {QStringLiteral("Input"),     QStringLiteral("Dense"),     QStringLiteral("Convolution"),
          QStringLiteral("Pooling"),   QStringLiteral("Normalise"), QStringLiteral("Activation"),
          QStringLiteral("Structure"), QStringLiteral("Loss")};
}

QString groupOf(LayerKind kind) {
  switch (kind) {
    case LayerKind::Input:
      return QStringLiteral("Input");
    case LayerKind::Linear:
      return QStringLiteral("Dense");
    case LayerKind::Conv2d:
      return QStringLiteral("Convolution");
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
    case LayerKind::GlobalAvgPool:
      return QStringLiteral("Pooling");
    case LayerKind::BatchNorm:
    case LayerKind::LayerNorm:
      return QStringLiteral("Normalise");
    case LayerKind::ReLU:
    case LayerKind::LeakyReLU:
    case LayerKind::GELU:
    case LayerKind::Tanh:
    case LayerKind::Sigmoid:
      return QStringLiteral("Activation");
    case LayerKind::Flatten:
    case LayerKind::Dropout:
    case LayerKind::Add:
    case LayerKind::Concat:
      return QStringLiteral("Structure");
    case LayerKind::SoftmaxCrossEntropy:
    case LayerKind::MSE:
      return QStringLiteral("Loss");
  }
  return QStringLiteral("Structure");
}

std::vector<LayerKind> allKinds() {
  std::vector<LayerKind> kinds;
  for (int k = int(LayerKind::Input); k <= int(LayerKind::MSE); ++k)
    kinds.push_back(LayerKind(k));
  return kinds;
}

int indexOf(const ModelSpec& model, const std::string& id) {
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    if (model.layers[i].id == id) return int(i);
  return -1;
}

std::string uniqueId(const ModelSpec& model, LayerKind kind) {
  std::string base = kind == LayerKind::SoftmaxCrossEntropy || kind == LayerKind::MSE
                         ? std::string("loss")
                         : lower(kind).toStdString();
  for (int n = 1;; ++n) {
    std::string id = base + std::to_string(n);
    if (indexOf(model, id) < 0) return id;
  }
}

LayerSpec defaultLayer(const ModelSpec& model, LayerKind kind) {
  LayerSpec l;
  l.kind = kind;
  l.id = uniqueId(model, kind);
  switch (kind) {
    case LayerKind::Input:
      l.shape = {784};
      break;
    case LayerKind::Linear:
      l.out_features = 64;
      break;
    case LayerKind::Conv2d:
      l.out_channels = 16;
      l.kernel_h = l.kernel_w = 3;
      l.pad_h = l.pad_w = 1;
      break;
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
      l.kernel_h = l.kernel_w = 2;
      l.stride_h = l.stride_w = 2;
      break;
    default:
      break;
  }
  return l;
}

bool takesManyInputs(LayerKind kind) {
  return kind == LayerKind::Add || kind == LayerKind::Concat;
}
bool takesNoInput(LayerKind kind) {
  return kind == LayerKind::Input;
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

QStringList paramKeys(LayerKind kind) {
  switch (kind) {
    case LayerKind::Input:
      return {QStringLiteral("shape")};
    case LayerKind::Linear:
      return {QStringLiteral("out_features"), QStringLiteral("bias")};
    case LayerKind::Conv2d:
      return {QStringLiteral("out_channels"), QStringLiteral("kernel"), QStringLiteral("stride"),
              QStringLiteral("padding"), QStringLiteral("bias")};
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
      return {QStringLiteral("kernel"), QStringLiteral("stride"), QStringLiteral("padding")};
    case LayerKind::LeakyReLU:
      return {QStringLiteral("negative_slope")};
    case LayerKind::Dropout:
      return {QStringLiteral("p")};
    case LayerKind::BatchNorm:
      return {QStringLiteral("eps"), QStringLiteral("momentum")};
    case LayerKind::LayerNorm:
      return {QStringLiteral("eps")};
    default:
      return {};
  }
}

QVariant paramValue(const LayerSpec& l, const QString& key) {
  if (key == QLatin1String("shape")) return dimsText(l.shape);
  if (key == QLatin1String("out_features")) return qlonglong(l.out_features);
  if (key == QLatin1String("out_channels")) return qlonglong(l.out_channels);
  if (key == QLatin1String("bias")) return l.bias;
  if (key == QLatin1String("kernel")) return l.kernel_h;
  if (key == QLatin1String("stride")) return l.stride_h;
  if (key == QLatin1String("padding")) return l.pad_h;
  if (key == QLatin1String("negative_slope")) return double(l.negative_slope);
  if (key == QLatin1String("p")) return double(l.p);
  if (key == QLatin1String("eps")) return double(l.eps);
  if (key == QLatin1String("momentum")) return double(l.momentum);
  return {};
}

std::optional<ModelSpec> withParam(ModelSpec model, const std::string& id, const QString& key,
                                   const QVariant& value) {
  const int i = indexOf(model, id);
  if (i < 0) return std::nullopt;
  LayerSpec& l = model.layers[std::size_t(i)];
  if (!paramKeys(l.kind).contains(key)) return std::nullopt;
  bool ok = true;
  if (key == QLatin1String("shape")) {
    auto dims = parseDims(value.toString());
    if (dims.empty()) return std::nullopt;
    l.shape = std::move(dims);
  } else if (key == QLatin1String("bias")) {
    l.bias = value.toBool();
  } else if (key == QLatin1String("out_features") || key == QLatin1String("out_channels") ||
             key == QLatin1String("kernel") || key == QLatin1String("stride") ||
             key == QLatin1String("padding")) {
    const qlonglong v = value.toLongLong(&ok);
    if (!ok) return std::nullopt;
    if (key == QLatin1String("out_features")) l.out_features = v;
    if (key == QLatin1String("out_channels")) l.out_channels = v;
    if (key == QLatin1String("kernel")) l.kernel_h = l.kernel_w = int(v);
    if (key == QLatin1String("stride")) l.stride_h = l.stride_w = int(v);
    if (key == QLatin1String("padding")) l.pad_h = l.pad_w = int(v);
  } else {
    const double v = value.toDouble(&ok);
    if (!ok) return std::nullopt;
    if (key == QLatin1String("negative_slope")) l.negative_slope = float(v);
    if (key == QLatin1String("p")) l.p = float(v);
    if (key == QLatin1String("eps")) l.eps = float(v);
    if (key == QLatin1String("momentum")) l.momentum = float(v);
  }
  return model;
}

QString describe(const LayerSpec& l) {
  const QString kind = QString::fromUtf8(layer_kind_name(l.kind).data(),
                                         qsizetype(layer_kind_name(l.kind).size()));
  QString params;
  const QString times(QChar(0x00D7));
  switch (l.kind) {
    case LayerKind::Input: {
      QStringList d;
      for (auto v : l.shape) d << QString::number(v);
      params = d.join(times);
      break;
    }
    case LayerKind::Linear:
      params = QString::number(l.out_features);
      break;
    case LayerKind::Conv2d:
      params = QStringLiteral("%1, %2%3%4").arg(l.out_channels).arg(l.kernel_h).arg(times).arg(
          l.kernel_w);
      break;
    case LayerKind::MaxPool2d:
    case LayerKind::AvgPool2d:
      params = QStringLiteral("%1%2%3").arg(l.kernel_h).arg(times).arg(l.kernel_w);
      break;
    case LayerKind::LeakyReLU:
      params = QString::number(double(l.negative_slope));
      break;
    case LayerKind::Dropout:
      params = QStringLiteral("p=%1").arg(double(l.p));
      break;
    default:
      break;
  }
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
