// The visual model builder: canvas built from a project, undoable edits,
// errors flagged on the layer that causes them, and the layer palette.
#include <QApplication>
#include <QCheckBox>
#include <QGraphicsView>
#include <QMouseEvent>
#include <QTemporaryDir>
#include <QToolButton>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGraphicsScene>
#include <QLabel>
#include <QLineEdit>
#include <QScrollBar>
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
// The project as it computes: without where its nodes are drawn.
std::string modelJson(const ProjectDocument& doc) {
  Project p = doc.project();
  for (LayerSpec& l : p.model.layers) l.position.reset();
  return project_to_json(p);
}
int flaggedCount(const ModelCanvas& canvas, const ProjectDocument& doc) {
  int n = 0;
  for (const auto& l : doc.project().model.layers)
    if (canvas.node(QString::fromStdString(l.id))->hasError()) ++n;
  return n;
}
// A real drag of a node with the mouse, in view coordinates.
void dragNode(ModelCanvas& canvas, const QString& id, QPointF by) {
  QGraphicsView* view = canvas.view();
  QWidget* vp = view->viewport();
  const QPointF grab = canvas.nodePosition(id) + QPointF(60, 30);
  const QPoint from = view->mapFromScene(grab);
  const QPoint to = view->mapFromScene(grab + by);
  QTest::mousePress(vp, Qt::LeftButton, {}, from);
  for (int step = 1; step <= 4; ++step) {
    const QPoint at = from + (to - from) * step / 4;
    QMouseEvent move(QEvent::MouseMove, at, vp->mapToGlobal(at), Qt::NoButton, Qt::LeftButton,
                     Qt::NoModifier);
    QApplication::sendEvent(vp, &move);
  }
  QTest::mouseRelease(vp, Qt::LeftButton, {}, to);
  QCoreApplication::processEvents();  // the move is recorded after the event
}

