// The visual model builder: canvas built from a project, undoable edits,
// errors flagged on the layer that causes them, and the layer palette.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGraphicsScene>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QTest>
#include <QTreeWidget>
#include <QUndoStack>

#include "LayerNode.hpp"
#include "LayerPalette.hpp"
#include "ModelCanvas.hpp"
#include "ProjectDocument.hpp"

using namespace mantissa;
using namespace mantissa::ui;

namespace {
QString mnistPath() {
  return QStringLiteral(MANTISSA_TEST_PROJECTS_DIR "/mnist-mlp.json");
}
std::string modelJson(const ProjectDocument& doc) {
  return project_to_json(doc.project());
}
int flaggedCount(const ModelCanvas& canvas, const ProjectDocument& doc) {
  int n = 0;
  for (const auto& l : doc.project().model.layers)
    if (canvas.node(QString::fromStdString(l.id))->hasError()) ++n;
  return n;
}
}  // namespace

class ModelCanvasTest : public QObject {
  Q_OBJECT

 private slots:
  void emptyDocumentShowsTheHint() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QCOMPARE(canvas.nodeCount(), 0);
    QVERIFY(canvas.isEmptyStateShown());
    bool hint = false;
    for (QGraphicsItem* item : canvas.scene()->items())
      hint = hint || item->data(0).toString() == QLatin1String("empty-state");
    QVERIFY(hint);
  }

  // An unfinished graph: dropping an unconnected layer keeps every edge's
  // shape; a dangling branch shows its real error at once, beside the
  // warning that it leads nowhere; the inspector says both.
  void shapesFlowThroughTheValidPartOfAnUnfinishedGraph() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    const QStringList before = canvas.edgeLabels();
    QVERIFY(before.contains(QStringLiteral("512, f32")));

    const QString loose = canvas.addLayer(LayerKind::Linear, QPointF(100, 400));
    QCOMPARE(canvas.edgeLabels(), before);
    QVERIFY(canvas.node(loose)->hasError());
    QVERIFY(canvas.node(loose)->hasWarning());
    QVERIFY(canvas.node(loose)->warningMessage().contains("not used by any layer"));
    for (const char* id : {"input", "fc1", "relu1", "fc2", "relu2", "fc3", "loss"})
      QVERIFY2(!canvas.node(id)->hasError() && !canvas.node(id)->hasWarning(), id);
    QVERIFY(canvas.bannerText().isEmpty());

    const QString conv = canvas.addLayer(LayerKind::Conv2d, QPointF(400, 400));
    QVERIFY(canvas.connectLayers(QStringLiteral("fc3"), conv));
    LayerNode* node = canvas.node(conv);
    QCOMPARE(node->errorMessage(),
             QStringLiteral("Conv2d needs a [channels, height, width] input, got 10 from 'fc3'"));
    QVERIFY(node->warningMessage().contains("not used by any layer"));
    QVERIFY2(node->boundingRect().height() > LayerNode::kHeight + 30,
             "the node grows to hold both messages");
    QVERIFY(canvas.edgeLabels().contains(QStringLiteral("10, f32")));

    canvas.selectLayer(conv);
    QStringList shown;
    for (QLabel* l : canvas.findChildren<QLabel*>()) shown << l->text();
    QVERIFY2(shown.contains(node->errorMessage()), qPrintable(shown.join(" | ")));
    QVERIFY(shown.contains(node->warningMessage()));
  }

  // Problems of the model as a whole are said in words in the banner.
  void modelProblemsShowInTheBanner() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    QVERIFY(canvas.removeLayer(QStringLiteral("loss")));
    QVERIFY2(canvas.bannerText().startsWith(QStringLiteral("the model has no loss layer")),
             qPrintable(canvas.bannerText()));
    QVERIFY(!canvas.bannerText().contains(QStringLiteral("/model")));
    QVERIFY(canvas.edgeLabels().contains(QStringLiteral("512, f32")));
  }

  void opensMnistAsAGraph() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    QCOMPARE(canvas.nodeCount(), 7);
    QCOMPARE(canvas.edgeCount(), 6);
    bool has512 = false;
    for (const QString& label : canvas.edgeLabels()) has512 = has512 || label.contains("512");
    QVERIFY2(has512, qPrintable(canvas.edgeLabels().join(" | ")));
    QVERIFY(canvas.edgeLabels().contains(QStringLiteral("512, f32")));
    QCOMPARE(flaggedCount(canvas, doc), 0);
    QCOMPARE(canvas.node("fc1")->subtitle(), QStringLiteral("Linear · 512"));
    // Auto layout: columns by depth, wrapped into bands read like text.
    const auto before = [&](const char* a, const char* b) {
      const QPointF p = canvas.nodePosition(a), q = canvas.nodePosition(b);
      return p.y() < q.y() || (p.y() == q.y() && p.x() < q.x());
    };
    QVERIFY(canvas.nodePosition("fc1").x() > canvas.nodePosition("input").x());
    QCOMPARE(canvas.nodePosition("fc1").y(), canvas.nodePosition("input").y());
    for (const char* id : {"fc1", "relu1", "fc2", "relu2", "fc3", "loss"})
      QVERIFY(before("input", id));
    QVERIFY(before("fc3", "loss"));
    QVERIFY(before("relu1", "fc2"));
    // Seven layers do not fit one row of an 800-pixel view at full size: wrapped.
    QVERIFY(canvas.nodePosition("loss").y() > canvas.nodePosition("input").y());

    // The policy drives the dtype on the edges.
    TrainingSpec t = doc.training();
    t.policy = Policy::MixedBFloat16;
    doc.editTraining(t, QStringLiteral("policy"));
    QVERIFY2(canvas.edgeLabels().contains(QStringLiteral("512, bf16")),
             qPrintable(canvas.edgeLabels().join(" | ")));
  }

  void addAndConnectUndoRedo() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    const std::string original = modelJson(doc);

    const QString id = canvas.addLayer(LayerKind::Linear, QPointF(100, 400));
    QCOMPARE(id, QStringLiteral("linear1"));
    QCOMPARE(canvas.nodeCount(), 8);
    QVERIFY(canvas.node(id)->hasError());  // not connected yet
    QVERIFY(canvas.connectLayers("relu2", id));
    QVERIFY(canvas.connectLayers(id, "fc3"));
    QCOMPARE(doc.project().model.layers.back().inputs, std::vector<std::string>{"relu2"});
    QCOMPARE(doc.project().model.layers[5].inputs, std::vector<std::string>{"linear1"});
    QVERIFY(doc.modelError().isEmpty());
    QCOMPARE(flaggedCount(canvas, doc), 0);
    QVERIFY(canvas.edgeLabels().contains(QStringLiteral("64, f32")));
    const std::string edited = modelJson(doc);
    QVERIFY(edited != original);
    QCOMPARE(doc.undoStack()->count(), 3);

    doc.undoStack()->undo();
    doc.undoStack()->undo();
    doc.undoStack()->undo();
    QCOMPARE(modelJson(doc), original);
    QCOMPARE(canvas.nodeCount(), 7);
    QVERIFY(!doc.isModified());
    doc.undoStack()->redo();
    doc.undoStack()->redo();
    doc.undoStack()->redo();
    QCOMPARE(modelJson(doc), edited);
    QCOMPARE(canvas.nodeCount(), 8);
    QCOMPARE(canvas.edgeCount(), 7);
    // An edit that changes nothing adds no undo step.
    QVERIFY(!canvas.connectLayers("relu2", id));
    QCOMPARE(doc.undoStack()->count(), 3);
  }

  void pinParamAndRename() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    QVERIFY(canvas.togglePin("fc2"));
    QVERIFY(doc.project().model.layers[3].pin_fp32);
    QVERIFY(canvas.node("fc2")->isPinned());
    doc.undoStack()->undo();
    QVERIFY(!doc.project().model.layers[3].pin_fp32);
    QVERIFY(!canvas.node("fc2")->isPinned());

    QVERIFY(canvas.setParam("fc2", "out_features", 256));
    QCOMPARE(doc.project().model.layers[3].out_features, qint64(256));
    QVERIFY(canvas.edgeLabels().contains(QStringLiteral("256, f32")));
    QVERIFY(!canvas.setParam("fc2", "out_channels", 3));  // not a Linear parameter
    QVERIFY(canvas.setParam("input", "shape", "1, 28, 28"));
    QCOMPARE(doc.project().model.layers[0].shape, (std::vector<std::int64_t>{1, 28, 28}));
    QVERIFY(canvas.node("fc1")->hasError());  // Linear needs a flat input
    QVERIFY(canvas.node("fc1")->errorMessage().contains("1×28×28"));
    doc.undoStack()->undo();
    QVERIFY(!canvas.node("fc1")->hasError());

    QVERIFY(canvas.renameLayer("fc2", "hidden"));
    QCOMPARE(doc.project().model.layers[4].inputs, std::vector<std::string>{"hidden"});
    QVERIFY(canvas.node("hidden") != nullptr);
    QVERIFY(doc.modelError().isEmpty());

    // Inspector shows the selected layer.
    canvas.selectLayer("hidden");
    auto* idBox = canvas.inspector()->findChild<QLineEdit*>("layerId");
    QVERIFY(idBox);
    QCOMPARE(idBox->text(), QStringLiteral("hidden"));
    // ... with what it costs: Linear 512 → 256 holds 512×256 + 256 parameters.
    auto* params = canvas.inspector()->findChild<QLabel*>("layerParams");
    QVERIFY(params);
    QCOMPARE(params->text(), QStringLiteral("131,328"));
    auto* flops = canvas.inspector()->findChild<QLabel*>("layerFlops");
    QVERIFY(flops);
    QVERIFY2(flops->text().contains(QStringLiteral("262")), qPrintable(flops->text()));
    auto* act = canvas.inspector()->findChild<QLabel*>("layerActivations");
    QVERIFY(act);
    QVERIFY2(act->text().contains(QStringLiteral("FP32 1.0 KiB")), qPrintable(act->text()));
  }

  void shapeErrorIsFlaggedOnItsLayer() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    const std::string original = modelJson(doc);
    const QString add = canvas.addLayer(LayerKind::Add);
    QVERIFY(canvas.connectLayers("fc3", add));
    QVERIFY(canvas.connectLayers("fc1", add));
    QVERIFY(canvas.connectLayers(add, "loss"));
    LayerNode* node = canvas.node(add);
    QVERIFY(node->hasError());
    QVERIFY2(node->errorMessage().contains("10") && node->errorMessage().contains("512"),
             qPrintable(node->errorMessage()));
    QCOMPARE(flaggedCount(canvas, doc), 1);

    canvas.selectLayer(add);
    canvas.deleteSelection();
    QVERIFY(canvas.node(add) == nullptr);
    QVERIFY2(doc.modelError().isEmpty(), qPrintable(doc.modelError()));
    QCOMPARE(flaggedCount(canvas, doc), 0);
    QCOMPARE(modelJson(doc), original);  // the loss is fed by fc3 again
  }

  void deleteEdgeAndCopyPaste() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    for (LayerEdge* e : canvas.edges())
      if (e->to()->id() == QLatin1String("loss")) e->setSelected(true);
    canvas.deleteSelection();
    QCOMPARE(canvas.edgeCount(), 5);
    QVERIFY(!doc.modelError().isEmpty());
    QVERIFY(canvas.node("loss")->hasError());
    doc.undoStack()->undo();
    QCOMPARE(canvas.edgeCount(), 6);

    canvas.selectLayer("fc2");
    canvas.copySelection();
    const QString pasted = canvas.paste();
    QCOMPARE(pasted, QStringLiteral("linear1"));
    QCOMPARE(doc.project().model.layers.back().out_features, qint64(512));
    QVERIFY(doc.project().model.layers.back().inputs.empty());
  }

  // The inspector's parameter form comes from the kind's schema: the editor
  // fits the type, its bounds are the schema's range, help is the tooltip.
  void inspectorIsBuiltFromTheSchema() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    const QString drop = canvas.addLayer(LayerKind::Dropout);
    canvas.selectLayer(drop);
    auto* p = canvas.inspector()->findChild<QDoubleSpinBox*>("p");
    QVERIFY(p);
    QCOMPARE(p->value(), 0.5);
    QVERIFY(p->maximum() < 1.0);  // [0, 1)
    QCOMPARE(p->minimum(), 0.0);
    QVERIFY2(p->toolTip().contains("probability") && p->toolTip().contains("in [0, 1)"),
             qPrintable(p->toolTip()));
    QVERIFY(canvas.setParam(drop, "p", 0.25));
    QCOMPARE(doc.project().model.layers.back().p, 0.25f);
    QVERIFY(!canvas.setParam(drop, "p", 1.0));    // the project reader would refuse it
    QVERIFY(!canvas.setParam(drop, "eps", 0.1));  // not a Dropout parameter

    canvas.selectLayer("fc1");
    auto* init = canvas.inspector()->findChild<QComboBox*>("init");
    QVERIFY(init);
    QCOMPARE(init->currentText(), QStringLiteral("default"));
    QVERIFY(init->findText("xavier_uniform") >= 0);
    QVERIFY(canvas.setParam("fc1", "init", QStringLiteral("xavier_uniform")));
    QCOMPARE(doc.project().model.layers[1].init, Init::XavierUniform);
    QVERIFY(canvas.inspector()->findChild<QSpinBox*>("out_features"));
    QVERIFY(canvas.inspector()->findChild<QCheckBox*>("bias"));
  }

  void paletteGroupsAndFilters() {
    LayerPalette palette;
    QCOMPARE(palette.tree()->topLevelItemCount(), 8);
    QVERIFY(palette.visibleKinds().contains("Conv2d"));
    palette.searchBox()->setText("relu");
    QCOMPARE(palette.visibleKinds(), (QStringList{"ReLU", "LeakyReLU"}));
    palette.searchBox()->setText("pooling");
    QCOMPARE(palette.visibleKinds().size(), 3);
    palette.searchBox()->clear();
    QCOMPARE(palette.visibleKinds().size(), 19);

    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    connect(&palette, &LayerPalette::layerRequested, &canvas, &ModelCanvas::addFromPalette);
    canvas.selectLayer("relu2");
    emit palette.layerRequested(LayerKind::Dropout);
    QCOMPARE(doc.project().model.layers.back().id, std::string("dropout1"));
    QCOMPARE(doc.project().model.layers.back().inputs, std::vector<std::string>{"relu2"});
  }
};

int runModelCanvasTests(int argc, char** argv) {
  ModelCanvasTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "ModelCanvasTest.moc"
