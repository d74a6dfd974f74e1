// The main window from the keyboard and on small screens: switching pages,
// connecting layers and using the palette without a mouse, the wheel over
// fields, values out of range saying why, the Edit menu on the canvas.
#include <qcustomplot.h>

#include <QPushButton>
#include <QSet>
#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QLineEdit>
#include <QListWidget>
#include <QTreeWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QProgressBar>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QScrollArea>
#include <QScrollBar>
#include <QWheelEvent>
#include <QApplication>
#include <QTest>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>

#include "AdvicePanel.hpp"
#include "RunTableModel.hpp"
#include "ConnectDialog.hpp"
#include "EventLog.hpp"
#include "LayerPalette.hpp"
#include "InlineMessage.hpp"
#include "HistoryPage.hpp"
#include "LivePlots.hpp"
#include "MainWindow.hpp"
#include "MainWindowFixture.hpp"
#include "LayerNode.hpp"
#include "ModelCanvas.hpp"
#include "Format.hpp"
#include "ModelSummaryView.hpp"
#include "StudioSettings.hpp"
#include "ModelTable.hpp"
#include "PolicySelector.hpp"
#include "ProjectDocument.hpp"
#include "RunStatusBar.hpp"
#include "TestSupport.hpp"
#include "TrainingSettingsForm.hpp"
#include "mantissa/store.hpp"
#include "services/TrainingController.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;
using Series = LivePlots::Series;

class KeyboardTest : public MainWindowFixture {
  Q_OBJECT

 private slots:
  // The pages from the keyboard: Ctrl+Tab / Ctrl+PgDn forward, Ctrl+PgUp /
  // Ctrl+Shift+Tab back, wrapping; Alt+1…4 straight to a page.
  void pagesSwitchFromTheKeyboard() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    w.tabs()->setCurrentIndex(0);
    QTest::keyClick(&w, Qt::Key_Tab, Qt::ControlModifier);
    QCOMPARE(w.tabs()->currentIndex(), 1);
    QTest::keyClick(&w, Qt::Key_PageDown, Qt::ControlModifier);
    QCOMPARE(w.tabs()->currentIndex(), 2);
    QTest::keyClick(&w, Qt::Key_4, Qt::AltModifier);
    QCOMPARE(w.tabs()->currentIndex(), 3);
    QTest::keyClick(&w, Qt::Key_Tab, Qt::ControlModifier);
    QCOMPARE(w.tabs()->currentIndex(), 0);  // wraps
    QTest::keyClick(&w, Qt::Key_PageUp, Qt::ControlModifier);
    QCOMPARE(w.tabs()->currentIndex(), 3);
    QTest::keyClick(&w, Qt::Key_Backtab, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(w.tabs()->currentIndex(), 2);
    QTest::keyClick(&w, Qt::Key_1, Qt::AltModifier);
    QCOMPARE(w.tabs()->currentIndex(), 0);
  }