// Whether the edge's drawn path ends on the ports of its two layers.
bool edgeMeetsItsPorts(const LayerEdge* e) {
  const QPainterPath p = e->path();
  return QLineF(p.pointAtPercent(0), e->from()->outputPortScenePos()).length() < 0.5 &&
         QLineF(p.pointAtPercent(1), e->to()->inputPortScenePos()).length() < 0.5;
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
    // Laid out top to bottom: each layer under the one feeding it, a chain
    // in one column.
    const char* chain[] = {"input", "fc1", "relu1", "fc2", "relu2", "fc3", "loss"};
    for (std::size_t i = 1; i < std::size(chain); ++i) {
      QVERIFY2(canvas.nodePosition(chain[i]).y() >=
                   canvas.nodePosition(chain[i - 1]).y() + LayerNode::kHeight + 20,
               chain[i]);
      QCOMPARE(canvas.nodePosition(chain[i]).x(), canvas.nodePosition("input").x());
    }
    // Opening a project lays it out but changes nothing in it.
    QVERIFY(!doc.isModified());
    QCOMPARE(doc.undoStack()->count(), 0);

    // The policy drives the dtype on the edges.
    TrainingSpec t = doc.training();
    t.policy = Policy::MixedBFloat16;
    doc.editTraining(t, QStringLiteral("policy"));
    QVERIFY2(canvas.edgeLabels().contains(QStringLiteral("512, bf16")),
             qPrintable(canvas.edgeLabels().join(" | ")));
  }

  // A residual network reads as Netron draws it: top to bottom, the block's
  // main path in one column, the skip connection routed beside it, no node
  // on another, no edge label under a node.
  void residualNetworkGetsALayeredLayout() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    canvas.resize(1000, 800);
    QVERIFY(!doc.load(QStringLiteral(MANTISSA_TEST_PROJECTS_DIR "/residual-mlp.json")).has_value());
    const ModelSpec& m = doc.project().model;
    QList<QRectF> boxes;
    for (const LayerSpec& l : m.layers) {
      const QString id = QString::fromStdString(l.id);
      const QRectF box(canvas.nodePosition(id), QSizeF(LayerNode::kWidth, LayerNode::kHeight));
      for (const QRectF& other : boxes) QVERIFY2(!box.intersects(other), qPrintable(id));
      boxes << box;
      for (const std::string& in : l.inputs)
        QVERIFY2(canvas.nodePosition(id).y() > canvas.nodePosition(QString::fromStdString(in)).y(),
                 qPrintable(id));
    }
    const qreal column = canvas.nodePosition("block1_norm").x();
    for (const char* id : {"block1_fc1", "block1_gelu", "block1_fc2"})
      QCOMPARE(canvas.nodePosition(id).x(), column);
    for (const LayerEdge* e : canvas.edges()) {
      QVERIFY(edgeMeetsItsPorts(e));
      const QRectF label(e->labelScenePos(), QSizeF(40, 10));
      for (const QRectF& box : boxes) QVERIFY2(!label.intersects(box), qPrintable(e->label()));
      if (e->from()->id() != QLatin1String("stem") || e->to()->id() != QLatin1String("block1_add"))
        continue;
      // The skip connection passes beside the block, not through it.
      QVERIFY(e->followsRoute());
      for (int k = 1; k < 100; ++k) {
        const QPointF at = e->path().pointAtPercent(k / 100.0);
        for (const char* id : {"block1_norm", "block1_fc1", "block1_gelu", "block1_fc2"})
          QVERIFY2(!QRectF(canvas.nodePosition(id), QSizeF(LayerNode::kWidth, LayerNode::kHeight))
                        .contains(at),
                   id);
      }
    }
  }

  // A deep model opens readable, at its top; Fit shows all of it.
  void deepModelOpensReadableAndFitShowsAll() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    canvas.resize(900, 560);
    canvas.show();
    QVERIFY(QTest::qWaitForWindowExposed(&canvas));
    QVERIFY(!doc.load(QStringLiteral(MANTISSA_TEST_PROJECTS_DIR "/residual-mlp.json")).has_value());
    QCoreApplication::processEvents();
    QGraphicsView* view = canvas.view();
    const QRect shown = view->viewport()->rect();
    const auto visible = [&](const char* id) {
      return shown.contains(view->mapFromScene(canvas.nodePosition(id) + QPointF(10, 10)));
    };
    QVERIFY2(view->transform().m11() >= ModelCanvas::kReadableZoom - 1e-9,
             qPrintable(QString::number(view->transform().m11())));
    QVERIFY(visible("input"));
    QVERIFY(!visible("loss"));  // sixteen layers do not fit at a readable size

    QToolButton* fit = nullptr;
    for (QToolButton* b : canvas.findChildren<QToolButton*>())
      if (b->text() == QLatin1String("Fit")) fit = b;
    QVERIFY(fit);
    QTest::mouseClick(fit, Qt::LeftButton);
    QVERIFY(view->transform().m11() < ModelCanvas::kReadableZoom);
    for (const LayerSpec& l : doc.project().model.layers) QVERIFY2(visible(l.id.c_str()), l.id.c_str());

    // Back at a readable zoom, a layer added out of sight is brought into view.
    view->resetTransform();
    view->verticalScrollBar()->setValue(0);
    QVERIFY(visible("input"));
    const QString added = canvas.addLayer(LayerKind::ReLU);  // placed under everything
    QCOMPARE(canvas.selectedLayer(), added);
    QVERIFY(visible("relu1"));
    QVERIFY(!visible("input"));
  }

  // Moving a node with the mouse is one undoable edit that the project file
  // keeps; Auto layout is one too, and every edge follows the nodes at once.
  void movesAndAutoLayoutAreUndoableAndSaved() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    canvas.resize(1000, 800);
    canvas.show();
    QVERIFY(QTest::qWaitForWindowExposed(&canvas));
    QVERIFY(!doc.load(mnistPath()).has_value());
    canvas.view()->resetTransform();  // 1:1, so mouse offsets are scene offsets
    const QPointF start = canvas.nodePosition("fc2");

    dragNode(canvas, QStringLiteral("fc2"), QPointF(220, 8));
    const QPointF moved = canvas.nodePosition("fc2");
    QVERIFY2(QLineF(moved, start + QPointF(220, 8)).length() < 2,
             qPrintable(QStringLiteral("%1,%2").arg(moved.x()).arg(moved.y())));
    QCOMPARE(doc.undoStack()->count(), 1);
    QCOMPARE(doc.undoStack()->undoText(), QStringLiteral("Move fc2"));
    const LayerSpec& fc2 = doc.project().model.layers[3];
    QVERIFY(fc2.position.has_value());
    QCOMPARE(QPointF(fc2.position->x, fc2.position->y), moved);
    for (const LayerEdge* e : canvas.edges()) QVERIFY(edgeMeetsItsPorts(e));

    // Saved, and read back where it was put.
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("moved.json"));
    QVERIFY(!doc.saveAs(file).has_value());
    {
      ProjectDocument again;
      ModelCanvas other(&again);
      QVERIFY(!again.load(file).has_value());
      QCOMPARE(other.nodePosition("fc2"), moved);
      QCOMPARE(other.nodePosition("input"), canvas.nodePosition("input"));
    }

    doc.undoStack()->undo();
    QCOMPARE(canvas.nodePosition("fc2"), start);
    doc.undoStack()->redo();
    QCOMPARE(canvas.nodePosition("fc2"), moved);

    // Auto layout, from its button: fc2 back in the column, edges on the ports.
    auto* button = canvas.findChild<QToolButton*>(QStringLiteral("autoLayoutButton"));
    QVERIFY(button);
    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(doc.undoStack()->undoText(), QStringLiteral("Auto layout"));
    QCOMPARE(canvas.nodePosition("fc2").x(), canvas.nodePosition("input").x());
    for (const LayerEdge* e : canvas.edges()) QVERIFY(edgeMeetsItsPorts(e));
    doc.undoStack()->undo();
    QCOMPARE(canvas.nodePosition("fc2"), moved);
    for (const LayerEdge* e : canvas.edges()) QVERIFY(edgeMeetsItsPorts(e));

    // A click without a move is no edit.
    const int edits = doc.undoStack()->count();
    dragNode(canvas, QStringLiteral("relu1"), QPointF(0, 0));
    QCOMPARE(doc.undoStack()->count(), edits);
  }

  // An edge drawn without the layout's route goes round the layers in its
  // way instead of through them.
  void edgesGoRoundLayersInTheirWay() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    canvas.selectLayer(QStringLiteral("fc3"));
    canvas.addFromPalette(LayerKind::Conv2d);  // beside the loss, at the bottom
    const QString conv = canvas.selectedLayer();
    QVERIFY(canvas.connectLayers(QStringLiteral("fc1"), conv));  // from the top of the column
    const LayerEdge* edge = nullptr;
    for (const LayerEdge* e : canvas.edges())
      if (e->from()->id() == QLatin1String("fc1") && e->to()->id() == conv) edge = e;
    QVERIFY(edge);
    QVERIFY(!edge->followsRoute());
    QVERIFY(edgeMeetsItsPorts(edge));
    for (const char* id : {"relu1", "fc2", "relu2", "fc3", "loss"}) {
      const QRectF box(canvas.nodePosition(id), QSizeF(LayerNode::kWidth, LayerNode::kHeight));
      for (int k = 1; k < 200; ++k)
        QVERIFY2(!box.contains(edge->path().pointAtPercent(k / 200.0)), id);
    }
  }

  // A layer's message sits beside its node, and the layout leaves room for it.
  void messagesSitBesideTheirNodes() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    const QString conv = canvas.addLayer(LayerKind::Conv2d);
    QVERIFY(canvas.connectLayers(QStringLiteral("fc3"), conv));
    LayerNode* node = canvas.node(conv);
    QVERIFY(node->hasError());
    QVERIFY(node->layoutSize().width() > LayerNode::kWidth + 100);
    canvas.autoLayout();
    node = canvas.node(conv);
    const QRectF taken(node->pos(), node->layoutSize());
    for (const LayerSpec& l : doc.project().model.layers) {
      const QString id = QString::fromStdString(l.id);
      if (id == conv) continue;
      QVERIFY2(!taken.intersects(QRectF(canvas.node(id)->pos(), canvas.node(id)->layoutSize())),
               qPrintable(id));
    }
  }

  // A transformer's edges carry [T, C] shapes and the dtype each layer emits
  // under the policy (PRECISION.md: the embedding and the residual stream in
  // fp32, attention and the Linears in bf16); token ids have no dtype.
  void sequenceEdgesShowTheirShapesAndDtypes() {
    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(QStringLiteral(MANTISSA_TEST_PROJECTS_DIR "/char-gpt.json")).has_value());
    QCOMPARE(doc.project().training.policy, Policy::MixedBFloat16);
    const QStringList labels = canvas.edgeLabels();
    for (const char* wanted : {"64 token ids", "64×128, f32", "64×128, bf16", "64×512, bf16"})
      QVERIFY2(labels.contains(QString::fromUtf8(wanted)), qPrintable(labels.join(" | ")));
    QVERIFY2(!labels.contains(QStringLiteral("64, f32")), qPrintable(labels.join(" | ")));
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
    QVERIFY(act->text().contains(QStringLiteral("BF16 512 B")));
    // Nothing of it is cut off in the narrow inspector.
    canvas.resize(900, 700);
    canvas.show();
    QVERIFY(QTest::qWaitForWindowExposed(&canvas));
    act = canvas.inspector()->findChild<QLabel*>("layerActivations");
    QVERIFY2(act->width() >= act->sizeHint().width(),
             qPrintable(QStringLiteral("%1 < %2").arg(act->width()).arg(act->sizeHint().width())));
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
    QCOMPARE(palette.tree()->topLevelItemCount(), 9);
    QVERIFY(palette.visibleKinds().contains("Conv2d"));
    // The Sequence group holds the transformer's layers.
    palette.searchBox()->setText("sequence");
    QCOMPARE(palette.visibleKinds(),
             (QStringList{"Embedding", "PositionalEmbedding", "MultiHeadAttention"}));
    palette.searchBox()->setText("relu");
    QCOMPARE(palette.visibleKinds(), (QStringList{"ReLU", "LeakyReLU"}));
    palette.searchBox()->setText("pooling");
    QCOMPARE(palette.visibleKinds().size(), 3);
    palette.searchBox()->clear();
    QCOMPARE(palette.visibleKinds().size(), 25);

    ProjectDocument doc;
    ModelCanvas canvas(&doc);
    QVERIFY(!doc.load(mnistPath()).has_value());
    connect(&palette, &LayerPalette::layerRequested, &canvas, &ModelCanvas::addFromPalette);
    canvas.selectLayer("relu2");
    emit palette.layerRequested(LayerKind::Dropout);
    QCOMPARE(doc.project().model.layers.back().id, std::string("dropout1"));
    QCOMPARE(doc.project().model.layers.back().inputs, std::vector<std::string>{"relu2"});
    // Under the layer it follows, beside the node already there, not on it.
    const QRectF dropout(canvas.nodePosition("dropout1"), canvas.node("dropout1")->layoutSize());
    for (const LayerSpec& l : doc.project().model.layers) {
      const QString id = QString::fromStdString(l.id);
      if (id != QLatin1String("dropout1"))
        QVERIFY2(!dropout.intersects(QRectF(canvas.nodePosition(id), canvas.node(id)->layoutSize())),
                 qPrintable(id));
    }
    QVERIFY(canvas.nodePosition("dropout1").y() > canvas.nodePosition("relu2").y());
  }
};

int runModelCanvasTests(int argc, char** argv) {
  ModelCanvasTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "ModelCanvasTest.moc"
