// ProjectDocument (open, save, undo of training edits) and StudioSettings.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include "ProjectDocument.hpp"
#include "StudioSettings.hpp"
#include "TestSupport.hpp"

using namespace mantissa;
using namespace mantissa::ui;
using namespace mantissa::ui::testing;

class DocumentTest : public QObject {
  Q_OBJECT

 private slots:
  void loadsAndAnalyzesAProject() {
    QTemporaryDir dir;
    const QString path = writeFile(dir, QStringLiteral("p.json"), spiralsJson(40));
    ProjectDocument doc;
    QSignalSpy replaced(&doc, &ProjectDocument::projectReplaced);
    QVERIFY(!doc.load(path).has_value());
    QCOMPARE(replaced.count(), 1);
    QCOMPARE(doc.filePath(), path);
    QCOMPARE(doc.displayName(), QStringLiteral("tiny-spirals"));
    QVERIFY(doc.summary().has_value());
    QCOMPARE(doc.summary()->total_params, qint64(2 * 16 + 16 + 16 * 2 + 2));
    QVERIFY(!doc.isModified());
  }

  void badFileLeavesTheDocumentAsItWas() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("good.json"), spiralsJson(40))).has_value());
    const QString bad = writeFile(dir, QStringLiteral("bad.json"), QStringLiteral("{ not json"));
    const auto error = doc.load(bad);
    QVERIFY(error.has_value());
    QVERIFY2(error->contains(QStringLiteral("bad.json")), qPrintable(*error));
    QCOMPARE(doc.displayName(), QStringLiteral("tiny-spirals"));
    QVERIFY(doc.load(dir.filePath(QStringLiteral("absent.json"))).has_value());
  }

  void modelErrorsAreReportedNotThrown() {
    Project p = parseProject(spiralsJson(40), QStringLiteral("p.json"));
    p.model.layers[3].inputs = {"nowhere"};
    ProjectDocument doc;
    doc.reset(p);
    QVERIFY(!doc.summary().has_value());
    QVERIFY2(doc.modelError().contains(QStringLiteral("nowhere")), qPrintable(doc.modelError()));
    QCOMPARE(doc.displayName(), QStringLiteral("tiny-spirals"));
  }

  void trainingEditsUndoAndMerge() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("p.json"), spiralsJson(40))).has_value());
    QSignalSpy modified(&doc, &ProjectDocument::modifiedChanged);
    TrainingSpec t = doc.training();
    t.batch_size = 64;
    doc.editTraining(t, QStringLiteral("batch size"), true);
    t.batch_size = 16;
    doc.editTraining(t, QStringLiteral("batch size"), true);  // merges with the edit before
    t.optimizer.lr = 0.5;
    doc.editTraining(t, QStringLiteral("learning rate"), true);
    QVERIFY(doc.isModified());
    QVERIFY(modified.count() >= 1);
    QCOMPARE(doc.undoStack()->count(), 2);
    doc.undoStack()->undo();
    QCOMPARE(doc.training().optimizer.lr, 0.1);
    QCOMPARE(doc.training().batch_size, qint64(16));
    doc.undoStack()->undo();
    QCOMPARE(doc.training().batch_size, qint64(32));
    QVERIFY(!doc.isModified());
    doc.undoStack()->redo();
    QCOMPARE(doc.training().batch_size, qint64(16));

    // Discrete choices never merge, even twice in a row.
    t = doc.training();
    t.policy = Policy::MixedFloat16;
    doc.editTraining(t, QStringLiteral("policy"));
    t.policy = Policy::MixedBFloat16;
    doc.editTraining(t, QStringLiteral("policy"));
    doc.undoStack()->undo();
    QCOMPARE(doc.training().policy, Policy::MixedFloat16);
  }

  void saveRoundTrips() {
    QTemporaryDir dir;
    ProjectDocument doc;
    QVERIFY(!doc.load(writeFile(dir, QStringLiteral("p.json"), spiralsJson(40))).has_value());
    TrainingSpec t = doc.training();
    t.policy = Policy::MixedBFloat16;
    t.loss_scale.mode = LossScaleMode::Fixed;
    t.loss_scale.init_scale = 1024;
    doc.editTraining(t, QStringLiteral("policy"));
    const QString copy = dir.filePath(QStringLiteral("copy.json"));
    QVERIFY(!doc.saveAs(copy).has_value());
    QVERIFY(!doc.isModified());
    QCOMPARE(doc.filePath(), copy);
    ProjectDocument again;
    QVERIFY(!again.load(copy).has_value());
    QCOMPARE(again.training().policy, Policy::MixedBFloat16);
    QCOMPARE(again.training().loss_scale.init_scale, 1024.0);
    QCOMPARE(project_to_json(again.project()), project_to_json(doc.project()));
    QVERIFY(doc.saveAs(dir.filePath(QStringLiteral("no/such/dir/x.json"))).has_value());
  }

  void settingsAreTypedAndPersist() {
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("s.ini"));
    {
      StudioSettings s(ini);
      QCOMPARE(s.device(), QStringLiteral("cpu"));
      QVERIFY(s.plotsFollowLatest());
      for (int i = 0; i < StudioSettings::kMaxRecentFiles + 3; ++i)
        s.addRecentFile(QStringLiteral("/p/%1.json").arg(i));
      s.addRecentFile(QStringLiteral("/p/3.json"));
      s.setLastDatabase(QStringLiteral("/db/runs.db"));
      s.setPlotsUseWallTime(true);
      s.sync();
    }
    StudioSettings s(ini);
    const QStringList recent = s.recentFiles();
    QCOMPARE(recent.size(), StudioSettings::kMaxRecentFiles);
    QCOMPARE(recent.first(), QStringLiteral("/p/3.json"));
    QCOMPARE(recent.count(QStringLiteral("/p/3.json")), 1);
    QVERIFY(!recent.contains(QStringLiteral("/p/0.json")));
    QCOMPARE(s.lastDatabase(), QStringLiteral("/db/runs.db"));
    QVERIFY(s.plotsUseWallTime());
  }
};

int runDocumentTests(int argc, char** argv) {
  DocumentTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "DocumentTest.moc"