  // The wheel over the inspector scrolls it; it changes a field's value only
  // once the field has the keyboard focus.
  void theWheelScrollsThePanelNotTheValues() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    w.resize(900, 500);  // short enough that the inspector scrolls
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QSpinBox* batch = w.settingsForm()->batchSizeBox();
    QScrollArea* area = nullptr;
    for (QWidget* p = batch->parentWidget(); p && !area; p = p->parentWidget())
      area = qobject_cast<QScrollArea*>(p);
    QVERIFY(area != nullptr);
    QVERIFY(area->verticalScrollBar()->maximum() > 0);
    const int before = batch->value();
    const int scrolled = area->verticalScrollBar()->value();
    auto wheel = [&](QWidget* target) {
      const QPointF at(target->width() / 2.0, target->height() / 2.0);
      QWheelEvent e(at, target->mapToGlobal(at), QPoint(), QPoint(0, -120), Qt::NoButton,
                    Qt::NoModifier, Qt::NoScrollPhase, false);
      QApplication::sendEvent(target, &e);
    };
    w.setFocus();
    QVERIFY(!batch->hasFocus());
    QCOMPARE(batch->focusPolicy(), Qt::StrongFocus);  // a real wheel does not focus it
    wheel(batch);
    QCOMPARE(batch->value(), before);
    QVERIFY2(area->verticalScrollBar()->value() > scrolled, "the panel scrolled instead");
    batch->setFocus();
    QTRY_VERIFY(batch->hasFocus());
    wheel(batch);
    QVERIFY(batch->value() != before);
  }

  // A value out of range is not taken silently: the line under the field
  // names it, what was typed and the valid range; a good value hides it.
  void anOutOfRangeValueSaysWhyItWasNotTaken() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QDoubleSpinBox* lr = w.settingsForm()->learningRateBox();
    const double before = lr->value();
    auto type = [&](const QString& text) {
      lr->setFocus();
      lr->selectAll();
      QTest::keyClicks(lr, text);
      QTest::keyClick(lr, Qt::Key_Return);
    };
    for (const QString& bad : {QStringLiteral("-0.05"), QStringLiteral("0"), QStringLiteral("50")}) {
      type(bad);
      QCOMPARE(lr->value(), before);
      QLabel* shown = nullptr;
      for (QLabel* l : lr->parentWidget()->findChildren<QLabel*>(QStringLiteral("rangeNote")))
        if (l->isVisible()) shown = l;
      QVERIFY2(shown, qPrintable(bad));
      QCOMPARE(shown->text(), QStringLiteral("learning rate must be between 1e-09 and 10; %1 was "
                                             "not applied").arg(bad));
    }
    type(QStringLiteral("0.01"));
    QCOMPARE(lr->value(), 0.01);
    for (QLabel* l : lr->parentWidget()->findChildren<QLabel*>(QStringLiteral("rangeNote")))
      QVERIFY(!l->isVisible());
  }

  // Edit ▸ Connect Selected To… (Ctrl+L): a search over the layers the
  // selected one can feed, Up / Down from the search field, Enter connects
  // as one undo step. Itself, its ancestors (a cycle), layers it feeds
  // already and Inputs are not offered; with nothing selected it is off.
  void layersConnectFromTheKeyboard() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    showActive(w);
    w.tabs()->setCurrentIndex(0);
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas && canvas->isVisible());
    const QString extra = canvas->addLayer(LayerKind::Linear, QPointF(300, 400));
    QCOMPARE(extra, QStringLiteral("linear1"));
    canvas->selectLayer(QString());
    QVERIFY(!w.connectAction()->isEnabled());
    QTest::keyClick(&w, Qt::Key_L, Qt::ControlModifier);
    QVERIFY(w.findChild<ConnectDialog*>() == nullptr);

    canvas->selectLayer(QStringLiteral("fc1"));
    QVERIFY(w.connectAction()->isEnabled());
    QCOMPARE(w.connectAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_L));
    QTest::keyClick(&w, Qt::Key_L, Qt::ControlModifier);
    ConnectDialog* d = nullptr;
    QTRY_VERIFY((d = w.findChild<ConnectDialog*>()) != nullptr && d->isVisible());
    // act1 is fed by fc1 already; input and fc1 itself cannot take it.
    QCOMPARE(listed(d), (QStringList{"fc2", "loss", "linear1"}));
    QTRY_VERIFY(d->searchBox()->hasFocus());
    QTest::keyClicks(d->searchBox(), QStringLiteral("lin"));  // fc2 is Linear too
    QCOMPARE(listed(d), (QStringList{"fc2", "linear1"}));
    QCOMPARE(d->list()->currentItem()->text().section(' ', 0, 0), QStringLiteral("fc2"));
    QTest::keyClick(d->searchBox(), Qt::Key_Down);
    QCOMPARE(d->list()->currentItem()->text().section(' ', 0, 0), QStringLiteral("linear1"));
    QTest::keyClick(d->searchBox(), Qt::Key_Up);
    QCOMPARE(d->list()->currentItem()->text().section(' ', 0, 0), QStringLiteral("fc2"));
    QTest::keyClick(d->searchBox(), Qt::Key_Down);
    QVERIFY(d->searchBox()->hasFocus());  // typing goes on in the field
    const int undoBefore = w.document()->undoStack()->count();
    QTest::keyClick(d->searchBox(), Qt::Key_Return);
    QTRY_VERIFY(w.findChild<ConnectDialog*>() == nullptr);
    QCOMPARE(layer(w, "linear1")->inputs, std::vector<std::string>{"fc1"});
    QCOMPARE(layer(w, "act1")->inputs, std::vector<std::string>{"fc1"});  // untouched
    QCOMPARE(w.document()->undoStack()->count(), undoBefore + 1);

    // From fc2: input, fc1 and act1 lead into it, loss is fed by it already.
    showActive(w);  // the offscreen platform does not hand it back by itself
    canvas->selectLayer(QStringLiteral("fc2"));
    QVERIFY(w.connectAction()->isEnabled());
    QTest::keyClick(&w, Qt::Key_L, Qt::ControlModifier);
    QTRY_VERIFY((d = w.findChild<ConnectDialog*>()) != nullptr && d->isVisible());
    QCOMPARE(listed(d, false), (QStringList{"linear1"}));
    QTest::keyClicks(d->searchBox(), QStringLiteral("zzz"));
    QVERIFY(listed(d).isEmpty());
    QTest::keyClick(d->searchBox(), Qt::Key_Return);  // nothing to connect to
    QVERIFY(d->isVisible());
    QTest::keyClick(d->searchBox(), Qt::Key_Escape);
    QTRY_VERIFY(w.findChild<ConnectDialog*>() == nullptr);
    QCOMPARE(layer(w, "linear1")->inputs, std::vector<std::string>{"fc1"});
    w.undoAction()->trigger();
    QVERIFY(layer(w, "linear1")->inputs.empty());

    // Only on the Model page.
    w.tabs()->setCurrentIndex(1);
    QVERIFY(!w.connectAction()->isEnabled());
    w.tabs()->setCurrentIndex(0);
    QVERIFY(w.connectAction()->isEnabled());
  }

  // The palette from the keyboard: Down in its search box goes to the first
  // kind shown, Down again to the next, Enter adds it after the selected layer.
  void thePaletteWorksFromTheKeyboard() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    showActive(w);
    w.tabs()->setCurrentIndex(0);
    auto* canvas = w.modelCanvas();
    auto* palette = w.findChild<LayerPalette*>();
    QVERIFY(canvas && palette && palette->isVisible());
    canvas->selectLayer(QStringLiteral("act1"));
    const int n = int(w.document()->project().model.layers.size());
    palette->searchBox()->setFocus();
    QTRY_VERIFY(palette->searchBox()->hasFocus());
    QTest::keyClicks(palette->searchBox(), QStringLiteral("relu"));
    QTest::keyClick(palette->searchBox(), Qt::Key_Down);
    QVERIFY(palette->tree()->hasFocus());
    QVERIFY(palette->tree()->currentItem());
    QCOMPARE(palette->tree()->currentItem()->text(0), QStringLiteral("ReLU"));
    QTest::keyClick(palette->tree(), Qt::Key_Down);
    QCOMPARE(palette->tree()->currentItem()->text(0), QStringLiteral("LeakyReLU"));
    QTest::keyClick(palette->tree(), Qt::Key_Return);
    QTRY_COMPARE(int(w.document()->project().model.layers.size()), n + 1);
    const LayerSpec& added = w.document()->project().model.layers.back();
    QCOMPARE(added.kind, LayerKind::LeakyReLU);
    QCOMPARE(added.inputs, std::vector<std::string>{"act1"});
  }

  // The layer inspector says why a typed value was not taken, in words,
  // under the field; an accepted value clears it.
  void aLayerFieldOutOfRangeSaysWhy() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    showActive(w);
    w.tabs()->setCurrentIndex(0);
    auto* canvas = w.modelCanvas();
    const QString drop = canvas->addLayer(LayerKind::Dropout, QPointF(300, 400));
    canvas->selectLayer(drop);
    auto type = [](QWidget* field, const QString& text) {
      field->setFocus();
      QTRY_VERIFY(field->hasFocus());
      QTest::keyClick(field, Qt::Key_A, Qt::ControlModifier);
      QTest::keyClicks(field, text);
      QTest::keyClick(field, Qt::Key_Return);
    };
    QDoubleSpinBox* p = nullptr;
    QTRY_VERIFY((p = shown<QDoubleSpinBox>(canvas->inspector(), QStringLiteral("p"))));
    QVERIFY(!shownNote(canvas->inspector()));
    type(p, QStringLiteral("1.5"));
    QCOMPARE(p->value(), 0.5);
    QLabel* note = shownNote(canvas->inspector());
    QVERIFY(note);
    QCOMPARE(note->text(),
             QStringLiteral("p must be at least 0 and less than 1; 1.5 was not applied"));
    type(p, QStringLiteral("0.25"));
    QTRY_COMPARE(w.document()->project().model.layers.back().p, 0.25f);
    QTRY_VERIFY(!shownNote(canvas->inspector()));

    canvas->selectLayer(QStringLiteral("fc1"));
    QSpinBox* out = nullptr;
    QTRY_VERIFY((out = shown<QSpinBox>(canvas->inspector(), QStringLiteral("out_features"))));
    type(out, QStringLiteral("0"));
    QCOMPARE(out->value(), 16);
    QVERIFY(shownNote(canvas->inspector()));
    QCOMPARE(shownNote(canvas->inspector())->text(),
             QStringLiteral("out_features must be at least 1; 0 was not applied"));
    QCOMPARE(layer(w, "fc1")->out_features, qint64(16));

    canvas->selectLayer(QStringLiteral("input"));
    QLineEdit* shape = nullptr;
    QTRY_VERIFY((shape = shown<QLineEdit>(canvas->inspector(), QStringLiteral("shape"))));
    type(shape, QStringLiteral("0, 2"));
    QVERIFY(shownNote(canvas->inspector()));
    QCOMPARE(shownNote(canvas->inspector())->text(),
             QStringLiteral("shape: each number must be at least 1; 0, 2 was not applied"));
  }

  // The window fits a 1024×700 screen; at its smallest the dock labels are
  // whole, the toolbar keeps Train, Stop and Compare Policies in view, and
  // once it grows again the docks get their width back.
  void theWindowFitsASmallScreen() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    showActive(w);
    const QSize least = w.minimumSizeHint().expandedTo(w.minimumSize());
    QString sizes;
    for (QWidget* c : w.findChildren<QWidget*>())
      if (c->minimumSizeHint().height() > 500 || c->minimumSize().height() > 500)
        sizes += QStringLiteral("%1 %2 %3x%4; ").arg(c->metaObject()->className(), c->objectName()).arg(c->minimumSizeHint().width()).arg(c->minimumSizeHint().height());
    QVERIFY2(least.height() <= 700 && least.width() <= 1024,
             qPrintable(QStringLiteral("%1x%2: %3").arg(least.width()).arg(least.height()).arg(sizes)));
    auto* layers = w.findChild<QDockWidget*>(QStringLiteral("layersDock"));
    auto* inspector = w.findChild<QDockWidget*>(QStringLiteral("inspectorDock"));
    QVERIFY(layers && inspector);
    const int layersWide = layers->width(), inspectorWide = inspector->width();

    w.resize(least);
    QTRY_COMPARE(w.size(), least);
    QCoreApplication::processEvents();
    for (QDockWidget* dock : {layers, inspector})
      for (QLabel* label : dock->findChildren<QLabel*>()) {
        if (!label->isVisible() || label->wordWrap() || label->text().isEmpty()) continue;
        QVERIFY2(label->width() >= label->sizeHint().width(),
                 qPrintable(QStringLiteral("%1: %2 < %3")
                                .arg(label->text())
                                .arg(label->width())
                                .arg(label->sizeHint().width())));
      }
    auto* palette = w.findChild<LayerPalette*>();
    QVERIFY(palette && palette->isVisible());
    const int kindsWide = static_cast<QAbstractItemView*>(palette->tree())->sizeHintForColumn(0);
    QVERIFY2(palette->tree()->viewport()->width() >= kindsWide,
             qPrintable(QStringLiteral("%1 < %2")
                            .arg(palette->tree()->viewport()->width())
                            .arg(kindsWide)));
    auto* bar = w.findChild<QToolBar*>(QStringLiteral("mainToolBar"));
    for (QAction* a : {w.trainAction(), w.stopAction(), w.compareAction()}) {
      QWidget* button = bar->widgetForAction(a);
      QVERIFY2(button && button->isVisible() && bar->rect().contains(button->geometry()),
               qPrintable(a->text()));
    }

    w.resize(1600, 1000);
    QTRY_COMPARE(w.size(), QSize(1600, 1000));
    QTRY_VERIFY2(layers->width() >= layersWide && inspector->width() >= inspectorWide,
                 qPrintable(QStringLiteral("layers %1 (was %2), inspector %3 (was %4)")
                                .arg(layers->width())
                                .arg(layersWide)
                                .arg(inspector->width())
                                .arg(inspectorWide)));
  }

  // The Edit menu acts on the canvas with the usual keys: Duplicate, Select
  // All, Cut, Paste, Delete, Copy; each is one undo step.
  void theEditMenuEditsTheCanvasFromTheKeyboard() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    w.tabs()->setCurrentIndex(0);
    auto* canvas = w.modelCanvas();
    QVERIFY(canvas && canvas->isVisible());
    const auto layers = [&] { return int(w.document()->project().model.layers.size()); };
    const int n = layers();
    for (const char* name : {"cutAction", "copyAction", "pasteAction", "deleteAction",
                             "selectAllAction", "duplicateAction"})
      QVERIFY2(w.findChild<QAction*>(QLatin1String(name)), name);
    canvas->selectLayer(QStringLiteral("fc1"));
    QTest::keyClick(&w, Qt::Key_D, Qt::ControlModifier);  // Duplicate
    QCOMPARE(layers(), n + 1);
    const QString copy = QString::fromStdString(w.document()->project().model.layers.back().id);
    QVERIFY(copy != QStringLiteral("fc1"));
    canvas->selectLayer(copy);
    QTest::keyClick(&w, Qt::Key_X, Qt::ControlModifier);  // Cut
    QCOMPARE(layers(), n);
    QTest::keyClick(&w, Qt::Key_V, Qt::ControlModifier);  // Paste
    QCOMPARE(layers(), n + 1);
    QTest::keyClick(&w, Qt::Key_Delete);  // the pasted layer is selected
    QCOMPARE(layers(), n);
    QTest::keyClick(&w, Qt::Key_A, Qt::ControlModifier);  // Select All
    QCOMPARE(canvas->selectedNodeCount(), n);
    w.undoAction()->trigger();  // Delete undone
    QCOMPARE(layers(), n + 1);
    // Elsewhere the keys leave the model alone.
    w.tabs()->setCurrentIndex(3);
    QTest::keyClick(&w, Qt::Key_D, Qt::ControlModifier);
    QCOMPARE(layers(), n + 1);
  }

  // The toolbar keeps its layout whatever the last edit was called: Undo and
  // Redo show their icon, the edit's name is in the tooltip.
  void aLongUndoLabelDoesNotReflowTheToolbar() {
    MainWindow w(options(project(QStringLiteral("spirals.json"), spiralsJson(60))));
    auto* bar = w.findChild<QToolBar*>(QStringLiteral("mainToolBar"));
    QVERIFY(bar);
    auto* undo = qobject_cast<QToolButton*>(bar->widgetForAction(w.undoAction()));
    QVERIFY(undo);
    QCOMPARE(undo->toolButtonStyle(), Qt::ToolButtonIconOnly);
    const int before = undo->sizeHint().width();
    auto* canvas = w.modelCanvas();
    const QString id = canvas->addLayer(LayerKind::Linear);
    QVERIFY(canvas->renameLayer(id, QStringLiteral("a_rather_long_layer_name_for_the_undo_label")));
    QVERIFY(w.undoAction()->text().contains(QStringLiteral("a_rather_long")));
    QCOMPARE(undo->sizeHint().width(), before);
    QVERIFY(undo->toolTip().contains(QStringLiteral("a_rather_long")));
  }
};

int runKeyboardTests(int argc, char** argv) {
  KeyboardTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "KeyboardTest.moc"
