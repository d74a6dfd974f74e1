// The model canvas's inspector: the selected layer's id, kind, parameters
// (each kind's descriptor lists them), fp32 pin, costs and problems.
#include "ModelCanvas.hpp"

#include <QCheckBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <utility>

#include "Format.hpp"
#include "LayerNode.hpp"
#include "ModelEdits.hpp"
#include "ParamEditor.hpp"
#include "ProjectDocument.hpp"
#include "mantissa/layer_descriptor.hpp"

namespace mantissa::ui {

void ModelCanvas::rebuildInspector() {
  if (inspectorBody_) {
    inspectorBody_->hide();
    inspectorBody_->deleteLater();
  }
  inspectorBody_ = new QWidget(inspector_);
  inspectorLayout_->addWidget(inspectorBody_);
  auto* form = new QFormLayout(inspectorBody_);
  const ModelSpec& model = doc_->project().model;
  const int i = model_edits::indexOf(model, selected_.toStdString());
  if (i < 0) {
    auto* hint = new QLabel(tr("Select a layer to edit its parameters."), inspectorBody_);
    hint->setWordWrap(true);
    form->addRow(hint);
    return;
  }
  const LayerSpec& l = model.layers[std::size_t(i)];
  const QString id = selected_;

  auto* name = new QLineEdit(id, inspectorBody_);
  name->setObjectName(QStringLiteral("layerId"));
  connect(name, &QLineEdit::editingFinished, this, [this, id, name] {
    const QString next = name->text();
    runLater([this, id, next] { renameLayer(id, next); });
  });
  form->addRow(tr("Id"), name);
  form->addRow(tr("Type"), new QLabel(fromView(layer_kind_name(l.kind)), inspectorBody_));

  // The kind's parameters, as its descriptor lists them.
  for (const ParamSchema& p : descriptor(l.kind).params) {
    const QString key = fromView(p.key);
    QWidget* editor = makeParamEditor(p, model_edits::paramValue(l, key), inspectorBody_, this,
                                      [this, id, key](const QVariant& v) {
                                        runLater([this, id, key, v] { setParam(id, key, v); });
                                      });
    auto* label = new QLabel(key, inspectorBody_);
    label->setToolTip(editor->toolTip());
    form->addRow(label, editor);
  }

  auto* pin = new QCheckBox(tr("Pin to fp32"), inspectorBody_);
  pin->setObjectName(QStringLiteral("pinFp32"));
  pin->setChecked(l.pin_fp32);
  connect(pin, &QCheckBox::toggled, this,
          [this, id](bool on) { runLater([this, id, on] { setPinned(id, on); }); });
  form->addRow(pin);

  addLayerCosts(form, id);

  if (LayerNode* n = nodes_.value(id)) {
    for (const auto& [text, colour] : {std::pair{n->errorMessage(), "#D55E00"},
                                       std::pair{n->warningMessage(), "#9A6A00"}}) {
      if (text.isEmpty()) continue;
      auto* note = new QLabel(text, inspectorBody_);
      note->setWordWrap(true);
      note->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(colour)));
      form->addRow(note);
    }
  }
}

// What the selected layer costs, from the document's model analysis: its
// output shape, parameters, forward FLOPs and its output's size per policy.
void ModelCanvas::addLayerCosts(QFormLayout* form, const QString& id) {
  const LayerInfo* it = doc_->diagnosis().find(id.toStdString());
  if (it == nullptr) return;
  const auto row = [&](const QString& label, const QString& value, const char* name) {
    auto* v = new QLabel(value, inspectorBody_);
    v->setObjectName(QLatin1String(name));
    v->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(label, v);
  };
  auto* heading = new QLabel(tr("<b>Per sample</b>"), inspectorBody_);
  form->addRow(heading);
  row(tr("Output"), fromView(it->output_shape.str()), "layerOutput");
  row(tr("Parameters"), formatCount(it->params), "layerParams");
  row(tr("FLOPs"), formatFlops(double(it->forward_flops)), "layerFlops");
  // One policy a line: the inspector is narrow, and nothing here may be cut.
  row(tr("Output size"),
      tr("FP32 %1\nFP16 %2\nBF16 %3")
          .arg(formatBytes(double(it->activation_bytes[0])),
               formatBytes(double(it->activation_bytes[1])),
               formatBytes(double(it->activation_bytes[2]))),
      "layerActivations");
}

}  // namespace mantissa::ui
